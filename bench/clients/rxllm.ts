/**
 * rxllm's stacks: the bare adapter on either transport, the full pipeline (cache miss), a cache hit and a
 * 3-way fusion. Each call subscribes to the model's stream and passes every `text` event on.
 */
import { identity, pipe } from 'rxjs';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { createCache } from '../../src/operators/cache.js';
import { createCircuitBreaker } from '../../src/operators/createCircuitBreaker.js';
import { fuse } from '../../src/operators/fuse.js';
import { createBudget } from '../../src/operators/budget.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import { createRateLimiter } from '../../src/operators/rateLimiter.js';
import { withCircuitBreaker } from '../../src/operators/withCircuitBreaker.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { ollama } from '../../src/providers/ollama/index.js';
import { openai } from '../../src/providers/openai/index.js';
import type { Transport } from '../../src/providers/shared/options.js';
import { createMetrics, withMetrics } from '../../src/observability/metrics.js';
import { createEstimator } from '../../src/routing/estimate.js';
import { createRouter } from '../../src/routing/route.js';
import { FALLBACK_MODEL, PROTOCOL_MODEL, type ProtocolName } from '../lib/protocols.js';
import {
  CACHED_PROMPT,
  prompt,
  type Call,
  type ClientContext,
  type ClientFactory,
  type OnText,
} from '../lib/types.js';

/** One provider model on `protocol`, against the server root `base`. */
export function provider(
  protocol: ProtocolName,
  base: string,
  transport: Transport,
  context: ClientContext,
  model: string = PROTOCOL_MODEL[protocol],
  coalesceText = false,
): LanguageModel {
  const common = {
    model,
    apiKey: 'bench-key',
    transport,
    coalesceText,
    ...(context.fetch !== undefined && { fetch: context.fetch }),
  };
  switch (protocol) {
    case 'openai':
      return openai({ ...common, baseURL: `${base}/v1` });
    case 'anthropic':
      return anthropic({ ...common, baseURL: base });
    case 'gemini':
      return gemini({ ...common, baseURL: base });
    case 'ollama':
      return ollama({ ...common, host: base });
  }
}

/** Streams `request` through `model`, passing text on; resolves on completion. */
export function run(model: LanguageModel, request: ChatRequest, onText: OnText): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    model.stream(request).subscribe({
      next: (event: TokenEvent) => {
        if (event.type === 'text') onText(event.text);
      },
      error: reject,
      complete: resolve,
    });
  });
}

export function request(content: string = prompt()): ChatRequest {
  return { messages: [{ role: 'user', content }], temperature: 0 };
}

/** Memoizes a model per server root (the root fixes the answer's size). */
function perBase(make: (base: string) => LanguageModel): (base: string) => LanguageModel {
  const models = new Map<string, LanguageModel>();
  return (base) => {
    let model = models.get(base);
    if (!model) models.set(base, (model = make(base)));
    return model;
  };
}

const bare =
  (transport: Transport): ClientFactory =>
  async (context) => {
    const model = perBase((base) => provider(context.protocol, base, transport, context));
    return (base, onText) => run(model(base), request(), onText);
  };

/** rxllm's provider on the direct transport (`fetch` + `eventsource-parser`). */
export const rxllmDirect: ClientFactory = bare('direct');

/** rxllm's provider on the SDK transport (the vendor's SDK drives the same mapper). */
export const rxllmSdk: ClientFactory = bare('sdk');

/**
 * The full pipeline, nested as the library documents it: per provider `rateLimit` → `withCircuitBreaker`
 * → `withRetry`; over the pool (primary and a never-needed fallback on the same protocol) `route` →
 * `withFallback` → `budget` → `cache` (a hit skips everything inside) → `withMetrics` (outermost: one
 * record per client request, hits included).
 */
export function pipelineFactory(
  context: ClientContext,
  options: { readonly cache?: boolean; readonly coalesceText?: boolean } = {},
): (base: string) => LanguageModel {
  const breaker = createCircuitBreaker();
  const limiter = createRateLimiter({ requestsPerMinute: 10_000_000, tokensPerMinute: 1e12 });
  // One estimator for the router and the budget, as their documentation suggests.
  const estimator = createEstimator();
  const spend = createBudget({ limits: { day: 1_000_000 }, estimator });
  const router = createRouter({ budget: spend, estimator });
  const responses = createCache({ maxEntries: 2000, maxBytes: 512 * 1024 * 1024 });
  const metrics = createMetrics();
  const { protocol } = context;
  return perBase((base) => {
    const pool = [PROTOCOL_MODEL[protocol], FALLBACK_MODEL[protocol]].map((name) =>
      provider(protocol, base, 'direct', context, name, options.coalesceText).pipe(
        rateLimit(limiter),
        withCircuitBreaker(breaker),
        withRetry(),
      ),
    );
    return pipe(
      router.route(),
      withFallback(),
      spend.policy(),
      options.cache === false ? identity : responses.policy(),
      withMetrics(metrics),
    )(pool);
  });
}

/** The full pipeline; every call misses the cache (a distinct prompt) and is recorded into it. */
export const rxllmPipeline: ClientFactory = async (context) => {
  const model = pipelineFactory(context);
  return (base, onText) => run(model(base), request(), onText);
};

/** The full pipeline over providers with `coalesceText: true` (text of one network read, one event). */
export const rxllmPipelineCoalesced: ClientFactory = async (context) => {
  const model = pipelineFactory(context, { coalesceText: true });
  return (base, onText) => run(model(base), request(), onText);
};

/** The full pipeline without its cache stage (for the memory figure: a cache miss records the answer). */
export const rxllmPipelineNoCache: ClientFactory = async (context) => {
  const model = pipelineFactory(context, { cache: false });
  return (base, onText) => run(model(base), request(), onText);
};

/** The full pipeline answering from its cache: `prime` fills it, the measured calls are hits. */
export const rxllmCacheHit: ClientFactory = async (context) => {
  const model = pipelineFactory(context);
  const primed = new Set<string>();
  // The cache keys on provider, model and request, not on the URL: one prompt per answer size.
  const cached = (base: string): ChatRequest => request(`${CACHED_PROMPT} ${base}`);
  const call: Call = (base, onText) => run(model(base), cached(base), onText);
  return Object.assign(call, {
    prime: async (base: string) => {
      if (primed.has(base)) return;
      primed.add(base);
      await run(model(base), cached(base), () => undefined);
    },
  });
};

/** A 3-way fusion (majority vote, early quorum) over three bare adapters on the same protocol. */
export const rxllmFusion: ClientFactory = async (context) => {
  const model = perBase((base) =>
    fuse()([0, 1, 2].map(() => provider(context.protocol, base, 'direct', context))),
  );
  return (base, onText) => run(model(base), request(), onText);
};
