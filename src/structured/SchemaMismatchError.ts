import { LLMError, type LLMErrorInit } from '../core/errors.js';
import { issuePath, type SchemaIssue } from './standardSchema.js';

/**
 * The model's JSON did not match the schema: an `invalid_response` {@link LLMError} that keeps the
 * validator's issues (messages and paths, never the value itself). Not retryable by default: the answer
 * already streamed.
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * stream$.pipe(streamObject(z.object({ name: z.string() }))).subscribe({
 *   error: (e: unknown) => {
 *     if (e instanceof SchemaMismatchError) console.log(e.issues);
 *   },
 * });
 * ```
 */
export class SchemaMismatchError extends LLMError {
  /** The validator's issues: each one's message and path (never the value itself). */
  readonly issues: readonly SchemaIssue[];

  constructor(what: string, issues: readonly SchemaIssue[], init: LLMErrorInit = {}) {
    const listed = issues
      .slice(0, 5)
      .map((i) => `${issuePath(i)}: ${i.message}`)
      .join('; ');
    super('invalid_response', `${what} does not match the schema: ${listed}`, { retryable: false, ...init });
    this.issues = issues;
  }
}
