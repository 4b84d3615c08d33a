import { asyncScheduler, type Observable, type SchedulerLike, Subject } from 'rxjs';
import type { LLMErrorKind } from '../core/errors.js';
import type { ModelPolicy } from '../core/model.js';
import { type CallMetrics, type CallOutcome, observedModel, trackCall } from './track.js';

export type { CallMetrics, CallOutcome } from './track.js';

/** Default bucket bounds of the duration histogram, in milliseconds (the GenAI semantic conventions' seconds × 1000). */
export const DURATION_BUCKETS_MS: readonly number[] = Object.freeze([
  10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920,
]);

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Clock of every measurement. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Upper bounds of the duration histogram buckets, in ms. Default {@link DURATION_BUCKETS_MS}. */
  readonly durationBucketsMs?: readonly number[];
  /** Upper bounds of the time-to-first-token histogram buckets, in ms. Default {@link DURATION_BUCKETS_MS}. */
  readonly ttftBucketsMs?: readonly number[];
  /** How many recent records {@link Metrics.recent} keeps. Default 100. */
  readonly keepRecent?: number;
}

/** A histogram's state: `counts[i]` calls took at most `bounds[i]` ms (cumulative); `count` is +Inf. */
export interface HistogramSnapshot {
  /** Upper bounds of the buckets, ascending. */
  readonly bounds: readonly number[];
  /** Observations at most each bound (cumulative). */
  readonly counts: readonly number[];
  /** Sum of every observation. */
  readonly sum: number;
  /** Number of observations. */
  readonly count: number;
}

/** Totals of one provider and model since the metrics were created (or reset). */
export interface SeriesSnapshot {
  /** The provider. */
  readonly provider: string;
  /** The model. */
  readonly model: string;
  /** Calls ended. */
  readonly calls: number;
  /** Calls by outcome. */
  readonly outcomes: Readonly<Record<CallOutcome, number>>;
  /** Failed calls by `LLMError` kind. */
  readonly errors: Readonly<Partial<Record<LLMErrorKind, number>>>;
  /** Prompt tokens. */
  readonly inputTokens: number;
  /** Answer tokens. */
  readonly outputTokens: number;
  /** Prompt tokens read from the vendor's cache. */
  readonly cachedInputTokens: number;
  /** Dollars. */
  readonly cost: number;
  /** Candidates that failed before an answer. */
  readonly fallbacks: number;
  /** Calls answered from the cache. */
  readonly cached: number;
  /** Durations in ms. */
  readonly duration: HistogramSnapshot;
  /** Times to first token in ms (calls that streamed content only). */
  readonly timeToFirstToken: HistogramSnapshot;
}

/** Everything a {@link Metrics} has counted, per provider and model. */
export interface MetricsSnapshot {
  /** Scheduler time of the first count (creation or last reset). */
  readonly since: number;
  /** Scheduler time of this snapshot. */
  readonly at: number;
  /** One entry per provider and model, in order of first appearance. */
  readonly series: readonly SeriesSnapshot[];
  /** Sums over every series. */
  readonly totals: {
    /** Calls ended. */
    readonly calls: number;
    /** Calls that failed. */
    readonly errors: number;
    /** Prompt tokens. */
    readonly inputTokens: number;
    /** Answer tokens. */
    readonly outputTokens: number;
    /** Dollars. */
    readonly cost: number;
  };
}

/**
 * Per-call records and running totals of a set of pipelines. Create it once and share it; apply it with
 * {@link withMetrics} (or `policy()`), subscribe to `metrics$`, render `snapshot()` with
 * `renderPrometheus(metricsFamilies(snapshot))`.
 */
export interface Metrics {
  /** One {@link CallMetrics} per call when it ends. Hot: only calls ending while subscribed are seen. */
  readonly metrics$: Observable<CallMetrics>;
  /** The policy recording each call of a model here. */
  policy(): ModelPolicy;
  /** Adds a record made elsewhere (a call measured by hand). */
  record(record: CallMetrics): void;
  /** The totals now. */
  snapshot(): MetricsSnapshot;
  /** The most recent records, oldest first. */
  recent(): readonly CallMetrics[];
  /** Forgets every count (the histograms start again). */
  reset(): void;
  /** The clock of every measurement. */
  readonly scheduler: SchedulerLike;
}

interface Histogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Series {
  readonly provider: string;
  readonly model: string;
  calls: number;
  outcomes: Record<CallOutcome, number>;
  errors: Partial<Record<LLMErrorKind, number>>;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cost: number;
  fallbacks: number;
  cached: number;
  readonly duration: Histogram;
  readonly ttft: Histogram;
}

const histogram = (bounds: readonly number[]): Histogram => ({
  bounds,
  counts: bounds.map(() => 0),
  sum: 0,
  count: 0,
});

function observe(h: Histogram, value: number): void {
  h.count++;
  h.sum += value;
  for (let i = 0; i < h.bounds.length; i++) if (value <= (h.bounds[i] as number)) h.counts[i]!++;
}

const freeze = (h: Histogram): HistogramSnapshot => ({
  bounds: h.bounds,
  counts: [...h.counts],
  sum: h.sum,
  count: h.count,
});

