import type { RoutingStrategy } from '../types.js';
import { ascending, rankBy } from './compare.js';
import { requiredCapabilities } from '../constraints.js';

/**
 * The tightest fit. Every strategy already drops models that lack a capability the request needs
 * (tools, vision, JSON mode, a context window large enough for the prompt and `maxTokens`); this one
 * then prefers the model with the fewest capabilities beyond those needed and the smallest sufficient
 * context window, keeping the broadest models free for the requests that need them. Unknown models go last.
 *
 * ## Example
 * ```ts
 * route({ strategy: capabilityStrategy() })([gpt4o, llama]); // a plain chat goes to llama
 * ```
 *
 * @returns The strategy.
 */
export function capabilityStrategy(): RoutingStrategy {
  return function capability(candidates, request) {
    const needed = new Set(requiredCapabilities(request));
    return rankBy(
      candidates,
      ascending((c) => (c.spec ? c.spec.capabilities.filter((k) => !needed.has(k)).length : undefined)),
      ascending((c) => c.spec?.contextWindow),
    );
  };
}
