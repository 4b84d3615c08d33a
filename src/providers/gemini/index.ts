import { importPeer } from '../../core/peer.js';
import type * as GeminiSdkModule from '@google/generative-ai';
import type { Observable } from 'rxjs';
import { LLMError } from '../../core/errors.js';
import type { TokenEvent } from '../../core/events.js';
import { defineModel, type LanguageModel } from '../../core/model.js';
import type { ChatRequest } from '../../core/request.js';
import { registerSecret } from '../../core/redact.js';
import type { HttpStreamRequest } from '../../transport/http.js';
import {
  joinUrl,
  type ProviderOptions,
  requireKey,
  resolveApiKey,
  resolvePricing,
  profileOf,
} from '../shared/options.js';
import { directStream, jsonFrame, type MapperContext, sdkStream } from '../shared/run.js';
import type { GeminiChunk } from './chunks.js';
import { mapGeminiSdkError } from './errors.js';
import { geminiMapper, refineGeminiError, retryDelayMs } from './map.js';
import { type GeminiRequest, type GeminiSafetySetting, toGeminiRequest } from './request.js';

/**
 * Google's public Gemini API root (the version is added from `apiVersion`).
 *
 * ## Example
 * ```ts
 * gemini({ model: 'gemini-2.0-flash', baseURL: GEMINI_BASE_URL }); // the default
 * ```
 */
export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * The environment variables a Gemini key is read from, in order.
 *
 * ## Example
 * ```ts
 * const key = GEMINI_API_KEY_ENV.map((name) => process.env[name]).find(Boolean);
 * ```
 */
export const GEMINI_API_KEY_ENV = ['GOOGLE_API_KEY', 'GEMINI_API_KEY'] as const;

/**
 * The request options of `getGenerativeModel` that rxllm sets.
 *
 * ## Example
 * ```ts
 * import { GoogleGenerativeAI } from '@google/generative-ai';
 * const options: GeminiSdkRequestOptions = { apiVersion: 'v1beta', baseUrl: 'http://127.0.0.1:8080' };
 * new GoogleGenerativeAI(apiKey).getGenerativeModel({ model: 'gemini-2.0-flash' }, options);
 * ```
 */
export interface GeminiSdkRequestOptions {
  /** The API version path segment, e.g. `v1beta`. */
  readonly apiVersion?: string;
  /** The API's root URL. */
  readonly baseUrl?: string;
  /** Extra headers sent with every request. */
  readonly customHeaders?: Record<string, string>;
}

/**
 * The part of a `GenerativeModel` rxllm calls.
 *
 * ## Example
 * ```ts
 * import { GoogleGenerativeAI } from '@google/generative-ai';
 * const sdkModel: GeminiSdkModel = new GoogleGenerativeAI(apiKey).getGenerativeModel({ model: 'gemini-2.0-flash' });
 * const body = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] };
 * const { stream } = await sdkModel.generateContentStream(body, { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface GeminiSdkModel {
  /** Starts a streamed generation; `signal` aborts it. */
  generateContentStream(
    request: unknown,
    options?: {
      /** Aborts the call. */
      readonly signal?: AbortSignal;
    },
  ): Promise<{
    /** The response chunks as they stream. */
    readonly stream: AsyncIterable<unknown>;
    /** The whole response, once the stream ended. */
    readonly response: Promise<unknown>;
  }>;
}

/**
 * What rxllm needs of a `GoogleGenerativeAI` instance from `@google/generative-ai` (a structural type, so
 * the SDK's types are not needed to use rxllm). Any `new GoogleGenerativeAI(key)` satisfies it.
 *
 * ## Example
 * ```ts
 * import { GoogleGenerativeAI } from '@google/generative-ai';
 * const client: GeminiClient = new GoogleGenerativeAI(process.env.GOOGLE_API_KEY ?? '');
 * ```
 */
export interface GeminiClient {
  /** The key the client was made with (registered for redaction). */
  readonly apiKey?: string;
  /** A model handle of the SDK, with rxllm's request options. */
  getGenerativeModel(params: { model: string }, requestOptions?: GeminiSdkRequestOptions): GeminiSdkModel;
}

/**
 * Options of {@link gemini}.
 *
 * ## Example
 * ```ts
 * const options: GeminiOptions = {
 *   model: 'gemini-2.5-flash',
 *   safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
 * };
 * ```
 */
export interface GeminiOptions extends ProviderOptions {
  /**
   * A `GoogleGenerativeAI` instance: implies the `sdk` transport, and its own key is used. `baseURL`,
   * `apiVersion` and `headers` still apply (they are request options of the SDK).
   */
  readonly client?: GeminiClient;
  /** API version path segment. Default `v1beta` (function calling, system instructions, JSON schema). */
  readonly apiVersion?: string;
  /** Safety thresholds sent with every request. Default: none (Google's defaults). */
  readonly safetySettings?: readonly GeminiSafetySetting[];
}

type GeminiSdk = typeof GeminiSdkModule;
let sdkModule: Promise<GeminiSdk> | undefined;

function loadSdk(provider: string, model: string): Promise<GeminiSdk> {
  sdkModule ??= importPeer<GeminiSdk>('@google/generative-ai').catch((error: unknown) => {
    sdkModule = undefined;
    throw new LLMError(
      'invalid_request',
      `${provider}: the sdk transport needs the @google/generative-ai package (npm install @google/generative-ai)`,
      { provider, model, retryable: false, cause: error },
    );
  });
  return sdkModule;
}