/**
 * Creates a {@link Metrics}: per-call records on `metrics$` and totals per provider and model.
 *
 * Intuition: one stopwatch and one tally sheet shared by every pipeline that reports to it.
 *
 * ## Example
 * ```ts
 * const metrics = createMetrics();
 * metrics.metrics$.subscribe((m) => console.log(m.provider, m.model, m.durationMs, m.cost, m.outcome));
 * const model = pipeline.pipe(metrics.policy());
 * await collect(model.stream(request));
 * metrics.snapshot().totals.cost;
 * ```
 *
 * @param options Clock, histogram buckets and how many recent records to keep; each has a default.
 * @returns The shared metrics.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const scheduler = options.scheduler ?? asyncScheduler;
  const durationBounds = sortedBounds(options.durationBucketsMs ?? DURATION_BUCKETS_MS);
  const ttftBounds = sortedBounds(options.ttftBucketsMs ?? DURATION_BUCKETS_MS);
  const keep = Math.max(0, options.keepRecent ?? 100);
  const subject = new Subject<CallMetrics>();
  let series = new Map<string, Series>();
  let recent: CallMetrics[] = [];
  let since = scheduler.now();

  const seriesOf = (provider: string, model: string): Series => {
    const key = `${provider}\u0000${model}`;
    let s = series.get(key);
    if (!s) {
      s = {
        provider,
        model,
        calls: 0,
        outcomes: { success: 0, error: 0, aborted: 0 },
        errors: {},
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        cost: 0,
        fallbacks: 0,
        cached: 0,
        duration: histogram(durationBounds),
        ttft: histogram(ttftBounds),
      };
      series.set(key, s);
    }
    return s;
  };

  const metrics: Metrics = {
    metrics$: subject.asObservable(),
    scheduler,
    policy: () => withMetrics(metrics),
    record(record) {
      const s = seriesOf(record.provider, record.model);
      s.calls++;
      s.outcomes[record.outcome]++;
      if (record.outcome === 'error' && record.errorKind) {
        s.errors[record.errorKind] = (s.errors[record.errorKind] ?? 0) + 1;
      }
      s.inputTokens += record.inputTokens ?? 0;
      s.outputTokens += record.outputTokens ?? 0;
      s.cachedInputTokens += record.cachedInputTokens ?? 0;
      s.cost += record.cost;
      s.fallbacks += record.fallbacks;
      if (record.cached) s.cached++;
      observe(s.duration, record.durationMs);
      if (record.timeToFirstTokenMs !== undefined) observe(s.ttft, record.timeToFirstTokenMs);
      if (keep > 0) {
        recent.push(record);
        if (recent.length > keep) recent.splice(0, recent.length - keep);
      }
      subject.next(record);
    },
    snapshot() {
      const list = [...series.values()].map((s): SeriesSnapshot => ({
        provider: s.provider,
        model: s.model,
        calls: s.calls,
        outcomes: { ...s.outcomes },
        errors: { ...s.errors },
        inputTokens: s.inputTokens,
        outputTokens: s.outputTokens,
        cachedInputTokens: s.cachedInputTokens,
        cost: s.cost,
        fallbacks: s.fallbacks,
        cached: s.cached,
        duration: freeze(s.duration),
        timeToFirstToken: freeze(s.ttft),
      }));
      return {
        since,
        at: scheduler.now(),
        series: list,
        totals: {
          calls: sum(list, (s) => s.calls),
          errors: sum(list, (s) => s.outcomes.error),
          inputTokens: sum(list, (s) => s.inputTokens),
          outputTokens: sum(list, (s) => s.outputTokens),
          cost: sum(list, (s) => s.cost),
        },
      };
    },
    recent: () => [...recent],
    reset() {
      series = new Map();
      recent = [];
      since = scheduler.now();
    },
  };
  return metrics;
}

/**
 * Measures every call of a model: provider and model that answered, tokens, cost, time to first token,
 * duration and outcome (with the error kind), reported when the call finishes, fails or is abandoned.
 *
 * Intuition: a stopwatch around the stream that writes one line per call.
 *
 * Where it sits decides what a "call" is: outermost (`pipeline.pipe(withMetrics(m))`), one record per
 * client request, attributed to the provider that answered, with `fallbacks` counting the ones that
 * failed first; on each pool member (`pool.map((p) => p.pipe(withMetrics(m)))`), one record per attempt.
 *
 * ## Example
 * ```ts
 * const metrics = createMetrics();
 * const measured = gpt.pipe(withRetry(), withMetrics(metrics));
 * metrics.metrics$.subscribe((m) => console.log(m.outcome, m.timeToFirstTokenMs));
 * // or just a callback, timed on a given scheduler:
 * gpt.pipe(withMetrics((m) => console.log(m.durationMs), { scheduler: asyncScheduler }));
 * ```
 *
 * @param sink A {@link Metrics} (its clock is used), or a function called with each record.
 * @param options For a function sink: the clock (default `asyncScheduler`).
 * @returns The policy.
 */
export function withMetrics(
  sink: Metrics | ((record: CallMetrics) => void),
  options: { readonly scheduler?: SchedulerLike } = {},
): ModelPolicy {
  const record = typeof sink === 'function' ? sink : (r: CallMetrics) => sink.record(r);
  const scheduler =
    (typeof sink === 'function' ? undefined : sink.scheduler) ?? options.scheduler ?? asyncScheduler;
  return (model) =>
    observedModel(model, (request) =>
      trackCall(
        model.stream(request),
        {
          source: { provider: model.provider, model: model.model },
          requestModel: request.model ?? model.model,
          explicitModel: request.model !== undefined,
          scheduler,
        },
        { end: (r) => record(r) },
      ),
    );
}

function sortedBounds(bounds: readonly number[]): readonly number[] {
  return Object.freeze([...new Set(bounds.filter((b) => Number.isFinite(b)))].sort((a, b) => a - b));
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}
