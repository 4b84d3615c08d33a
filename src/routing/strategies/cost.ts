import type { RoutingStrategy } from '../types.js';
import { ascending, descending, rankBy } from './compare.js';

/**
 * Cheapest first: by estimated cost (prompt estimate plus expected output at catalog prices), then by
 * quality, then pool order. Models without a known price go last.
 *
 * ## Example
 * ```ts
 * pipe(route({ strategy: costStrategy() }), withFallback())([gpt4o, mini, haiku]);
 * ```
 *
 * @returns The strategy.
 */
export function costStrategy(): RoutingStrategy {
  return function cost(candidates) {
    return rankBy(
      candidates,
      ascending((c) => c.estimate.cost),
      descending((c) => c.quality),
    );
  };
}
