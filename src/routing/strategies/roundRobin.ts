import type { RoutingStrategy } from '../types.js';

/**
 * Takes turns: decision `n` starts at the `n`-th eligible candidate (modulo their number) and continues
 * in pool order, wrapping around for the fallbacks.
 *
 * ## Example
 * ```ts
 * const keys = ['sk-a', 'sk-b', 'sk-c'].map((apiKey) => openai({ apiKey, model: 'gpt-4o-mini' }));
 * route({ strategy: roundRobinStrategy() })(keys); // a, b, c, a, …
 * ```
 *
 * @returns The strategy.
 */
export function roundRobinStrategy(): RoutingStrategy {
  return function roundRobin(candidates, _request, context) {
    if (candidates.length === 0) return candidates;
    const start = context.sequence % candidates.length;
    return [...candidates.slice(start), ...candidates.slice(0, start)];
  };
}
