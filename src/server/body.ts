import type { z } from 'zod';
import { formatPath } from '../config/errors.js';

/** A problem with a request body, by field. */
export interface BodyIssue {
  readonly path: string;
  readonly message: string;
}

/** A body validated by `schema` and mapped to a call, or the issues naming each bad field. */
export function parseBody<S extends z.ZodType, T>(
  schema: S,
  body: unknown,
  toCall: (data: z.output<S>) => T,
): { ok: true; call: T } | { ok: false; issues: BodyIssue[] } {
  const result = schema.safeParse(body);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    };
  }
  return { ok: true, call: toCall(result.data) };
}
