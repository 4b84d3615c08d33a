import type { RouteCandidate, RoutingStrategy } from '../types.js';
import { ascending, rankBy } from './compare.js';

/** Options of {@link performanceStrategy}. */
export interface PerformanceOptions {
  /**
   * Observations older than this (ms) count as unmeasured, so a model that was slow once is measured
   * again later. Default 600 000 (10 minutes).
   */
  readonly staleAfterMs?: number;
  /** Expected latencies within the same bucket of this many ms count as equal. Default 10. */
  readonly resolutionMs?: number;
  /**
   * Where unmeasured models go: `first` (default) tries each once so every model gets measured;
   * `last` keeps to measured models while any is eligible.
   */
  readonly unmeasured?: 'first' | 'last';
}

/**
 * Expected time for a call to `candidate` in ms: the moving average of its time to first token (or the
 * wait of its oldest in-flight call without a token, when longer), plus the expected output at its
 * moving-average tokens per second. `undefined` when it has no fresh measurement.
 */
export function expectedLatencyMs(
  candidate: RouteCandidate,
  now: number,
  staleAfterMs = 600_000,
): number | undefined {
  const { stats } = candidate;
  if (stats.ttftMs === undefined || stats.lastSampleAt === undefined) return undefined;
  if (now - stats.lastSampleAt > staleAfterMs) return undefined;
  const ttft = Math.max(stats.ttftMs, stats.waitingMs);
  const generating =
    stats.tokensPerSecond && stats.tokensPerSecond > 0
      ? (candidate.estimate.outputTokens * 1000) / stats.tokensPerSecond
      : 0;
  return ttft + generating;
}

/**
 * Fastest first, from live traffic: by expected latency (its moving-average time to first token plus the expected output at its observed speed), local models
 * first among equals, then pool order. Unmeasured models go first by default so each gets measured.
 * The router feeds the moving averages from every call through it, so the order adapts when a provider
 * slows down.
 *
 * ## Example
 * ```ts
 * const router = createRouter({ strategy: performanceStrategy({ staleAfterMs: 60_000 }) });
 * pipe(router.route(), withFallback())([llama, mini]);
 * ```
 *
 * @param options - Staleness, resolution and the place of unmeasured models.
 * @returns The strategy.
 */
export function performanceStrategy(options: PerformanceOptions = {}): RoutingStrategy {
  const resolution = Math.max(1, options.resolutionMs ?? 10);
  const unmeasuredFirst = (options.unmeasured ?? 'first') === 'first';
  return function performance(candidates, _request, context) {
    const latency = new Map<RouteCandidate, number | undefined>();
    for (const c of candidates) latency.set(c, expectedLatencyMs(c, context.now, options.staleAfterMs));
    return rankBy(
      candidates,
      ascending((c) => (latency.get(c) === undefined ? (unmeasuredFirst ? 0 : 1) : unmeasuredFirst ? 1 : 0)),
      ascending((c) => {
        const ms = latency.get(c);
        return ms === undefined ? undefined : Math.floor(ms / resolution);
      }),
      ascending((c) => (c.local ? 0 : 1)),
    );
  };
}
