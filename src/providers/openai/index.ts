import type { LanguageModel } from '../../core/model.js';
import { readEnv, requireKey, resolveApiKey, type ProviderOptions } from '../shared/options.js';
import { chatCompletionsModel, type OpenAIClient } from './chat.js';

/** The OpenAI API root the provider calls unless given another. */
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Options of {@link openai}. */
export interface OpenAIOptions extends ProviderOptions {
  /**
   * An `openai` SDK client to call through (implies `transport: 'sdk'`). Its own retries are turned off
   * per request; its key, base URL and headers are used as configured.
   */
  readonly client?: OpenAIClient;
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string;
  /**
   * Ask for the closing usage chunk (`stream_options.include_usage`). Default `true`. Turn it off for a
   * server behind this URL that rejects `stream_options` (older Azure API versions, proxies); a stream
   * without usage still completes, with usage estimated (`estimated: true`).
   */
  readonly includeUsage?: boolean;
}

/**
 * The OpenAI chat completions provider, streaming.
 *
 * Cold: nothing is sent until subscribe; unsubscribing aborts the request. The key comes from `apiKey`
 * or `OPENAI_API_KEY` (a missing key fails the stream with `auth` on subscribe, before anything is sent);
 * the endpoint from `baseURL`, else `OPENAI_BASE_URL` from the environment, else {@link OPENAI_BASE_URL}.
 * Usage is requested (`stream_options.include_usage`, see `includeUsage`), so `finish` carries usage and
 * cost; a stream that ends with `[DONE]` but without usage gets estimated usage (`estimated: true`).
 * Transport `direct` (default) is `fetch` + SSE; `sdk` (or a `client`) uses the `openai` SDK, loaded lazily,
 * with its retries off. Both give identical events on identical bytes.
 *
 * ## Example
 * ```ts
 * const gpt = openai({ model: 'gpt-4o-mini' });
 * gpt.stream({ messages: [{ role: 'user', content: 'Name three primes.' }] }).subscribe((event) => {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * });
 * ```
 *
 * @see openaiCompatible for vLLM, LM Studio, Groq, Together, Mistral and other OpenAI-compatible hosts
 * @param options - model, key, endpoint and transport
 * @returns the model
 */
export function openai(options: OpenAIOptions): LanguageModel {
  const provider = options.name ?? 'openai';
  const apiKey = resolveApiKey(options.apiKey, 'OPENAI_API_KEY');
  return chatCompletionsModel({
    options,
    provider,
    vendor: 'openai',
    // As the `openai` SDK does: `OPENAI_BASE_URL` points every client at a proxy or a compatible host.
    baseURL: options.baseURL ?? readEnv('OPENAI_BASE_URL') ?? OPENAI_BASE_URL,
    // A caller's client brings its own credentials.
    key: (model) =>
      options.client === undefined ? requireKey(apiKey, provider, model, 'OPENAI_API_KEY') : apiKey,
    ...(options.organization !== undefined && { organization: options.organization }),
    includeUsage: options.includeUsage ?? true,
    maxTokensField: 'max_completion_tokens',
    ...(options.client !== undefined && { client: options.client }),
  });
}

export type { OpenAIClient } from './chat.js';
export type { OpenAICompatibleOptions } from './compatible.js';
export { openaiCompatible } from './compatible.js';
