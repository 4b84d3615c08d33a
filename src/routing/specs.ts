import { defaultCatalog, type Catalog, type ModelSpec, type Pricing } from '../core/catalog.js';
import type { ModelRef } from '../core/events.js';
import type { ModelProfile } from '../core/model.js';

/** Where routing, budgets and the ledger read a model's prices, limits and capabilities. */
export interface SpecOptions {
  /** The catalog to look models up in (by provider and model). Default {@link defaultCatalog}. */
  readonly catalog?: Catalog;
  /** Specs for custom models, or overrides of catalog entries (same provider and model win). Default none. */
  readonly specs?: readonly ModelSpec[];
}

/** Looks a model's spec up by its provider and model name. */
export type SpecLookup = (model: ModelRef) => ModelSpec | undefined;

/**
 * A lookup over `catalog` extended with `specs`, under what a model declares of itself: a
 * `LanguageModel`'s `profile` (a provider's `pricing` and `capabilities` options) wins over its entry.
 *
 * ## Example
 * ```ts
 * const specOf = specLookup({ specs: [{ ...myModelSpec, provider: 'acme', model: 'acme-1' }] });
 * specOf({ provider: 'openai', model: 'gpt-4o-mini' })?.pricing.input; // 0.15
 * ```
 *
 * @param options - Catalog and overrides.
 * @returns A function from a model to its spec (`undefined` when unknown).
 */
export function specLookup(options: SpecOptions = {}): SpecLookup {
  const base = options.catalog ?? defaultCatalog;
  const catalog = options.specs && options.specs.length > 0 ? base.extend(options.specs) : base;
  const merged = new WeakMap<ModelProfile, { readonly base: ModelSpec; readonly spec: ModelSpec }>();
  return (model) => {
    const base = catalog.get(model.provider, model.model);
    const profile = profileOf(model);
    if (!base || !profile) return base;
    const known = merged.get(profile);
    if (known?.base === base) return known.spec;
    const spec = { ...base, ...profile };
    merged.set(profile, { base, spec });
    return spec;
  };
}

/** Looks a model's price up: its spec's, else what the model declares (`profile.pricing`). */
export type PriceLookup = (model: ModelRef) => Pricing | undefined;

/**
 * The price of a model: its `profile.pricing` (a provider's `pricing` option), else its catalog entry's.
 * A model the catalog does not know is priced by its profile alone.
 *
 * ## Example
 * ```ts
 * const priceOf = priceLookup();
 * const groq = openaiCompatible({
 *   name: 'groq',
 *   model: 'llama-3.3-70b',
 *   baseURL: 'https://api.groq.com/openai/v1',
 *   pricing: { input: 0.59, output: 0.79 },
 * });
 * priceOf(groq)?.input; // 0.59
 * ```
 *
 * @param options - Catalog and overrides.
 * @returns A function from a model to its price (`undefined` when unknown).
 */
export function priceLookup(
  options: SpecOptions = {},
  specOf: SpecLookup = specLookup(options),
): PriceLookup {
  return (model) => profileOf(model)?.pricing ?? specOf(model)?.pricing;
}

function profileOf(model: ModelRef): ModelProfile | undefined {
  return (model as { readonly profile?: ModelProfile }).profile;
}

/** `provider/model`, the key models are identified by in stats, budgets and the ledger. */
export function modelKey(model: ModelRef): string {
  return `${model.provider}/${model.model}`;
}
