import {
  asyncScheduler,
  identity,
  type MonoTypeOperatorFunction,
  Observable,
  type SchedulerLike,
  Subject,
  Subscription,
  takeUntil,
  timer,
} from 'rxjs';
import { LLMError } from '../core/errors.js';
import { isContentEvent, type ModelRef, type TokenEvent } from '../core/events.js';

/** Which limit a {@link StreamTimeoutError} broke. */
export type TimeoutPhase = 'first-token' | 'idle' | 'total';

/**
 * A stream took too long: kind `timeout` (retryable), with the limit that was broken.
 *
 * ## Example
 * ```ts
 * gpt.stream(request).pipe(timeoutEvents({ idleMs: 10_000 })).subscribe({
 *   error: (e) => StreamTimeoutError.isTimeout(e) && console.log(e.phase, e.limitMs),
 * });
 * ```
 */
export class StreamTimeoutError extends LLMError {
  /** Which limit was broken: time to first token, silence between events, or the whole call. */
  readonly phase: TimeoutPhase;
  /** The limit, in milliseconds. */
  readonly limitMs: number;

  constructor(phase: TimeoutPhase, limitMs: number, source?: ModelRef) {
    super('timeout', `${describe(phase)} exceeded ${limitMs} ms`, {
      retryable: true,
      ...(source && { provider: source.provider, model: source.model }),
    });
    this.phase = phase;
    this.limitMs = limitMs;
  }

  /** True for a {@link StreamTimeoutError} (checked by shape, so it works across package copies). */
  static isTimeout(value: unknown): value is StreamTimeoutError {
    return LLMError.isInstance(value) && value.kind === 'timeout' && 'phase' in value && 'limitMs' in value;
  }
}

function describe(phase: TimeoutPhase): string {
  switch (phase) {
    case 'first-token':
      return 'Time to first token';
    case 'idle':
      return 'Silence between events';
    case 'total':
      return 'Total time';
  }
}

/** Options of {@link timeoutEvents} and {@link withTimeout}. Every limit is off unless set. */
export interface TimeoutOptions {
  /**
   * Most time from subscribing to the first content event (`text`, `reasoning`, `tool-call-delta`,
   * `tool-call`) or the `finish`. A `start` alone does not count: a vendor that opens the response and then
   * stalls is exactly what this catches.
   */
  readonly firstTokenMs?: number;
  /**
   * Most silence between two events once content flows. Before the first content it applies too, from
   * subscribing and between events, unless `firstTokenMs` is set (reasoning models may think long before
   * their first token; give them a generous `firstTokenMs` and a tight `idleMs`).
   */
  readonly idleMs?: number;
  /** Most time from subscribing to the end of the stream. */
  readonly totalMs?: number;
  /** Scheduler for the timers. Default `asyncScheduler`; tests pass a `TestScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Ends a token stream with a `timeout` error when the first token, the next event or the whole stream
 * takes too long, and unsubscribes upstream (which aborts the call and closes its socket) before the error
 * is passed on.
 *
 * Think RxJS `timeout({ first, each })`, with limits that mean something for token streams.
 *
 * ## Example
 * ```ts
 * gpt.stream(request).pipe(timeoutEvents({ firstTokenMs: 15_000, idleMs: 5_000, totalMs: 120_000 }));
 * ```
 *
 * @see {@link withTimeout} the same as a model policy.
 * @param options The limits (each off unless set) and the scheduler.
 * @returns An operator on token streams (`identity` when no limit is set).
 */
export function timeoutEvents(options: TimeoutOptions): MonoTypeOperatorFunction<TokenEvent> {
  return timingOut(options, undefined);
}

/**
 * {@link timeoutEvents}, naming `ref` in errors when the stream's `start` was not seen (what
 * {@link withTimeout} uses; not part of the public barrel).
 *
 * ## Example
 * ```ts
 * model.stream(request).pipe(timingOut({ idleMs: 5_000 }, { provider: model.provider, model: model.model }));
 * ```
 */
export function timingOut(
  options: TimeoutOptions,
  ref: ModelRef | undefined,
): MonoTypeOperatorFunction<TokenEvent> {
  const { firstTokenMs, idleMs, totalMs } = options;
  if (firstTokenMs === undefined && idleMs === undefined && totalMs === undefined) return identity;
  const scheduler = options.scheduler ?? asyncScheduler;

  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      let from = ref;
      let content = false;
      let finished = false;
      const upstream = new Subscription();
      // Stops the source even from inside its synchronous emission (before `subscribe` returned).
      const stop = new Subject<void>();
      let stopped = false;
      upstream.add(() => {
        stopped = true;
        stop.next();
      });
      let deadline: Subscription | undefined;
      let total: Subscription | undefined;
      /**
       * The limit being watched and since when. An event moves `since` instead of the timer; `moved` says
       * one did (its deadline then yields to events due at the same instant, as a timer armed by that
       * event would have).
       */
      let watch:
        { readonly phase: TimeoutPhase; readonly limitMs: number; since: number; moved: boolean } | undefined;

      const expire = (phase: TimeoutPhase, limitMs: number): void => {
        upstream.unsubscribe();
        subscriber.error(new StreamTimeoutError(phase, limitMs, from));
      };
      /** A timer is due: expires if the watched limit passed, else waits for what is left of it. */
      const check = (final: boolean): void => {
        deadline = undefined;
        if (!watch) return;
        const left = watch.since + watch.limitMs - scheduler.now();
        if (left < 0 || (left === 0 && (final || !watch.moved))) expire(watch.phase, watch.limitMs);
        else deadline = timer(left, scheduler).subscribe(() => check(left === 0));
      };
      const arm = (phase: TimeoutPhase, limitMs: number | undefined): void => {
        deadline?.unsubscribe();
        deadline = undefined;
        watch = limitMs === undefined ? undefined : { phase, limitMs, since: scheduler.now(), moved: false };
        if (limitMs !== undefined) deadline = timer(limitMs, scheduler).subscribe(() => check(false));
      };
      /**
       * Restarts the idle limit at this event. Its deadline only moves later, so the timer armed earlier
       * stays: when it fires, `check` waits for the rest (one timer per idle period, not one per token).
       */
      const touch = (): void => {
        if (watch?.phase !== 'idle' || deadline === undefined) return arm('idle', idleMs);
        watch.since = scheduler.now();
        watch.moved = true;
      };

      if (totalMs !== undefined) total = timer(totalMs, scheduler).subscribe(() => expire('total', totalMs));
      if (firstTokenMs !== undefined) arm('first-token', firstTokenMs);
      else arm('idle', idleMs);

      upstream.add(
        source.pipe(takeUntil(stop)).subscribe({
          next: (event) => {
            if (event.type === 'start') from = { provider: event.provider, model: event.model };
            if (!finished) {
              if (event.type === 'finish') {
                finished = true;
                arm('idle', undefined);
              } else if (!content && isContentEvent(event)) {
                content = true;
                arm('idle', idleMs);
              } else if (content || firstTokenMs === undefined) {
                touch();
              }
            }
            subscriber.next(event);
            // Cut short downstream (from inside a synchronous source): stop the source at once.
            if (subscriber.closed) upstream.unsubscribe();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            if (!stopped) subscriber.complete();
          },
        }),
      );

      return () => {
        deadline?.unsubscribe();
        total?.unsubscribe();
        upstream.unsubscribe();
      };
    });
}
