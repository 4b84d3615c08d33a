import type { Cost, Usage } from './events.js';
import type { Capability } from './request.js';

/** Prices in US dollars per million tokens. */
export interface Pricing {
  /** USD per million prompt tokens. */
  readonly input: number;
  /** USD per million answer tokens. */
  readonly output: number;
  /** Price of prompt tokens served from the vendor's cache; defaults to `input`. */
  readonly cachedInput?: number;
}

/** What rxllm knows of a model: prices, limits, capabilities and a quality score for routing. */
export interface ModelSpec {
  /** The provider's name. */
  readonly provider: string;
  /** The model id. */
  readonly model: string;
  /** What its tokens cost. */
  readonly pricing: Pricing;
  /** The most tokens of prompt and answer together. */
  readonly contextWindow: number;
  /** The most answer tokens in one call. */
  readonly maxOutputTokens: number;
  /** What it supports beyond text (tools, vision, JSON mode, …). */
  readonly capabilities: readonly Capability[];
  /** Relative answer quality, 0..1, for routing. A judgement, not a benchmark: override it freely. */
  readonly quality: number;
  /** Runs on the user's own machine (Ollama): no network cost, preferred when speed is equal. */
  readonly local: boolean;
  /** Task labels this model is good at (matched against `hints.task`). */
  readonly tasks?: readonly string[];
}

/** The date the default prices below were taken from the vendors' published price lists. */
export const CATALOG_PRICES_AS_OF = '2025-11-01';

type Row = [
  model: string,
  input: number,
  output: number,
  cached: number,
  ctx: number,
  maxOut: number,
  quality: number,
];

const CLOUD: readonly Capability[] = ['tools', 'vision', 'json', 'streaming'];

function rows(
  provider: string,
  extra: readonly Capability[],
  list: readonly Row[],
  local = false,
): ModelSpec[] {
  return list.map(([model, input, output, cachedInput, contextWindow, maxOutputTokens, quality]) => ({
    provider,
    model,
    pricing: { input, output, cachedInput },
    contextWindow,
    maxOutputTokens,
    capabilities: local ? ['tools', 'json', 'streaming'] : [...CLOUD, ...extra],
    quality,
    local,
  }));
}

/**
 * Default catalog for the four vendors (prices as of {@link CATALOG_PRICES_AS_OF}, per million tokens).
 * Anthropic models accept an assistant prefill (`prefill`), which `withFallback({ onMidStream: 'continue' })`
 * requires; OpenAI and Gemini chat models do not continue a partial assistant turn reliably.
 */
export const DEFAULT_MODELS: readonly ModelSpec[] = [
  ...rows(
    'openai',
    [],
    [
      ['gpt-5', 1.25, 10, 0.125, 400_000, 128_000, 0.95],
      ['gpt-5-mini', 0.25, 2, 0.025, 400_000, 128_000, 0.85],
      ['gpt-5-nano', 0.05, 0.4, 0.005, 400_000, 128_000, 0.7],
      ['gpt-4.1', 2, 8, 0.5, 1_047_576, 32_768, 0.88],
      ['gpt-4.1-mini', 0.4, 1.6, 0.1, 1_047_576, 32_768, 0.8],
      ['gpt-4.1-nano', 0.1, 0.4, 0.025, 1_047_576, 32_768, 0.65],
      ['gpt-4o', 2.5, 10, 1.25, 128_000, 16_384, 0.85],
      ['gpt-4o-mini', 0.15, 0.6, 0.075, 128_000, 16_384, 0.72],
    ],
  ),
  ...rows(
    'anthropic',
    ['prefill'],
    [
      ['claude-opus-4-5', 5, 25, 0.5, 200_000, 64_000, 0.97],
      ['claude-sonnet-4-5', 3, 15, 0.3, 200_000, 64_000, 0.93],
      ['claude-haiku-4-5', 1, 5, 0.1, 200_000, 64_000, 0.82],
      ['claude-3-5-haiku-latest', 0.8, 4, 0.08, 200_000, 8_192, 0.72],
    ],
  ),
  ...rows(
    'gemini',
    [],
    [
      ['gemini-2.5-pro', 1.25, 10, 0.125, 1_048_576, 65_536, 0.93],
      ['gemini-2.5-flash', 0.3, 2.5, 0.03, 1_048_576, 65_536, 0.83],
      ['gemini-2.5-flash-lite', 0.1, 0.4, 0.01, 1_048_576, 65_536, 0.7],
      ['gemini-2.0-flash', 0.1, 0.4, 0.025, 1_048_576, 8_192, 0.72],
    ],
  ),
  ...rows(
    'ollama',
    [],
    [
      ['llama3.2', 0, 0, 0, 128_000, 8_192, 0.5],
      ['llama3.1', 0, 0, 0, 128_000, 8_192, 0.58],
      ['qwen2.5', 0, 0, 0, 32_768, 8_192, 0.6],
    ],
    true,
  ),
];

