import type * as OpenAISdk from 'openai';
import { importPeer } from '../../core/peer.js';
import { defer, type Observable } from 'rxjs';
import { LLMError } from '../../core/errors.js';
import type { TokenEvent } from '../../core/events.js';
import { defineModel, type LanguageModel } from '../../core/model.js';
import type { ChatRequest } from '../../core/request.js';
import { joinUrl, resolvePricing, type ProviderOptions, profileOf } from '../shared/options.js';
import { directStream, sdkStream, type MapperContext } from '../shared/run.js';
import type { OpenAIChunk } from './chunks.js';
import { mapOpenAIError, rejectedStreamOptions } from './errors.js';
import { createOpenAIMapper, openaiFrameDecoder, type OpenAIMapper } from './map.js';
import { toOpenAIRequest, type OpenAIRequestContext } from './request.js';
import { watchedFetch, type WireWatch } from './watchWire.js';

/** Everything the shared chat completions model needs; `openai()` and `openaiCompatible()` fill it in. */
export interface ChatCompletionsConfig {
  readonly options: ProviderOptions;
  /** Label of events and errors (`options.name`, else the vendor). */
  readonly provider: string;
  /** Catalog and `providerOptions` key: `openai`, or a compatible provider's name. */
  readonly vendor: string;
  /** Endpoint root, without `/chat/completions`. */
  readonly baseURL: string;
  /** Returns the key, or throws the `auth` error of a hosted vendor without one. Called on subscribe. */
  readonly key: (model: string) => string | undefined;
  readonly organization?: string;
  readonly includeUsage: boolean;
  readonly maxTokensField: OpenAIRequestContext['maxTokensField'];
  readonly client?: OpenAIClient;
}

/**
 * What rxllm needs of an `openai` SDK client: `new OpenAI(...)` (or `new AzureOpenAI(...)`) satisfies it.
 * A structural type, so the package's types do not require the optional `openai` package.
 *
 * ## Example
 * ```ts
 * import OpenAI from 'openai';
 * const client: OpenAIClient = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
 * const gpt = openai({ model: 'gpt-4o-mini', client });
 * ```
 */
export interface OpenAIClient {
  /** The SDK's chat API (`client.chat`). */
  readonly chat: {
    /** The SDK's chat completions resource (`client.chat.completions`). */
    readonly completions: {
      /** `chat.completions.create` with `stream: true`: resolves to the SDK's chunk stream. */
      create(
        body: object,
        options: { signal: AbortSignal; maxRetries: number },
      ): PromiseLike<AsyncIterable<unknown>>;
    };
  };
}

/**
 * Builds a chat completions model over either transport. Internal to the OpenAI providers.
 *
 * ## Example
 * ```ts
 * const model = chatCompletionsModel({ options, provider: 'openai', baseURL, key, includeUsage: true, maxTokensField: 'max_completion_tokens' });
 * ```
 *
 * @param config - endpoint, credentials and dialect
 * @returns the model
 */
export function chatCompletionsModel(config: ChatCompletionsConfig): LanguageModel {
  const { options, provider } = config;
  let client: Promise<OpenAIClient> | undefined;

  const sdkClient = async (): Promise<OpenAIClient> => {
    if (config.client) return config.client;
    client ??= importPeer<typeof OpenAISdk>('openai').then(
      ({ default: OpenAIClient }) =>
        new OpenAIClient({
          // A local server has no key, but the SDK insists on one: send none (the header is dropped below).
          apiKey: config.key(options.model) ?? 'none',
          baseURL: config.baseURL,
          // Never pick up OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment for another host.
          organization: config.organization ?? null,
          project: null,
          maxRetries: 0,
          logLevel: 'off',
          ...(options.fetch !== undefined && { fetch: options.fetch }),
          defaultHeaders: {
            ...(config.key(options.model) === undefined && { authorization: null }),
            ...options.headers,
          },
        }),
      (error: unknown) => {
        client = undefined;
        throw new LLMError('invalid_request', `${provider}: transport 'sdk' needs the openai package`, {
          provider,
          cause: error,
        });
      },
    );
    return client;
  };

  const stream = (request: ChatRequest): Observable<TokenEvent> => {
    const model = request.model ?? options.model;
    const context: MapperContext = {
      provider,
      model,
      pricing: resolvePricing(options, config.vendor, model),
      request,
    };
    const body = (): ReturnType<typeof toOpenAIRequest> =>
      toOpenAIRequest(request, {
        model,
        includeUsage: config.includeUsage,
        maxTokensField: config.maxTokensField,
        optionsKey: config.vendor,
      });
    const mapper = (): OpenAIMapper => createOpenAIMapper(context, { includeUsage: config.includeUsage });

    if (config.client !== undefined || options.transport === 'sdk') {
      // One mapper per subscription: the watched fetch tells it of `[DONE]`, which the SDK hides.
      return defer(() => {
        const map = mapper();
        const watch: WireWatch = { onDone: () => map.bodyHadDone() };
        return sdkStream<OpenAIChunk>(
          async (signal) => {
            config.key(model); // throws `auth` before anything is sent when a hosted vendor has no key
            const sdk = watching(await sdkClient(), watch);
            const response = await sdk.chat.completions.create(body(), { signal, maxRetries: 0 });
            return response as AsyncIterable<OpenAIChunk>;
          },
          () => map,
          (error) => rejectedStreamOptions(mapOpenAIError(error, context), watch.errorText),
        );
      });
    }

    // One mapper per subscription: the decoder tells it of `[DONE]`, which the SDK would hide.
    return defer(() => {
      const map = mapper();
      return directStream(
        () => {
          const key = config.key(model);
          return {
            url: joinUrl(config.baseURL, '/chat/completions'),
            headers: {
              accept: 'text/event-stream',
              ...(key !== undefined && { authorization: `Bearer ${key}` }),
              ...(config.organization !== undefined && { 'openai-organization': config.organization }),
              ...options.headers,
            },
            body: body(),
            framing: 'sse',
            ...(options.fetch !== undefined && { fetch: options.fetch }),
            provider,
            model,
          };
        },
        openaiFrameDecoder(map, context),
        () => map,
        { coalesceText: options.coalesceText, refineError: (error) => rejectedStreamOptions(error) },
      );
    });
  };

  return defineModel({ provider, model: options.model, profile: profileOf(options), stream });
}

/** `client` with its `fetch` watched for this one request (a copy: the caller's client is not changed). */
function watching(client: OpenAIClient, watch: WireWatch): OpenAIClient {
  // `fetch` is private in the SDK's types, public at run time; a stand-in client without it is used as is.
  const sdk = client as OpenAIClient & {
    readonly fetch?: typeof fetch;
    readonly withOptions?: (options: { fetch: typeof fetch }) => OpenAIClient;
  };
  if (typeof sdk.withOptions !== 'function' || typeof sdk.fetch !== 'function') return client;
  return sdk.withOptions({ fetch: watchedFetch(sdk.fetch, watch) });
}
