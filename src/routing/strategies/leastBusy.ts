import type { RoutingStrategy } from '../types.js';
import { ascending, rankBy } from './compare.js';

/**
 * Fewest calls in flight first (counted by the router from subscribe to end), then pool order.
 *
 * ## Example
 * ```ts
 * route({ strategy: leastBusyStrategy() })([replicaA, replicaB]);
 * ```
 *
 * @returns The strategy.
 */
export function leastBusyStrategy(): RoutingStrategy {
  return function leastBusy(candidates) {
    return rankBy(
      candidates,
      ascending((c) => c.stats.inFlight),
    );
  };
}
