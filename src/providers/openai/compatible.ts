import type { LanguageModel } from '../../core/model.js';
import { registerSecret } from '../../core/redact.js';
import type { ProviderOptions } from '../shared/options.js';
import { chatCompletionsModel, type OpenAIClient } from './chat.js';

/** Options of {@link openaiCompatible}. */
export interface OpenAICompatibleOptions extends Omit<ProviderOptions, 'baseURL' | 'name'> {
  /** The endpoint root, up to `/v1` (`http://localhost:8000/v1`, `https://api.groq.com/openai/v1`). */
  readonly baseURL: string;
  /** The provider label of events, errors, pricing and `providerOptions` (`groq`, `vllm`, `lmstudio`). */
  readonly name: string;
  /**
   * The host's key, sent as `Authorization: Bearer`. Optional: local servers have none. Never read from
   * `OPENAI_API_KEY`, so an OpenAI key is not sent to another host.
   */
  readonly apiKey?: string;
  /**
   * Ask for the closing usage chunk (`stream_options.include_usage`). Default: by `name`, `false` for the
   * hosts known to reject the field (`mistral` answers 422), `true` for the rest (OpenAI, Azure, Groq,
   * Together, vLLM, OpenRouter, DeepSeek, Fireworks, …, and servers that ignore it). A server that rejects
   * it fails with an `invalid_request` error saying to set this to `false`. Without usage, a stream that
   * ends with `[DONE]` still completes, with usage estimated (`estimated: true`), unless the host puts it
   * elsewhere (Groq's `x_groq.usage` and Mistral's closing chunk are read).
   */
  readonly includeUsage?: boolean;
  /** An `openai` SDK client to call through (implies `transport: 'sdk'`). */
  readonly client?: OpenAIClient;
}

/**
 * A provider for any OpenAI-compatible chat completions endpoint: vLLM, LM Studio, llama.cpp, Groq,
 * Together, Mistral, Cloudflare Workers AI, OpenRouter.
 *
 * It speaks the same protocol as {@link openai}, and also maps the `reasoning_content` / `reasoning`
 * deltas such servers send to `reasoning` events, and their `{"error": …}` chunks (with numeric codes) to
 * the kinds their HTTP statuses would give. `maxTokens` is sent as `max_tokens`, which they all know.
 * Costs come from `pricing` or a catalog entry under `name` (zero when neither has the model).
 *
 * ## Example
 * ```ts
 * const groq = openaiCompatible({
 *   name: 'groq',
 *   baseURL: 'https://api.groq.com/openai/v1',
 *   apiKey: process.env.GROQ_API_KEY,
 *   model: 'llama-3.3-70b-versatile',
 *   pricing: { input: 0.59, output: 0.79 },
 * });
 * const local = openaiCompatible({ name: 'vllm', baseURL: 'http://localhost:8000/v1', model: 'Qwen/Qwen3-8B' });
 * ```
 *
 * @see openai
 * @param options - endpoint, label, model and optional key
 * @returns the model
 */
export function openaiCompatible(options: OpenAICompatibleOptions): LanguageModel {
  registerSecret(options.apiKey);
  return chatCompletionsModel({
    options,
    provider: options.name,
    vendor: options.name,
    baseURL: options.baseURL,
    key: () => options.apiKey,
    includeUsage: options.includeUsage ?? acceptsStreamOptions(options.name),
    maxTokensField: 'max_tokens',
    ...(options.client !== undefined && { client: options.client }),
  });
}

/** Hosts whose API rejects `stream_options` (Mistral: 422 `extra_forbidden`); they send usage unasked. */
const REJECTS_STREAM_OPTIONS: ReadonlySet<string> = new Set(['mistral', 'mistralai', 'codestral']);

/**
 * Whether to send `stream_options` to a host, by its `name`: every host but the ones known to reject it.
 *
 * ## Example
 * ```ts
 * acceptsStreamOptions('groq'); // true
 * acceptsStreamOptions('mistral'); // false
 * ```
 *
 * @param name - the provider label (`groq`, `mistral`, …), compared case-insensitively
 * @returns whether the default `includeUsage` is on
 */
export function acceptsStreamOptions(name: string): boolean {
  return !REJECTS_STREAM_OPTIONS.has(name.toLowerCase());
}
