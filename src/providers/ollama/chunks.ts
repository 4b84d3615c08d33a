/**
 * The shapes Ollama's `POST /api/chat` speaks, as the wire and the `ollama` SDK carry them.
 * Only the fields rxllm reads or writes are typed; the server may send more.
 */

/** A tool call as Ollama sends it: whole, with its arguments already an object. */
export interface OllamaToolCall {
  /** Sent by recent Ollama versions only; rxllm makes up `call_<index>` when it is missing. */
  readonly id?: string;
  readonly function: {
    readonly index?: number;
    readonly name: string;
    /** An object on the wire; some Ollama-compatible servers send a JSON string instead. */
    readonly arguments: { readonly [key: string]: unknown } | string;
  };
}

/** The message of a streamed chunk: a piece of the assistant's turn. */
export interface OllamaChunkMessage {
  readonly role: string;
  readonly content: string;
  /** A piece of the model's thinking, when the request asked for `think`. */
  readonly thinking?: string;
  readonly tool_calls?: readonly OllamaToolCall[];
}

/**
 * One NDJSON line of a streamed chat. The last one has `done: true`, a `done_reason` (`stop`, `length`,
 * `load`, `unload`) and the token counts; an `{"error": "…"}` line reports a failure after HTTP 200.
 */
export interface OllamaChatChunk {
  readonly model?: string;
  /** An ISO time string on the wire (the SDK's types say `Date`, but it does not convert it). */
  readonly created_at?: string | Date;
  readonly message?: OllamaChunkMessage;
  readonly done?: boolean;
  readonly done_reason?: string;
  /** Prompt tokens evaluated (on the final chunk). */
  readonly prompt_eval_count?: number;
  /** Output tokens generated (on the final chunk). */
  readonly eval_count?: number;
  readonly total_duration?: number;
  readonly load_duration?: number;
  readonly prompt_eval_duration?: number;
  readonly eval_duration?: number;
  /** An in-stream failure: the whole line is `{"error": "message"}`. */
  readonly error?: string;
}

/** A message of an Ollama chat request. */
export interface OllamaMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  /** Base64 image bytes, without a `data:` prefix. */
  readonly images?: readonly string[];
  readonly tool_calls?: readonly {
    readonly function: { readonly name: string; readonly arguments: unknown };
  }[];
  /** On a `tool` message: which tool produced this result. */
  readonly tool_name?: string;
}

/** A tool an Ollama model may call. */
export interface OllamaTool {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description?: string;
    readonly parameters: { readonly [key: string]: unknown };
  };
}

/** Sampling options of an Ollama request (the subset rxllm sets; `providerOptions` may add others). */
export interface OllamaSamplingOptions {
  readonly temperature?: number;
  readonly num_predict?: number;
  readonly top_p?: number;
  readonly stop?: readonly string[];
  readonly [key: string]: unknown;
}

/** How much to think: on/off, or an effort level for models that take one. */
export type OllamaThink = boolean | 'low' | 'medium' | 'high';

/** The body of `POST /api/chat`, streaming. */
export interface OllamaChatBody {
  readonly model: string;
  readonly messages: readonly OllamaMessage[];
  readonly stream: true;
  readonly tools?: readonly OllamaTool[];
  readonly options?: OllamaSamplingOptions;
  /** `'json'`, or a JSON Schema the answer must match. */
  readonly format?: 'json' | { readonly [key: string]: unknown };
  /** How long the server keeps the model loaded after the call (`'5m'`, seconds, `-1`). */
  readonly keep_alive?: string | number;
  readonly think?: OllamaThink;
  readonly [key: string]: unknown;
}
