import type * as AnthropicSdk from '@anthropic-ai/sdk';
import { importPeer } from '../../core/peer.js';
import { defaultCatalog } from '../../core/catalog.js';
import { LLMError } from '../../core/errors.js';
import { defineModel, type LanguageModel } from '../../core/model.js';
import type { ChatRequest } from '../../core/request.js';
import { readEnv, requireKey, resolveApiKey, resolvePricing, joinUrl, profileOf } from '../shared/options.js';
import type { ProviderOptions } from '../shared/options.js';
import { directStream, sdkStream, type MapperContext } from '../shared/run.js';
import type { AnthropicChunk } from './chunks.js';
import { mapAnthropicSdkError } from './errors.js';
import { anthropicFrameDecoder, createAnthropicMapper } from './map.js';
import {
  ANTHROPIC_VERSION,
  DEFAULT_MAX_TOKENS,
  toAnthropicRequest,
  type AnthropicRequestBody,
} from './request.js';

/**
 * The vendor's public endpoint root (no `/v1`: both transports add `/v1/messages`).
 *
 * ## Example
 * ```ts
 * anthropic({ model: 'claude-haiku-4-5', baseURL: ANTHROPIC_BASE_URL });
 * ```
 */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/**
 * The environment variable the API key is read from.
 *
 * ## Example
 * ```ts
 * process.env[ANTHROPIC_API_KEY_ENV] = 'sk-ant-…';
 * ```
 */
export const ANTHROPIC_API_KEY_ENV = 'ANTHROPIC_API_KEY';

/**
 * Per-call options rxllm passes to `messages.create`.
 *
 * ## Example
 * ```ts
 * const call: AnthropicCallOptions = { signal: AbortSignal.timeout(60_000), maxRetries: 0 };
 * ```
 */
export interface AnthropicCallOptions {
  /** Aborts the call when the subscriber leaves. */
  readonly signal?: AbortSignal;
  /** Always 0: retrying is the pipeline's job. */
  readonly maxRetries?: number;
  /** Extra headers of the call. */
  readonly headers?: { readonly [name: string]: string };
}

/**
 * The part of an `@anthropic-ai/sdk` client rxllm uses: `new Anthropic(...)` satisfies it. Declared
 * structurally so that rxllm's types do not require the optional SDK to be installed.
 *
 * ## Example
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * const client: AnthropicClient = new Anthropic({ apiKey });
 * const claude = anthropic({ model: 'claude-haiku-4-5', client });
 * ```
 */
export interface AnthropicClient {
  /** The Messages API. */
  readonly messages: {
    /** Called with the Messages API body rxllm builds (typed loosely so the SDK's own params type fits). */
    create(
      body: {
        /** The model to run. */
        readonly model: string;
        /** Always `true`: rxllm streams. */
        readonly stream: true;
      },
      options?: AnthropicCallOptions,
    ): PromiseLike<AsyncIterable<unknown>>;
  };
}

/**
 * Options of {@link anthropic}.
 *
 * ## Example
 * ```ts
 * const options: AnthropicOptions = { model: 'claude-haiku-4-5', transport: 'sdk', pricing: { input: 1, output: 5 } };
 * ```
 */
export interface AnthropicOptions extends ProviderOptions {
  /**
   * An `@anthropic-ai/sdk` client to call through. Implies `transport: 'sdk'`; the client's own auth,
   * base URL and `fetch` are used (`apiKey`, `baseURL` and `fetch` are ignored), its retries are turned
   * off per request (`maxRetries: 0`) so rxllm's policies own retrying.
   */
  readonly client?: AnthropicClient;
}

/**
 * An Anthropic Messages model as a {@link LanguageModel}: every call a cold stream of rxllm events.
 *
 * Transport `direct` (default) POSTs to `${baseURL}/v1/messages` with `fetch` and parses the SSE itself;
 * `sdk` (or a `client`) goes through `@anthropic-ai/sdk`, loaded lazily on first use, with its retries
 * off. Both take the same `baseURL` (the SDK's convention: the host root, without `/v1`; default
 * `ANTHROPIC_BASE_URL` from the environment, else `https://api.anthropic.com`) and give identical events
 * on identical bytes. The key comes from `apiKey` or `ANTHROPIC_API_KEY` and is registered for redaction;
 * without one, subscribing fails with an `auth` error before anything is sent.
 *
 * `max_tokens`, which Anthropic requires, defaults to the catalog's output limit for the model (else
 * 4096). A trailing assistant message is a prefill Claude continues, which `withFallback`'s `continue`
 * relies on. `responseFormat: { type: 'json' }` is an instruction in `system` (Anthropic has no JSON mode
 * on every model; see `jsonInstruction` in the adapter).
 *
 * ## Example
 * ```ts
 * const claude = anthropic({ model: 'claude-haiku-4-5' }); // key from ANTHROPIC_API_KEY
 * claude.stream({ messages: [{ role: 'user', content: 'Name three primes.' }] }).subscribe((event) => {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * });
 * ```
 *
 * @param options - model, key, transport and catalog.
 * @returns the model.
 */
