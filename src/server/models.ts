/**
 * The names a client may put in `model`: `rxllm` (the whole pipeline: routing, fallback and all), each
 * provider's name (that provider only) and each configured model id (the providers serving it).
 */
import type { ProviderHandle } from '../config/build.js';
import type { ChatRequest } from '../core/request.js';

/** The `model` that asks for the whole configured pipeline. */
export const PIPELINE_MODEL = 'rxllm';

/** One entry of `GET /v1/models`. */
export interface ModelEntry {
  readonly id: string;
  /** The vendor, or `rxllm` for the pipeline. */
  readonly ownedBy: string;
  /** The provider names a call of this model may use. */
  readonly providers: readonly string[];
}

/** Every model name the pipeline answers to; with `allowed`, only those names (a key's models). */
export function modelEntries(
  providers: readonly ProviderHandle[],
  allowed?: readonly string[],
): ModelEntry[] {
  const byId = new Map<string, { ownedBy: string; providers: string[] }>();
  const add = (id: string, p: ProviderHandle): void => {
    const entry = byId.get(id);
    if (!entry) byId.set(id, { ownedBy: p.type, providers: [p.provider] });
    else if (!entry.providers.includes(p.provider)) entry.providers.push(p.provider);
  };
  const names = new Set(providers.map((p) => p.provider));
  for (const p of providers) add(p.provider, p);
  // A model id that is also a provider's name means that provider.
  for (const p of providers) if (!names.has(p.model)) add(p.model, p);
  const all = [...byId].map(([id, e]): ModelEntry => ({ id, ...e }));
  const named = allowed ? all.filter((e) => allowed.includes(e.id)) : all;
  if (allowed && !allowed.includes(PIPELINE_MODEL)) return named;
  // With other names beside it, the pipeline routes over their providers only.
  const reachable = allowed && named.length > 0 ? new Set(named.flatMap((e) => e.providers)) : names;
  return [{ id: PIPELINE_MODEL, ownedBy: 'rxllm', providers: [...reachable] }, ...named];
}

/** `request` kept to the providers named `allowed` (the others excluded from routing and fallback). */
export function restrictTo(
  request: ChatRequest,
  allowed: readonly string[],
  providers: readonly ProviderHandle[],
): ChatRequest {
  const excluded = providers.map((p) => p.provider).filter((name) => !allowed.includes(name));
  if (excluded.length === 0) return request;
  return { ...request, hints: { ...request.hints, excludeProviders: excluded } };
}
