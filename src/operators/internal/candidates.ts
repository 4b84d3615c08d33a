import type { ModelRef } from '../../core/events.js';
import type { LanguageModel, ModelPool } from '../../core/model.js';
import type { ChatRequest } from '../../core/request.js';

/**
 * Where a policy that walks several models (fallback, hedging) gets them:
 *
 * - omitted: the piped model's own `candidates(request)` (a provider lists itself, `route()` its ranked pool);
 *   when that list is empty, the piped model's own stream answers (so a router's "nothing eligible" error
 *   reaches the subscriber as it is);
 * - an array: those models tried AFTER the piped model's candidates (`gpt.pipe(withFallback({ candidates: [claude] }))`
 *   tries gpt, then claude);
 * - a function: the whole list, from the request and the piped model (full control, e.g. to filter by health).
 */
export type CandidateSource = ModelPool | ((request: ChatRequest, model: LanguageModel) => ModelPool);

/** The models to walk for `request`, in order. */
export function resolveCandidates(
  model: LanguageModel,
  request: ChatRequest,
  source: CandidateSource | undefined,
): ModelPool {
  if (source === undefined) return model.candidates(request);
  if (typeof source === 'function') return source(request, model);
  return [...model.candidates(request), ...source];
}

/**
 * `pool` without the models `isHealthy` rules out, unless that rules out all of them: then every model is
 * tried anyway (a provider marked unhealthy may have recovered; failing without trying helps no one).
 */
export function healthyCandidates(
  pool: ModelPool,
  isHealthy: ((model: ModelRef) => boolean) | undefined,
): ModelPool {
  if (!isHealthy) return pool;
  const healthy = pool.filter((m) => isHealthy({ provider: m.provider, model: m.model }));
  return healthy.length > 0 ? healthy : pool;
}
