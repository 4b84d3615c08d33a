import type { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';

export { type Outcome, outcome } from '../support.js';

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
