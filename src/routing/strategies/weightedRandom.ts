import type { RouteCandidate, RoutingStrategy } from '../types.js';
import { createRandom } from './random.js';

/** Options of {@link weightedRandomStrategy}. */
export interface WeightedRandomOptions {
  /**
   * Weight per model (`provider/model`, bare model or provider name); unlisted models weigh 1, weight 0
   * never leads (it still serves as a last fallback). A function computes a weight per candidate.
   */
  readonly weights?: { readonly [model: string]: number } | ((candidate: RouteCandidate) => number);
  /**
   * Seed of this strategy's own generator. Default: the router's generator (seeded by the router's
   * `seed` option), so one seed makes a whole router reproducible.
   */
  readonly seed?: number;
}

/**
 * A random order drawn by weight, without replacement (the first is chosen with probability
 * weight ÷ total, the next among the rest, and so on), so fallbacks are random too.
 *
 * ## Example
 * ```ts
 * // 80 % of traffic to mini, 20 % to haiku, reproducibly.
 * route({ strategy: weightedRandomStrategy({ weights: { 'gpt-4o-mini': 4, 'claude-haiku-4-5': 1 } }), seed: 7 })(pool);
 * ```
 *
 * @param options - Weights and an optional seed.
 * @returns The strategy.
 */
export function weightedRandomStrategy(options: WeightedRandomOptions = {}): RoutingStrategy {
  const weightOf = (c: RouteCandidate): number => {
    const weights = options.weights;
    if (!weights) return 1;
    if (typeof weights === 'function') return Math.max(0, weights(c));
    const { provider, model } = c.model;
    return Math.max(0, weights[`${provider}/${model}`] ?? weights[model] ?? weights[provider] ?? 1);
  };
  return function weightedRandom(candidates, _request, context) {
    const random =
      options.seed === undefined ? () => context.random() : createRandom(options.seed, context.sequence);
    // Efraimidis–Spirakis: key = u^(1/w); sorting by key descending samples without replacement by weight.
    const keyed = candidates.map((c) => {
      const weight = weightOf(c);
      const u = random();
      return { c, key: weight > 0 ? Math.pow(u, 1 / weight) : -1 + u };
    });
    keyed.sort((a, b) => b.key - a.key || a.c.index - b.c.index);
    return keyed.map((k) => k.c);
  };
}
