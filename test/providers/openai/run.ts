import type { Observable } from 'rxjs';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';

/** Everything a stream did: its events, and its error if it failed. */
export interface Outcome {
  readonly events: TokenEvent[];
  readonly error?: LLMError;
}

/** Subscribes until the stream ends; a non-LLMError failure is a test bug and rejects. */
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

/** Events without the per-response id of `start` (the simulator numbers its responses). */
export function comparable(events: readonly TokenEvent[]): unknown[] {
  return events.map((event) => {
    if (event.type !== 'start') return event;
    const { id: _id, ...rest } = event;
    return rest;
  });
}

/** The fields of an error both transports must agree on. */
export function errorShape(error: LLMError | undefined): unknown {
  if (error === undefined) return undefined;
  return {
    kind: error.kind,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    status: error.status,
    provider: error.provider,
    model: error.model,
  };
}
