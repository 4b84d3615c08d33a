/**
 * The chunks of an OpenAI chat completions stream (`chat.completion.chunk`), as the wire and the `openai`
 * SDK yield them, with the fields OpenAI-compatible servers add (`reasoning_content`, `reasoning`).
 * Every field is optional: compatible servers omit what OpenAI always sends.
 */

/** A piece of one tool call: `id` and `function.name` arrive in the first piece for an `index`. */
export interface OpenAIToolCallDelta {
  readonly index?: number;
  readonly id?: string | null;
  readonly type?: string | null;
  readonly function?: { readonly name?: string | null; readonly arguments?: string | null } | null;
}

/** What one choice gained in this chunk. */
export interface OpenAIDelta {
  readonly role?: string | null;
  readonly content?: string | null;
  /** The model declined (structured outputs): the refusal text, streamed like content. */
  readonly refusal?: string | null;
  /** DeepSeek, vLLM and others: visible reasoning. */
  readonly reasoning_content?: string | null;
  /** Groq, OpenRouter and others: visible reasoning. */
  readonly reasoning?: string | null;
  readonly tool_calls?: readonly OpenAIToolCallDelta[] | null;
}

export interface OpenAIChoice {
  readonly index?: number;
  readonly delta?: OpenAIDelta | null;
  readonly finish_reason?: string | null;
}

/** Token counts, sent in the last chunk (with `choices: []`) when `stream_options.include_usage` is set. */
export interface OpenAIUsage {
  readonly prompt_tokens?: number | null;
  readonly completion_tokens?: number | null;
  readonly total_tokens?: number | null;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number | null } | null;
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number | null } | null;
  /** DeepSeek: prompt tokens served from its context cache. */
  readonly prompt_cache_hit_tokens?: number | null;
}

/** An error reported inside the stream, after HTTP 200: `data: {"error": {...}}`. */
export interface OpenAIErrorPayload {
  readonly message?: unknown;
  readonly type?: unknown;
  /** OpenAI sends a string code; vLLM and some others send the HTTP status as a number. */
  readonly code?: unknown;
  readonly param?: unknown;
}

/** One streamed chunk (or, from some compatible servers, an error object in its place). */
export interface OpenAIChunk {
  readonly id?: string;
  readonly object?: string;
  readonly model?: string;
  readonly choices?: readonly OpenAIChoice[] | null;
  readonly usage?: OpenAIUsage | null;
  readonly error?: OpenAIErrorPayload | string | null;
  /** Groq: its usage rides here, on the last chunk, instead of in `usage`. */
  readonly x_groq?: { readonly usage?: OpenAIUsage | null } | null;
  /** Other fields (`created`, `system_fingerprint`, `obfuscation`, vendor extras) are ignored. */
  readonly [extra: string]: unknown;
}
