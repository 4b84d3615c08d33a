import { defaultCatalog, type Catalog, type Pricing } from '../../core/catalog.js';
import { LLMError } from '../../core/errors.js';
import type { ModelProfile } from '../../core/model.js';
import { registerSecret } from '../../core/redact.js';
import type { Capability } from '../../core/request.js';

/** Which wire client a provider uses. */
export type Transport = 'direct' | 'sdk';

/** Options every provider accepts. */
export interface ProviderOptions {
  /** The model to call, as the vendor names it. */
  readonly model: string;
  /** API key; defaults to the vendor's environment variable. Registered for redaction. */
  readonly apiKey?: string;
  /** Vendor endpoint root; defaults to the vendor's public API. */
  readonly baseURL?: string;
  /** Extra request headers (for gateways and OpenAI-compatible hosts). */
  readonly headers?: { readonly [name: string]: string };
  /**
   * `direct` (default): `fetch` + a streaming parser, the fastest path. `sdk`: the vendor's official SDK,
   * for what it brings (other auth schemes, proxies). Both give identical events on identical bytes (unless
   * `coalesceText` is on).
   */
  readonly transport?: Transport;
  /**
   * Direct transport, for throughput: deliver the text pieces that arrive in one network read as one
   * `text` event (the first piece of a stream at once, merges up to 1,024 characters, nothing waits for
   * the network), so every policy downstream pays per read instead of per token. The text is the same,
   * but event boundaries then follow the network's reads. Default `false`: one event per vendor chunk,
   * identical on both transports and under any split of the bytes.
   */
  readonly coalesceText?: boolean;
  /** A `fetch` to use instead of the global one, on either transport. */
  readonly fetch?: typeof fetch;
  /** Prices and limits; defaults to the built-in catalog. */
  readonly catalog?: Catalog;
  /**
   * Overrides the catalog's pricing for this model: the cost on `finish`, and what budgets, routers and
   * ledgers price the model at (it becomes the model's `profile`).
   */
  readonly pricing?: Pricing;
  /**
   * Overrides the catalog's capabilities for this model (e.g. `['tools', 'streaming', 'prefill']` to let
   * `withFallback({ onMidStream: 'continue' })` continue on it), without writing a whole catalog entry.
   */
  readonly capabilities?: readonly Capability[];
  /** Name reported as `provider` in events (default: the vendor's). */
  readonly name?: string;
}

/** The API key from the options or the environment, registered for redaction. */
export function resolveApiKey(explicit: string | undefined, envName: string): string | undefined {
  const key = explicit ?? readEnv(envName);
  registerSecret(key);
  return key;
}

/** Reads an environment variable where there is an environment (Node, Bun, Deno's process shim). */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: { [key: string]: string | undefined } } }).process?.env;
  const value = env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The pricing a provider reports costs with: the explicit override, else the catalog's entry. */
export function resolvePricing(
  options: ProviderOptions,
  provider: string,
  model: string,
): Pricing | undefined {
  return options.pricing ?? (options.catalog ?? defaultCatalog).get(provider, model)?.pricing;
}

/** Fails fast, before anything is sent, when a hosted vendor has no key. */
export function requireKey(
  key: string | undefined,
  provider: string,
  model: string,
  envName: string,
): string {
  if (key === undefined) {
    throw new LLMError('auth', `${provider}: no API key (pass apiKey or set ${envName})`, {
      provider,
      model,
    });
  }
  return key;
}

/** `base` without trailing slashes, joined to `path`. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/**
 * What a provider's options say of its model over the catalog (its `pricing` and `capabilities`). Always
 * an object, empty when they say nothing: a model with a profile is a real model, which a budget prices
 * before sending, rather than a pipeline priced at its `start`.
 */
export function profileOf(options: ProviderOptions): ModelProfile {
  return {
    ...(options.pricing !== undefined && { pricing: options.pricing }),
    ...(options.capabilities !== undefined && { capabilities: options.capabilities }),
  };
}
