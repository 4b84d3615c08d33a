import type { RoutingStrategy } from '../types.js';
import { ascending, rankBy } from './compare.js';

/**
 * An explicit order. Entries name a model as `provider/model`, a bare model name, or a provider name;
 * each candidate takes the position of the first entry it matches, unlisted ones follow in pool order.
 * Without an order, the pool order itself.
 *
 * ## Example
 * ```ts
 * route({ strategy: priorityStrategy(['anthropic/claude-sonnet-4-5', 'openai']) })(pool);
 * ```
 *
 * @param order - Preferred models and providers, best first. Default: pool order.
 * @returns The strategy.
 */
export function priorityStrategy(order: readonly string[] = []): RoutingStrategy {
  return function priority(candidates) {
    const position = (provider: string, model: string): number => {
      const i = order.findIndex((e) => e === `${provider}/${model}` || e === model || e === provider);
      return i === -1 ? order.length : i;
    };
    return rankBy(
      candidates,
      ascending((c) => position(c.model.provider, c.model.model)),
    );
  };
}