export function anthropic(options: AnthropicOptions): LanguageModel {
  const provider = options.name ?? 'anthropic';
  const apiKey = resolveApiKey(options.apiKey, ANTHROPIC_API_KEY_ENV);
  const baseURL = options.baseURL ?? readEnv('ANTHROPIC_BASE_URL') ?? ANTHROPIC_BASE_URL;
  const useSdk = options.client !== undefined || options.transport === 'sdk';
  let client: Promise<AnthropicClient> | undefined;

  const prepare = (request: ChatRequest, model: string): AnthropicRequestBody => {
    const spec = (options.catalog ?? defaultCatalog).get('anthropic', model);
    return toAnthropicRequest(request, {
      model,
      defaultMaxTokens: spec?.maxOutputTokens ?? DEFAULT_MAX_TOKENS,
    });
  };

  const sdkClient = async (model: string): Promise<AnthropicClient> => {
    if (options.client) return options.client;
    const key = requireKey(apiKey, provider, model, ANTHROPIC_API_KEY_ENV);
    client ??= loadSdkClient({
      apiKey: key,
      baseURL,
      ...(options.fetch !== undefined && { fetch: options.fetch }),
    });
    return client.catch((error: unknown) => {
      client = undefined;
      throw error;
    });
  };

  const stream = (request: ChatRequest) => {
    const model = request.model ?? options.model;
    const context: MapperContext = {
      provider,
      model,
      pricing: resolvePricing(options, 'anthropic', model),
      request,
    };
    if (useSdk) {
      return sdkStream<AnthropicChunk>(
        async (signal) => {
          const body = prepare(request, model);
          const sdk = await sdkClient(model);
          const iterable = await sdk.messages.create(body, {
            signal,
            maxRetries: 0,
            ...(options.headers !== undefined && { headers: options.headers }),
          });
          return iterable as AsyncIterable<AnthropicChunk>;
        },
        () => createAnthropicMapper(context),
        (error) => mapAnthropicSdkError(error, provider, model),
      );
    }
    return directStream<AnthropicChunk>(
      () => {
        const key = requireKey(apiKey, provider, model, ANTHROPIC_API_KEY_ENV);
        const body = prepare(request, model);
        return {
          url: joinUrl(baseURL, '/v1/messages'),
          headers: {
            accept: 'text/event-stream',
            'x-api-key': key,
            'anthropic-version': ANTHROPIC_VERSION,
            ...options.headers,
          },
          body,
          framing: 'sse',
          ...(options.fetch !== undefined && { fetch: options.fetch }),
          provider,
          model,
        };
      },
      anthropicFrameDecoder(provider, model),
      () => createAnthropicMapper(context),
      options,
    );
  };

  return defineModel({ provider, model: options.model, profile: profileOf(options), stream });
}

/** Imports `@anthropic-ai/sdk` and builds a client with its retries off. */
async function loadSdkClient(init: {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly fetch?: typeof fetch;
}): Promise<AnthropicClient> {
  const sdk = await importPeer<typeof AnthropicSdk>('@anthropic-ai/sdk').catch((error: unknown) => {
    throw new LLMError(
      'invalid_request',
      'anthropic: the sdk transport needs the @anthropic-ai/sdk package (npm install @anthropic-ai/sdk)',
      { provider: 'anthropic', cause: error },
    );
  });
  const Anthropic = sdk.default;
  return new Anthropic({
    apiKey: init.apiKey,
    baseURL: init.baseURL,
    maxRetries: 0,
    ...(init.fetch !== undefined && { fetch: init.fetch }),
    // rxllm reports every failure as an LLMError; keep the SDK from also logging them unless asked to.
    ...(readEnv('ANTHROPIC_LOG') === undefined && { logLevel: 'off' as const }),
  });
}
