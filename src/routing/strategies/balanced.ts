import type { RouteCandidate, RoutingStrategy } from '../types.js';
import { descending, rankBy } from './compare.js';
import { expectedLatencyMs } from './performance.js';

/** Relative weights of the balanced score; any non-negative numbers (they are normalized). */
export interface BalancedWeights {
  /** Default 1. */
  readonly cost?: number;
  /** Default 1. */
  readonly quality?: number;
  /** Default 1. */
  readonly speed?: number;
}

/** Options of {@link balancedStrategy}. */
export interface BalancedOptions {
  /** How much cost, quality and speed count. Default 1 each. */
  readonly weights?: BalancedWeights;
  /** Latency observations older than this (ms) are ignored: the model counts as unmeasured. Default 600 000. */
  readonly staleAfterMs?: number;
}

/**
 * A weighted score of cost, quality and speed, highest first.
 *
 * Each part is scaled to 0..1 across the eligible candidates: cost and latency min-max (cheapest and
 * fastest score 1), quality as the catalog's score. A part nobody knows (no prices, no measurements)
 * scores 0.5 for all; a candidate missing a known part scores 0 on it (cost) or 0.5 (speed, unmeasured).
 *
 * ## Example
 * ```ts
 * route({ strategy: balancedStrategy({ weights: { cost: 2, quality: 1, speed: 0 } }) })(pool);
 * ```
 *
 * @param options - The weights.
 * @returns The strategy.
 */
export function balancedStrategy(options: BalancedOptions = {}): RoutingStrategy {
  const w = {
    cost: Math.max(0, options.weights?.cost ?? 1),
    quality: Math.max(0, options.weights?.quality ?? 1),
    speed: Math.max(0, options.weights?.speed ?? 1),
  };
  const total = w.cost + w.quality + w.speed || 1;
  return function balanced(candidates, _request, context) {
    const costScore = scale(candidates, (c) => c.estimate.cost, 0);
    const speedScore = scale(candidates, (c) => expectedLatencyMs(c, context.now, options.staleAfterMs), 0.5);
    const score = new Map<RouteCandidate, number>();
    for (const c of candidates) {
      const value =
        (w.cost * (costScore.get(c) ?? 0) + w.quality * c.quality + w.speed * (speedScore.get(c) ?? 0.5)) /
        total;
      score.set(c, value);
    }
    return rankBy(
      candidates,
      descending((c) => score.get(c)),
    );
  };
}

/** Min-max scale, lower raw value = higher score; `missing` for candidates without a value. */
function scale(
  candidates: readonly RouteCandidate[],
  raw: (c: RouteCandidate) => number | undefined,
  missing: number,
): Map<RouteCandidate, number> {
  const values = new Map<RouteCandidate, number | undefined>();
  let min = Infinity;
  let max = -Infinity;
  for (const c of candidates) {
    const v = raw(c);
    values.set(c, v);
    if (v !== undefined) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const out = new Map<RouteCandidate, number>();
  for (const c of candidates) {
    const v = values.get(c);
    if (min === Infinity) out.set(c, 0.5);
    else if (v === undefined) out.set(c, missing);
    else out.set(c, max === min ? 1 : (max - v) / (max - min));
  }
  return out;
}
