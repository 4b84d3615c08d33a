import { asyncScheduler, defer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { isContentEvent, type ModelRef, type TokenEvent } from '../core/events.js';
import { modelKey } from './specs.js';
import { relay } from '../operators/internal/relay.js';

/** What a router has observed of one model's live traffic. */
export interface ModelStatsSnapshot {
  /** Moving average of time to first content event, in ms (`undefined`: never measured). */
  readonly ttftMs: number | undefined;
  /** Moving average of output tokens per second after the first token (`undefined`: never measured). */
  readonly tokensPerSecond: number | undefined;
  /** Calls subscribed and not yet ended. */
  readonly inFlight: number;
  /** How long the oldest in-flight call has waited without a first token, in ms (0: none waiting). */
  readonly waitingMs: number;
  /** Time-to-first-token samples taken. */
  readonly samples: number;
  /** Calls that failed. */
  readonly failures: number;
  /** When the last sample was taken (scheduler time), `undefined` when never. */
  readonly lastSampleAt: number | undefined;
}

/** Options of {@link createModelStats}. */
export interface ModelStatsOptions {
  /** Weight of the newest sample in the exponential moving averages, 0..1. Default 0.3. */
  readonly alpha?: number;
  /** Clock for the measurements. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Observed latency, throughput and load per model: exponential moving averages of time to first token
 * and tokens per second, and in-flight counts. Shared state: create one and let a router feed it.
 */
export interface ModelStats {
  /** The current snapshot for `model`. */
  get(model: ModelRef): ModelStatsSnapshot;
  /** An operator that measures one call of `model`: in flight from subscribe to end, TTFT, tokens/s. */
  track(model: ModelRef): MonoTypeOperatorFunction<TokenEvent>;
  /**
   * Starts measuring one call of `model` by hand (what `track` does at subscribe): the call is in flight
   * until {@link CallStats.end}. For an operator that already watches the call's events, one hop for both.
   */
  begin(model: ModelRef): CallStats;
}

/** One call being measured (see {@link ModelStats.begin}). */
export interface CallStats {
  /** Each event of the call, in order. */
  event(event: TokenEvent): void;
  /** The call failed (then `end`). */
  fail(): void;
  /** The call ended however it did: finished, failed or left. Only the first call counts. */
  end(): void;
}

interface Entry {
  ttftMs: number | undefined;
  tokensPerSecond: number | undefined;
  inFlight: number;
  waiting: Set<{ at: number }>;
  samples: number;
  failures: number;
  lastSampleAt: number | undefined;
}

/**
 * Creates a {@link ModelStats} store (in memory: observations are this process's own traffic).
 *
 * ## Example
 * ```ts
 * const stats = createModelStats({ alpha: 0.5 });
 * gpt.stream(request).pipe(stats.track(gpt)).subscribe();
 * stats.get(gpt).ttftMs;
 *
 * // By hand, from code that sees the events itself:
 * const call = stats.begin(gpt);
 * for await (const event of toAsyncIterable(gpt.stream(request))) call.event(event);
 * call.end();
 * ```
 *
 * @param options - Smoothing and clock.
 * @returns The stats store.
 */
export function createModelStats(options: ModelStatsOptions = {}): ModelStats {
  const alpha = options.alpha ?? 0.3;
  const scheduler = options.scheduler ?? asyncScheduler;
  const entries = new Map<string, Entry>();
  const ema = (previous: number | undefined, sample: number): number =>
    previous === undefined ? sample : previous + alpha * (sample - previous);

  const entry = (model: ModelRef): Entry => {
    const key = modelKey(model);
    let found = entries.get(key);
    if (!found) {
      found = {
        ttftMs: undefined,
        tokensPerSecond: undefined,
        inFlight: 0,
        waiting: new Set(),
        samples: 0,
        failures: 0,
        lastSampleAt: undefined,
      };
      entries.set(key, found);
    }
    return found;
  };

  const begin = (model: ModelRef): CallStats => {
    const e = entry(model);
    const startedAt = scheduler.now();
    const waiting = { at: startedAt };
    let firstAt: number | undefined;
    let ended = false;
    e.inFlight++;
    e.waiting.add(waiting);
    return {
      event(event) {
        if (firstAt === undefined && isContentEvent(event)) {
          firstAt = scheduler.now();
          e.waiting.delete(waiting);
          e.ttftMs = ema(e.ttftMs, firstAt - startedAt);
          e.samples++;
          e.lastSampleAt = firstAt;
        } else if (event.type === 'finish' && firstAt !== undefined) {
          const now = scheduler.now();
          const seconds = (now - firstAt) / 1000;
          if (seconds > 0 && event.usage.outputTokens > 0) {
            e.tokensPerSecond = ema(e.tokensPerSecond, event.usage.outputTokens / seconds);
            e.lastSampleAt = now;
          }
        }
      },
      fail() {
        e.failures++;
      },
      end() {
        if (ended) return;
        ended = true;
        e.inFlight--;
        e.waiting.delete(waiting);
      },
    };
  };

  return {
    get(model) {
      const e = entry(model);
      const now = scheduler.now();
      let oldest = now;
      for (const w of e.waiting) oldest = Math.min(oldest, w.at);
      return {
        ttftMs: e.ttftMs,
        tokensPerSecond: e.tokensPerSecond,
        inFlight: e.inFlight,
        waitingMs: now - oldest,
        samples: e.samples,
        failures: e.failures,
        lastSampleAt: e.lastSampleAt,
      };
    },
    begin,
    track(model) {
      return (source) =>
        defer(() => {
          const call = begin(model);
          return source.pipe(
            relay({
              next: (event) => call.event(event),
              error: () => call.fail(),
              finalize: () => call.end(),
            }),
          );
        });
    },
  };
}
