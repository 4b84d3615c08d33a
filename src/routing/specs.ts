import { defaultCatalog, type Catalog, type ModelSpec } from '../core/catalog.js';
import type { ModelRef } from '../core/events.js';

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
 * A lookup over `catalog` extended with `specs`.
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
  return (model) => catalog.get(model.provider, model.model);
}

/** `provider/model`, the key models are identified by in stats, budgets and the ledger. */
export function modelKey(model: ModelRef): string {
  return `${model.provider}/${model.model}`;
}
