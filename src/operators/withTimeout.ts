import { identity } from 'rxjs';
import { defineModel, type ModelPolicy } from '../core/model.js';
import { timingOut, type TimeoutOptions } from './timeoutEvents.js';

/**
 * Bounds a model's time to first token, silence between events and total time; a broken limit ends the
 * stream with a `timeout` error ({@link StreamTimeoutError}) and aborts the call.
 *
 * Put it inside the breaker and the retry (`m.pipe(withTimeout(…), withCircuitBreaker(b), withRetry())`),
 * so a stall counts as a breaker failure and is retried before content; see {@link withRetry} for the
 * whole nesting order.
 *
 * ## Example
 * ```ts
 * const bounded = gpt.pipe(withTimeout({ firstTokenMs: 10_000, idleMs: 5_000 }));
 * ```
 *
 * @see {@link timeoutEvents} the same on a stream.
 * @param options The limits (each off unless set) and the scheduler.
 * @returns A policy (`identity` when no limit is set).
 */
export function withTimeout(options: TimeoutOptions): ModelPolicy {
  if (options.firstTokenMs === undefined && options.idleMs === undefined && options.totalMs === undefined) {
    return identity;
  }
  return (model) => {
    const operator = timingOut(options, { provider: model.provider, model: model.model });
    return defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      stream: (request) => model.stream(request).pipe(operator),
    });
  };
}