/**
 * Wraps `fetch` so an HTTP error whose headers carry no retry hint gets one from Google's body
 * (`RetryInfo.retryDelay`, which is where Google puts it), as a `retry-after-ms` header.
 */
function withRetryInfo(doFetch: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await doFetch(input, init);
    if (response.ok || response.headers.has('retry-after') || response.headers.has('retry-after-ms')) {
      return response;
    }
    const text = await response.text().catch(() => '');
    let details: readonly unknown[] | undefined;
    try {
      details = (JSON.parse(text) as { error?: { details?: readonly unknown[] } }).error?.details;
    } catch {
      details = undefined;
    }
    const delay = retryDelayMs(Array.isArray(details) ? details : undefined);
    const headers = new Headers(response.headers);
    if (delay !== undefined) headers.set('retry-after-ms', String(delay));
    return new Response(text, { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * A Gemini model (Google AI `generateContent` streaming) as a rxllm {@link LanguageModel}.
 *
 * The `direct` transport (default) POSTs to `{baseURL}/{apiVersion}/models/{model}:streamGenerateContent?alt=sse`
 * with the key in the `x-goog-api-key` header (never in the URL, where it would leak into error messages
 * and logs). The `sdk` transport (or a `client`) calls `@google/generative-ai`'s `generateContentStream`,
 * loaded on first use; the SDK has no retries to turn off, and it cannot take a custom `fetch` (so
 * `options.fetch` applies to the direct transport only). Both feed one mapper, so they give the same
 * events on the same bytes; see `mapGeminiSdkError` for how the SDK's errors are told apart.
 *
 * The key comes from `apiKey`, else `GOOGLE_API_KEY`, else `GEMINI_API_KEY`; a missing key fails the
 * stream with an `auth` error on subscribe, before anything is sent.
 *
 * ## Example
 * ```ts
 * const flash = gemini({ model: 'gemini-2.5-flash' });
 * const done = await collect(flash.stream({ messages: [{ role: 'user', content: 'Why is the sky blue?' }] }));
 * console.log(done.text, done.usage, done.cost.total);
 * ```
 *
 * @see toGeminiRequest for how a request is mapped, geminiMapper for how chunks become events.
 * @param options - Model, key, endpoint, transport and Gemini settings.
 * @returns A cold, abortable model.
 */
export function gemini(options: GeminiOptions): LanguageModel {
  const provider = options.name ?? 'gemini';
  const apiKey =
    resolveApiKey(options.apiKey, GEMINI_API_KEY_ENV[0]) ?? resolveApiKey(undefined, GEMINI_API_KEY_ENV[1]);
  registerSecret(options.client?.apiKey);
  const apiVersion = options.apiVersion ?? 'v1beta';
  const useSdk = options.client !== undefined || options.transport === 'sdk';

  function stream(request: ChatRequest): Observable<TokenEvent> {
    const model = request.model ?? options.model;
    const context: MapperContext = {
      provider,
      model,
      pricing: resolvePricing(options, 'gemini', model),
      request,
    };
    const mapper = () => geminiMapper(context);
    const body = (): GeminiRequest =>
      toGeminiRequest(request, {
        provider,
        model,
        ...(options.safetySettings !== undefined && { safetySettings: options.safetySettings }),
      });
    if (useSdk) {
      const open = async (signal: AbortSignal): Promise<AsyncIterable<GeminiChunk>> => {
        const client =
          options.client ??
          new (await loadSdk(provider, model)).GoogleGenerativeAI(
            requireKey(apiKey, provider, model, GEMINI_API_KEY_ENV[0]),
          );
        const generative = client.getGenerativeModel(
          { model },
          {
            apiVersion,
            ...(options.baseURL !== undefined && { baseUrl: options.baseURL.replace(/\/+$/, '') }),
            ...(options.headers !== undefined && { customHeaders: { ...options.headers } }),
          },
        );
        const result = await generative.generateContentStream(body(), { signal });
        // The SDK also aggregates the whole answer into `response`, which rejects whenever the stream
        // fails or is aborted: nobody awaits it here, so it must not become an unhandled rejection.
        result.response.catch(() => undefined);
        return result.stream as AsyncIterable<GeminiChunk>;
      };
      return sdkStream(open, mapper, (error) => mapGeminiSdkError(error, provider, model));
    }
    const http = (): HttpStreamRequest => {
      const key = requireKey(apiKey, provider, model, GEMINI_API_KEY_ENV[0]);
      const path = model.includes('/') ? model : `models/${model}`;
      return {
        url: joinUrl(
          options.baseURL ?? GEMINI_BASE_URL,
          `/${apiVersion}/${path}:streamGenerateContent?alt=sse`,
        ),
        headers: { ...options.headers, 'x-goog-api-key': key },
        body: body(),
        framing: 'sse',
        fetch: withRetryInfo(options.fetch ?? ((input, init) => fetch(input, init))),
        provider,
        model,
      };
    };
    return directStream(http, jsonFrame<GeminiChunk>(provider, model), mapper, {
      coalesceText: options.coalesceText,
      refineError: refineGeminiError,
    });
  }

  return defineModel({ provider, model: options.model, profile: profileOf(options), stream });
}
