import type { RoutingStrategy } from '../types.js';
import { ascending, rankBy } from './compare.js';

/**
 * Fewest calls in flight first (counted by the router from subscribe to end), then pool order.
 *
 * ## Example
 * ```ts
 * const replicas = ['http://gpu-a:8000/v1', 'http://gpu-b:8000/v1'].map((baseURL) =>
 *   openaiCompatible({ name: 'vllm', baseURL, model: 'llama-3.1-8b' }),
 * );
 * route({ strategy: leastBusyStrategy() })(replicas);
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
