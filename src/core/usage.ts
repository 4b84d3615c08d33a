import type { Cost, Usage } from './events.js';

/** The usage of two calls together (cached and reasoning counts kept when either has them; estimated if either was). */
export function addUsage(a: Usage, b: Usage): Usage {
  const cached = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  const reasoning = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(cached > 0 && { cachedInputTokens: cached }),
    ...(reasoning > 0 && { reasoningTokens: reasoning }),
    ...((a.estimated === true || b.estimated === true) && { estimated: true }),
  };
}

/** The cost of two calls together. */
export function addCost(a: Cost, b: Cost): Cost {
  return { input: a.input + b.input, output: a.output + b.output, total: a.total + b.total };
}
