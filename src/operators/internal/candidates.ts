import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { toLLMError } from '../../core/errors.js';
import type { ModelRef, TokenEvent } from '../../core/events.js';
import { defineModel, type LanguageModel, type ModelPool } from '../../core/model.js';
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

/** Options of {@link openPool}: where candidates come from and which are healthy. */
export interface PoolOptions {
  readonly candidates?: CandidateSource | undefined;
  readonly isHealthy?: ((model: ModelRef) => boolean) | undefined;
}

/**
 * The start every multi-model policy shares: resolve the healthy candidates for `request`, or settle
 * `subscriber` itself and return its teardown: a resolution that throws fails the stream, and a model
 * that lists no candidate (a router whose constraints rule out every model) answers with its own stream,
 * which says why.
 */
function openPool(
  model: LanguageModel,
  request: ChatRequest,
  options: PoolOptions,
  subscriber: Subscriber<TokenEvent>,
  listed?: ModelPool,
): { readonly pool: ModelPool } | { readonly settled: TeardownLogic } {
  let pool: ModelPool;
  try {
    pool = listed ?? listPool(model, request, options);
  } catch (error) {
    subscriber.error(toLLMError(error));
    return { settled: undefined };
  }
  if (pool.length === 0 && options.candidates === undefined) {
    return { settled: model.stream(request).subscribe(subscriber) };
  }
  return { pool };
}

/**
 * The healthy candidates a multi-model policy walks for `request`. It is also the policy's own
 * `candidates()`, so a policy outside it (a budget pricing the call before it is sent, a ledger naming
 * the model it expects) sees the real models rather than an unpriced wrapper.
 */
function listPool(model: LanguageModel, request: ChatRequest, options: PoolOptions): ModelPool {
  return healthyCandidates(resolveCandidates(model, request, options.candidates), options.isHealthy);
}

/**
 * The model a multi-model policy (fallback, hedging) makes of `model`: its `candidates()` list the
 * healthy candidates, and its stream opens them (see {@link openPool}) and hands them to `walk`. The two
 * agree on one call: when `stream(request)` follows `candidates(request)` with the same request object in
 * the same turn (a budget outside prices the call by the list, then streams it), it walks the list
 * already made instead of ranking the pool a second time. Each list is used once and forgotten at the
 * end of the turn.
 *
 * ## Example
 * ```ts
 * const walked = poolModel(model, options, (pool, request, subscriber) => pool[0]!.stream(request).subscribe(subscriber));
 * ```
 */
export function poolModel(
  model: LanguageModel,
  options: PoolOptions,
  walk: (pool: ModelPool, request: ChatRequest, subscriber: Subscriber<TokenEvent>) => TeardownLogic,
): LanguageModel {
  let last: { readonly request: ChatRequest; readonly pool: ModelPool } | undefined;
  const take = (request: ChatRequest): ModelPool | undefined => {
    if (last?.request !== request) return undefined;
    const { pool } = last;
    last = undefined;
    return pool;
  };
  return defineModel({
    provider: model.provider,
    model: model.model,
    // The models it walks, so that a policy outside (a budget pricing the call before it is sent, a
    // ledger naming the model it expects) sees real models rather than this unpriced wrapper.
    candidates: (request) => {
      const pool = listPool(model, request, options);
      if (last === undefined) queueMicrotask(() => (last = undefined));
      last = { request, pool };
      return pool;
    },
    stream: (request) =>
      new Observable<TokenEvent>((subscriber) => {
        const opened = openPool(model, request, options, subscriber, take(request));
        return 'pool' in opened ? walk(opened.pool, request, subscriber) : opened.settled;
      }),
  });
}

/** A model's provider and name, as errors and events name it. */
export function refOf(model: ModelRef): ModelRef {
  return { provider: model.provider, model: model.model };
}
