import {
  asyncScheduler,
  identity,
  type MonoTypeOperatorFunction,
  Observable,
  type SchedulerLike,
  type Subscription,
  timer,
} from 'rxjs';
import { type LLMError, toLLMError } from '../core/errors.js';
import type { ModelRef, TokenEvent } from '../core/events.js';
import { type Backoff, type BackoffFactory, exponentialBackoff, retryDelay } from './backoff.js';
import { Attempt } from './internal/attempt.js';

/**
 * Options of {@link retryEvents} and {@link withRetry}.
 */
export interface RetryOptions {
  /** Most attempts in all, the first included. Default 3. `1` (or less) turns retrying off. */
  readonly maxAttempts?: number;
  /** The wait schedule between attempts. Default `exponentialBackoff()` (500 ms doubling, full jitter, ≤ 30 s). */
  readonly backoff?: BackoffFactory;
  /**
   * Which failures to try again, given the error and how many attempts were made so far. Default
   * `error.retryable` (rate limits, overload, unavailable, timeouts, network, incomplete and invalid
   * responses; never `invalid_request`, `auth`, `context_length`, `circuit_open`, …). A throw fails the
   * stream with that error.
   */
  readonly shouldRetry?: (error: LLMError, attempts: number) => boolean;
  /** The most a server's `retryAfterMs` hint may make us wait; longer hints are cut to this. Default 60 000 ms. */
  readonly maxRetryAfterMs?: number;
  /** Scheduler for the waits. Default `asyncScheduler`; tests pass a `TestScheduler`. */
  readonly scheduler?: SchedulerLike;
}

const defaultShouldRetry = (error: LLMError): boolean => error.retryable;

/**
 * Resubscribes to a failed token stream, after a backoff, but only while nothing of it has reached the
 * subscriber.
 *
 * Unlike RxJS `retry`, it never duplicates a token: each attempt's `start` is held until its first
 * content and dropped if the attempt fails first; once content has been passed on, a failure is passed
 * on too. A server's `retryAfterMs` wins over the schedule (capped by `maxRetryAfterMs`). Unsubscribing
 * during a wait cancels the timer, and nothing more is sent. A stream that completes without `finish`
 * is a failure (`incomplete`).
 *
 * ## Example
 * ```ts
 * gpt.stream(request).pipe(retryEvents({ maxAttempts: 4, backoff: exponentialBackoff({ initialDelayMs: 200 }) }));
 * ```
 *
 * @see {@link withRetry} the same as a model policy.
 * @param options Attempts, schedule, what to retry, the hint cap and the scheduler.
 * @returns An operator on token streams (`identity` when `maxAttempts` ≤ 1).
 */
export function retryEvents(options: RetryOptions = {}): MonoTypeOperatorFunction<TokenEvent> {
  return retrying(options, undefined);
}

/**
 * {@link retryEvents}, naming `ref` in errors of attempts that failed before their `start` (what
 * {@link withRetry} uses; not part of the public barrel).
 *
 * ## Example
 * ```ts
 * model.stream(request).pipe(retrying({ maxAttempts: 2 }, { provider: model.provider, model: model.model }));
 * ```
 */
export function retrying(
  options: RetryOptions,
  ref: ModelRef | undefined,
): MonoTypeOperatorFunction<TokenEvent> {
  const maxAttempts = Math.floor(options.maxAttempts ?? 3);
  if (!(maxAttempts > 1)) return identity;
  const factory = options.backoff ?? exponentialBackoff();
  const shouldRetry = options.shouldRetry ?? defaultShouldRetry;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const scheduler = options.scheduler ?? asyncScheduler;

  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      let attempt: Attempt | undefined;
      let wait: Subscription | undefined;
      let backoff: Backoff | undefined;
      let attempts = 0;

      const failed = (error: LLMError, current: Attempt): void => {
        if (current.committed || attempts >= maxAttempts) return subscriber.error(error);
        let again: boolean;
        try {
          again = shouldRetry(error, attempts);
        } catch (thrown) {
          return subscriber.error(toLLMError(thrown));
        }
        if (!again) return subscriber.error(error);
        backoff = backoff ? backoff.next() : factory();
        const delay = retryDelay(backoff.duration, error.retryAfterMs, maxRetryAfterMs);
        wait = timer(delay, scheduler).subscribe(() => {
          wait = undefined;
          run();
        });
      };

      const run = (): void => {
        attempts++;
        const current = new Attempt(() => source, ref, {
          next: (event) => subscriber.next(event),
          error: failed,
          complete: () => subscriber.complete(),
          closed: () => subscriber.closed,
        });
        attempt = current;
        current.start();
      };

      run();
      return () => {
        wait?.unsubscribe();
        attempt?.unsubscribe();
      };
    });
}
