import { asyncScheduler, type SchedulerLike, type Subscription, timer } from 'rxjs';
import { type LLMError, toLLMError } from '../core/errors.js';
import type { ModelRef } from '../core/events.js';
import type { LanguageModel, ModelPolicy } from '../core/model.js';
import { allFailedError } from './internal/allFailed.js';
import { Attempt } from './internal/attempt.js';
import { type CandidateSource, poolModel, refOf } from './internal/candidates.js';
import { shouldFallbackByDefault } from './withFallback.js';

/** Options of {@link hedge}. */
export interface HedgeOptions {
  /** How long to wait for a candidate's first token before starting the next one as well. */
  readonly delayMs: number;
  /**
   * The models to race, in order. Default: the piped model's `candidates(request)`. An array is raced AFTER
   * those (`gpt.pipe(hedge({ delayMs: 2_000, candidates: [gpt] }))` hedges gpt against itself); a function
   * `(request, model) => pool` gives the whole list.
   */
  readonly candidates?: CandidateSource;
  /**
   * Skips candidates it says are unhealthy, unless it says so of every candidate (then all are raced
   * anyway). Asked once per call. Default: every candidate is raced.
   */
  readonly isHealthy?: (model: ModelRef) => boolean;
  /** Most candidates started for one call. Default: every candidate. */
  readonly maxAttempts?: number;
  /**
   * Which failures (before any content) start the next candidate at once instead of failing the call.
   * Default: the same as {@link withFallback}'s. A throw fails the call with the thrown error.
   */
  readonly shouldFallback?: (error: LLMError) => boolean;
  /** Scheduler for the delay. Default `asyncScheduler`; tests pass a `TestScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Hedged requests: if the first token has not arrived within `delayMs`, starts the next candidate too;
 * the first to produce a token wins and every other is unsubscribed (which aborts its call and closes its
 * socket). Trades a little spend for a shorter tail latency.
 *
 * Each candidate's `start` is held until its first content, so the subscriber sees only the winner's events.
 * A candidate that fails before content is replaced at once by the next (with a `fallback` event); when every
 * candidate failed, the call fails with `all_failed` and every cause. After the winner's first token a
 * failure is passed on: combine with {@link withFallback} for a mid-stream policy. `context_length` is
 * treated as any other failure here (no window check).
 *
 * ## Example
 * ```ts
 * const fast = gpt.pipe(hedge({ delayMs: 1_500, candidates: [claude] }));
 * const done = await collect(fast.stream(request)); // done.provider: whichever answered first
 * ```
 *
 * @see {@link withFallback} to try candidates one after another instead.
 * @param options The hedging delay, candidates, how many to start, what moves on, and the scheduler.
 * @returns A policy whose model races the candidates.
 */
export function hedge(options: HedgeOptions): ModelPolicy {
  const delayMs = Math.max(0, options.delayMs);
  const scheduler = options.scheduler ?? asyncScheduler;
  const shouldMove = options.shouldFallback ?? shouldFallbackByDefault;

  return (model) =>
    poolModel(model, options, (pool, request, subscriber) => {
      const limit = Math.min(pool.length, Math.floor(options.maxAttempts ?? pool.length));
      const running = new Set<Attempt>();
      const causes: LLMError[] = [];
      let launched = 0;
      let winner: Attempt | undefined;
      let wait: Subscription | undefined;

      const stopAll = (except?: Attempt): void => {
        wait?.unsubscribe();
        wait = undefined;
        for (const attempt of [...running]) if (attempt !== except) attempt.unsubscribe();
        running.clear();
        if (except) running.add(except);
      };

      const arm = (): void => {
        wait?.unsubscribe();
        wait =
          launched < limit
            ? timer(delayMs, scheduler).subscribe(() => {
                wait = undefined;
                launch();
              })
            : undefined;
      };

      const failed = (candidate: LanguageModel, error: LLMError, attempt: Attempt): void => {
        running.delete(attempt);
        if (attempt === winner) {
          subscriber.error(error);
          return;
        }
        causes.push(error);
        let move: boolean;
        try {
          move = shouldMove(error);
        } catch (thrown) {
          stopAll();
          subscriber.error(toLLMError(thrown));
          return;
        }
        if (!move) {
          stopAll();
          subscriber.error(error);
          return;
        }
        if (running.size === 0 && launched >= limit) {
          stopAll();
          subscriber.error(allFailedError(causes));
          return;
        }
        subscriber.next({ type: 'fallback', from: attempt.ref ?? refOf(candidate), error });
        launch();
      };

      const launch = (): void => {
        if (launched >= limit || winner || subscriber.closed) return;
        const candidate = pool[launched++] as LanguageModel;
        const attempt = new Attempt(() => candidate.stream(request), refOf(candidate), {
          commit: (a) => {
            winner = a;
            stopAll(a);
          },
          next: (event) => subscriber.next(event),
          error: (error, a) => failed(candidate, error, a),
          complete: () => subscriber.complete(),
          closed: () => subscriber.closed,
        });
        running.add(attempt);
        attempt.start();
        if (!winner && running.has(attempt) && !subscriber.closed) arm();
      };

      if (limit <= 0) subscriber.error(allFailedError(causes));
      else launch();
      return () => stopAll();
    });
}
