import type { Observable } from 'rxjs';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';

/** Everything a stream did: its events, and its error if it failed. */
export interface Outcome {
  readonly events: TokenEvent[];
  readonly error?: LLMError;
}

/** Subscribes until the stream ends; a failure that is not an `LLMError` is a bug and rejects. */
export function outcome(stream: Observable<TokenEvent>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    stream.subscribe({
      next: (event) => events.push(event),
      error: (error: unknown) =>
        LLMError.isInstance(error)
          ? resolve({ events, error })
          : reject(new Error(`not an LLMError: ${String(error)}`)),
      complete: () => resolve({ events }),
    });
  });
}

/** Every string inside `value` (messages, causes, JSON), for secret checks. */
export function allText(value: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || v === undefined || seen.has(v)) return;
    if (typeof v === 'string') return void parts.push(v);
    if (typeof v !== 'object') return void parts.push(String(v));
    seen.add(v);
    if (v instanceof Error) {
      parts.push(v.message, v.stack ?? '', String(v));
      walk(v.cause, depth + 1);
    }
    try {
      parts.push(JSON.stringify(v));
    } catch {
      // cyclic: the walk below covers it
    }
    for (const key of Object.getOwnPropertyNames(v)) walk((v as Record<string, unknown>)[key], depth + 1);
  };
  walk(value, 0);
  return parts.join('\n');
}
