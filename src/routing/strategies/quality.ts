import type { RoutingStrategy } from '../types.js';
import { ascending, descending, rankBy } from './compare.js';

/**
 * Best first: by catalog quality score, then cheapest, then pool order.
 *
 * ## Example
 * ```ts
 * route({ strategy: qualityStrategy() })([gpt5, sonnet, mini]);
 * ```
 *
 * @returns The strategy.
 */
export function qualityStrategy(): RoutingStrategy {
  return function quality(candidates) {
    return rankBy(
      candidates,
      descending((c) => c.quality),
      ascending((c) => c.estimate.cost),
    );
  };
}
