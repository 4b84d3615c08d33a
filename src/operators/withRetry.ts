import { identity } from 'rxjs';
import { defineModel, type ModelPolicy } from '../core/model.js';
import { retrying, type RetryOptions } from './retryEvents.js';

/**
 * Retries a model's failed calls with backoff, only before the first token reached the subscriber.
 *
 * Think RxJS `retry({ count, delay })`, made safe for token streams: an attempt's `start` is held until its
 * first content and dropped if it fails first, so a retry is invisible; after content, the error is passed
 * on (never a duplicated token). Only retryable kinds are retried by default (`error.retryable`), a
 * server's `retryAfterMs` wins over the schedule (up to `maxRetryAfterMs`), and unsubscribing during a wait
 * cancels it.
 *
 * Nesting (once for the whole library): per-provider policies innermost, then routing, then fallback,
 * then budget —
 * `pool.map((m) => m.pipe(withTimeout({ firstTokenMs, idleMs }), withCircuitBreaker(breaker), withRetry()))`
 * → `route()` → `withFallback()` → `budget()`. Timeouts go inside the breaker and the retry so that a stall
 * counts as a failure and is retried; the breaker goes inside the retry so that every attempt is counted
 * and an open circuit (`circuit_open`, not retryable) ends the retrying at once.
 *
 * ## Example
 * ```ts
 * const sturdy = gpt.pipe(withRetry({ maxAttempts: 4, backoff: exponentialBackoff({ initialDelayMs: 250 }) }));
 * const done = await collect(sturdy.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
 * ```
 *
 * @see {@link retryEvents} the same on a stream; {@link exponentialBackoff} and friends for schedules.
 * @param options Attempts (default 3), schedule (default exponential, full jitter), what to retry
 *   (default `error.retryable`), the hint cap (default 60 s) and the scheduler.
 * @returns A policy (`identity` when `maxAttempts` ≤ 1).
 */
export function withRetry(options: RetryOptions = {}): ModelPolicy {
  const probe = retrying(options, undefined);
  if (probe === identity) return identity;
  return (model) => {
    const operator = retrying(options, { provider: model.provider, model: model.model });
    return defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      stream: (request) => model.stream(request).pipe(operator),
    });
  };
}
