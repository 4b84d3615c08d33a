/**
 * The events of Anthropic's Messages stream (`POST /v1/messages` with `stream: true`), as the wire sends
 * them in SSE `data:` fields and as `@anthropic-ai/sdk` yields them. Only the fields rxllm reads are
 * typed; every other field is kept by the vendor's JSON but ignored here. Unknown event types are
 * tolerated (the API adds new ones over time).
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */

/** Token counts as Anthropic reports them: `input_tokens` excludes the cached prompt tokens. */
export interface AnthropicUsage {
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly output_tokens_details?: { readonly thinking_tokens?: number | null } | null;
}

/** The message envelope of `message_start` (its `content` is empty when streaming). */
export interface AnthropicMessage {
  readonly id?: string;
  readonly model?: string;
  readonly stop_reason?: string | null;
  readonly usage?: AnthropicUsage;
}

/**
 * The block a `content_block_start` opens. Other block types (`redacted_thinking`, `server_tool_use`,
 * web search results) carry nothing for the caller and are skipped by the mapper.
 */
export type AnthropicContentBlock =
  | { readonly type: 'text'; readonly text?: string }
  | { readonly type: 'thinking'; readonly thinking?: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input?: unknown };

/** A `content_block_delta`'s delta. Others (`citations_delta`, later additions) are skipped. */
export type AnthropicDelta =
  | { readonly type: 'text_delta'; readonly text: string }
  | { readonly type: 'input_json_delta'; readonly partial_json: string }
  | { readonly type: 'thinking_delta'; readonly thinking: string }
  | { readonly type: 'signature_delta'; readonly signature: string };

/** The body of an error, in an HTTP error response or an in-stream `event: error`. */
export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: string; readonly message: string };
}

export interface MessageStartChunk {
  readonly type: 'message_start';
  readonly message: AnthropicMessage;
}

export interface ContentBlockStartChunk {
  readonly type: 'content_block_start';
  readonly index: number;
  readonly content_block: AnthropicContentBlock;
}

export interface ContentBlockDeltaChunk {
  readonly type: 'content_block_delta';
  readonly index: number;
  readonly delta: AnthropicDelta;
}

export interface ContentBlockStopChunk {
  readonly type: 'content_block_stop';
  readonly index: number;
}

export interface MessageDeltaChunk {
  readonly type: 'message_delta';
  readonly delta: { readonly stop_reason?: string | null; readonly stop_sequence?: string | null };
  readonly usage?: AnthropicUsage;
}

export interface MessageStopChunk {
  readonly type: 'message_stop';
}

export interface PingChunk {
  readonly type: 'ping';
}

/** An in-stream error (`event: error`): the SDK throws it, the direct transport's decoder too. */
export type ErrorChunk = AnthropicErrorBody;

/**
 * One event of the stream.
 *
 * ## Example
 * ```ts
 * const chunk: AnthropicChunk = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } };
 * ```
 */
export type AnthropicChunk =
  | MessageStartChunk
  | ContentBlockStartChunk
  | ContentBlockDeltaChunk
  | ContentBlockStopChunk
  | MessageDeltaChunk
  | MessageStopChunk
  | PingChunk
  | ErrorChunk;