/**
 * A lookup of model specs by provider and model, with the defaults and the user's own entries.
 * Dated model ids (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`) resolve to their base entry.
 *
 * @example
 * const catalog = createCatalog([{ ...myModelSpec }]);
 * catalog.get('openai', 'gpt-4o-mini')?.pricing.input; // 0.15
 */
export interface Catalog {
  /** The spec of a provider's model (a dated id resolves to its base entry), or `undefined`. */
  get(provider: string, model: string): ModelSpec | undefined;
  /** Every spec, defaults and your own. */
  all(): readonly ModelSpec[];
  /** A new catalog with `specs` added or replacing entries of the same provider and model. */
  extend(specs: readonly ModelSpec[]): Catalog;
}

/**
 * Creates a catalog of the defaults plus `specs` (which win on conflict).
 * Intuition: the price list and capability sheet routing, budgets and metrics read from.
 *
 * ## Example
 * ```ts
 * const catalog = createCatalog([{ ...myModelSpec, provider: 'acme', model: 'acme-1' }]);
 * catalog.get('acme', 'acme-1')?.contextWindow;
 * ```
 *
 * @param specs Your own entries (new models, or other prices for known ones).
 * @param base The entries to start from. Default {@link DEFAULT_MODELS}.
 * @returns The catalog.
 */
export function createCatalog(
  specs: readonly ModelSpec[] = [],
  base: readonly ModelSpec[] = DEFAULT_MODELS,
): Catalog {
  const byKey = new Map<string, ModelSpec>();
  for (const spec of [...base, ...specs]) byKey.set(`${spec.provider}/${spec.model}`, spec);
  const list = [...byKey.values()];
  // The catalog never changes: remember every answer (prefix matches and misses too) per provider, so a
  // call pays two Map lookups and builds no key string.
  const resolved = new Map<string, Map<string, ModelSpec | null>>();
  let remembered = 0;
  return {
    get(provider, model) {
      let known = resolved.get(provider);
      const hit = known?.get(model);
      if (hit !== undefined) return hit ?? undefined;
      let best = byKey.get(`${provider}/${model}`);
      if (!best) {
        // Vendors answer with dated snapshots of the model asked for; match the longest known prefix.
        for (const spec of list) {
          if (spec.provider === provider && model.startsWith(`${spec.model}-`)) {
            if (!best || spec.model.length > best.model.length) best = spec;
          }
        }
      }
      if (remembered >= 1024) {
        resolved.clear(); // bounded, whatever model names callers make up
        remembered = 0;
        known = undefined;
      }
      if (!known) resolved.set(provider, (known = new Map()));
      known.set(model, best ?? null);
      remembered++;
      return best;
    },
    all: () => list,
    extend: (more) => createCatalog(more, list),
  };
}

/** The catalog providers use unless given another. */
export const defaultCatalog: Catalog = createCatalog();

/**
 * Cost of `usage` at `pricing`. Cached prompt tokens are billed at the cached price.
 * Intuition: tokens times dollars per million, split into prompt and answer.
 *
 * ## Example
 * ```ts
 * costOf({ inputTokens: 1000, outputTokens: 500 }, { input: 0.15, output: 0.6 }); // { input: 0.00015, output: 0.0003, total: 0.00045 }
 * ```
 *
 * @param usage The token counts.
 * @param pricing Dollars per million tokens; `undefined` (an unknown model) costs nothing.
 * @returns The cost in dollars.
 */
export function costOf(usage: Usage, pricing: Pricing | undefined): Cost {
  if (!pricing) return { input: 0, output: 0, total: 0 };
  const cached = usage.cachedInputTokens ?? 0;
  const input =
    ((usage.inputTokens - cached) * pricing.input + cached * (pricing.cachedInput ?? pricing.input)) / 1e6;
  const output = (usage.outputTokens * pricing.output) / 1e6;
  return { input, output, total: input + output };
}
