import { costOf } from '../../core/catalog.js';
import { classifyFault, kindForStatus, readErrorBody } from '../../core/classify.js';
import { LLMError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/events.js';
import { answerPiece, answerTally, type AnswerTally } from '../shared/estimateUsage.js';
import {
  startEvent,
  type Emit,
  type FrameDecoder,
  type MapperContext,
  type StreamMapper,
} from '../shared/run.js';
import {
  invalidChunk,
  named,
  objectChunk,
  optionalString,
  tokenCount,
  type Source,
} from '../shared/validate.js';
import type {
  AnthropicChunk,
  AnthropicUsage,
  ContentBlockDeltaChunk,
  ContentBlockStartChunk,
  ContentBlockStopChunk,
} from './chunks.js';

/**
 * Anthropic's `stop_reason` as a normalized finish reason, the raw value kept beside it.
 *
 * `end_turn` and `stop_sequence` → `stop`; `max_tokens` and `model_context_window_exceeded` → `length`;
 * `tool_use` → `tool-calls`; `refusal` → `content-filter`; `pause_turn` (a server tool paused a long
 * turn) and anything unknown → `other`.
 *
 * ## Example
 * ```ts
 * mapStopReason('max_tokens'); // { reason: 'length', raw: 'max_tokens' }
 * ```
 *
 * @param raw - the vendor's value (`null` when the stream never said).
 * @returns the normalized reason and the raw value.
 */
export function mapStopReason(raw: string | null | undefined): { reason: FinishReason; raw?: string } {
  const reason = ((): FinishReason => {
    switch (raw) {
      case 'end_turn':
      case 'stop_sequence':
        return 'stop';
      case 'max_tokens':
      case 'model_context_window_exceeded':
        return 'length';
      case 'tool_use':
        return 'tool-calls';
      case 'refusal':
        return 'content-filter';
      default:
        return 'other';
    }
  })();
  return raw === null || raw === undefined ? { reason } : { reason, raw };
}

/**
 * Anthropic's token counts as normalized {@link Usage}.
 *
 * Anthropic's `input_tokens` leaves out cached prompt tokens, so `inputTokens` adds
 * `cache_read_input_tokens` and `cache_creation_input_tokens` back; `cachedInputTokens` is the cache
 * reads (billed at the cached price). Cache writes are billed by Anthropic at a premium that
 * {@link costOf} does not model: they are costed at the input price. Thinking tokens, when reported,
 * become `reasoningTokens` (they are already part of `output_tokens`).
 *
 * ## Example
 * ```ts
 * mapUsage({ input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 });
 * // { inputTokens: 105, outputTokens: 7, cachedInputTokens: 100 }
 * ```
 *
 * @param usage - the vendor's counts (`null` fields count as zero).
 * @returns normalized usage.
 */
export function mapUsage(usage: AnthropicUsage, source: Source = ANTHROPIC): Usage | undefined {
  const input = tokenCount(usage.input_tokens, 'input_tokens', source);
  const output = tokenCount(usage.output_tokens, 'output_tokens', source);
  const cacheRead = tokenCount(usage.cache_read_input_tokens, 'cache_read_input_tokens', source) ?? 0;
  const cacheWrite =
    tokenCount(usage.cache_creation_input_tokens, 'cache_creation_input_tokens', source) ?? 0;
  const details = usage.output_tokens_details;
  const thinking =
    typeof details === 'object' && details !== null
      ? tokenCount(details.thinking_tokens, 'thinking_tokens', source)
      : undefined;
  if (input === undefined && output === undefined) return undefined;
  return {
    inputTokens: (input ?? 0) + cacheRead + cacheWrite,
    outputTokens: output ?? 0,
    ...(cacheRead > 0 && { cachedInputTokens: cacheRead }),
    ...(thinking !== undefined && thinking > 0 && { reasoningTokens: thinking }),
  };
}

const ANTHROPIC: Source = { provider: 'anthropic', model: 'anthropic' };

function mergeUsage(base: AnthropicUsage, next: AnthropicUsage | undefined, source: Source): AnthropicUsage {
  if (next === undefined || next === null) return base;
  if (typeof next !== 'object') throw invalidChunk(source, 'usage that is not an object');
  const merged: { -readonly [K in keyof AnthropicUsage]: AnthropicUsage[K] } = { ...base };
  for (const key of Object.keys(next) as (keyof AnthropicUsage)[]) {
    const value = next[key];
    if (value !== null && value !== undefined) Object.assign(merged, { [key]: value });
  }
  return merged;
}

/**
 * An in-stream error body (`event: error`, or a chunk `{ type: 'error' }`) as an `LLMError`, classified
 * by `error.type` exactly as the same body with its HTTP status would be: `overloaded_error` →
 * `overloaded` (retryable) whether it came as HTTP 529 or as HTTP 200 followed by this event.
 *
 * ## Example
 * ```ts
 * streamError({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'anthropic', 'claude-haiku-4-5');
 * // LLMError { kind: 'overloaded', retryable: true }
 * ```
 *
 * @param body - the parsed error body, or its text when it was not JSON.
 * @param provider - provider name for the error.
 * @param model - model name for the error.
 * @returns the classified error.
 */
export function streamError(body: unknown, provider: string, model: string): LLMError {
  const { code, message } = readErrorBody(body);
  const error = classifyFault({
    ...(code !== undefined && { code }),
    message: message ?? (typeof body === 'string' && body.length > 0 ? body.slice(0, 200) : 'stream error'),
    provider,
    model,
  });
  // Types the shared table leaves to the status (other vendors use them loosely): classify them by the
  // status Anthropic documents for them, without claiming that status happened.
  const status = code !== undefined ? STATUS_OF_ERROR_TYPE[code] : undefined;
  if (error.kind !== 'unknown' || status === undefined) return named(error);
  return named(new LLMError(kindForStatus(status), error.message, { provider, model }));
}

/** The HTTP status Anthropic documents for each `error.type`. */
const STATUS_OF_ERROR_TYPE: { readonly [type: string]: number } = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The direct transport's frame decoder: SSE `event:` names pick what a frame is, as in the SDK. `ping`
 * and frames without an event name or data are skipped, `event: error` throws the classified error,
 * anything else must be JSON (else `invalid_response`).
 *
 * ## Example
 * ```ts
 * const decode = anthropicFrameDecoder('anthropic', 'claude-haiku-4-5');
 * decode('{"type":"message_stop"}', 'message_stop'); // { type: 'message_stop' }
 * ```
 *
 * @param provider - provider name for errors.
 * @param model - model name for errors.
 * @returns the decoder.
 */
export function anthropicFrameDecoder(provider: string, model: string): FrameDecoder<AnthropicChunk> {
  return (data, event) => {
    if (event === undefined || event === 'ping') return undefined;
    if (event === 'error') throw streamError(parseOr(data, data), provider, model);
    if (data.length === 0) return undefined;
    const chunk = parseOr(data, malformed);
    if (chunk === malformed) throw malformedChunk(provider, model);
    return chunk as AnthropicChunk;
  };
}

const malformed = Symbol('malformed');

function parseOr<T>(text: string, fallback: T): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

/**
 * The error for a frame that is not JSON, the same on both transports (`invalid_response`, retryable).
 *
 * ## Example
 * ```ts
 * throw malformedChunk('anthropic', 'claude-haiku-4-5');
 * ```
 *
 * @param provider - provider name for the error.
 * @param model - model name for the error.
 * @param cause - the parse error, if any.
 * @returns the error.
 */
export function malformedChunk(provider: string, model: string, cause?: unknown): LLMError {
  return new LLMError('invalid_response', `${provider}: malformed chunk in the stream`, {
    provider,
    model,
    ...(cause !== undefined && { cause }),
  });
}

type Block =
  | { readonly kind: 'text' | 'thinking' | 'other' }
  | {
      readonly kind: 'tool';
      readonly id: string;
      readonly name: string;
      readonly call: number;
      /** The arguments streamed so far. */
      args: string;
      /** The input given whole in `content_block_start` (JSON), used only when nothing streamed. */
      readonly given: string;
    };

/**
 * The per-stream mapper from Anthropic stream events to rxllm events, shared by both transports.
 *
 * `message_start` → `start` (with the message id and the model that answers); text deltas → `text`;
 * thinking deltas → `reasoning`; a `tool_use` block → a `tool-call-delta` announcing it (id, name, empty
 * arguments), one per `input_json_delta` piece, and one `tool-call` at its `content_block_stop` (no
 * arguments at all means `{}`); `message_delta` → stop reason and cumulative usage; `message_stop` is
 * the terminal. At the end, `usage` then `finish` (with cost), or `incomplete` when `message_stop` never
 * came. A `signature_delta` becomes a `reasoning` event with empty text and the block's `signature`, so a
 * later turn can send the thinking block back. `ping` is skipped; an error chunk throws. Every field read
 * is type-checked (`invalid_response` otherwise); a `tool_use` block needs a name, and gets the id
 * `call_<index>` when it has none; usage the vendor did not report is estimated (`estimated: true`).
 *
 * ## Example
 * ```ts
 * const mapper = createAnthropicMapper({ provider: 'anthropic', model: 'claude-haiku-4-5', pricing: undefined });
 * const events: TokenEvent[] = [];
 * for (const chunk of chunks) mapper.chunk(chunk, (e) => events.push(e));
 * mapper.end((e) => events.push(e));
 * ```
 *
 * @param context - provider, model and pricing of the call.
 * @returns a fresh mapper for one stream.
 */
export function createAnthropicMapper(context: MapperContext): StreamMapper<AnthropicChunk> {
  const { provider, model, pricing } = context;
  const blocks = new Map<number, Block>();
  const tally = answerTally(context.request);
  let started = false;
  let done = false;
  let calls = 0;
  let usage: AnthropicUsage = {};
  let stopReason: string | undefined;

  const start = (emit: Emit, id?: string, answeredBy?: string): void => {
    if (started) return;
    started = true;
    emit(startEvent(context, id, answeredBy));
  };
  const text = (value: unknown, field: string): string | undefined =>
    answerPiece(tally, value, field, context);
  const blockIndex = (value: unknown): number => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    throw invalidChunk(context, 'a content block index that is not an integer');
  };
  const record = <T>(value: T | null | undefined, what: string): T => {
    if (typeof value === 'object' && value !== null) return value;
    throw invalidChunk(context, `${what} that is not an object`);
  };

  function blockStart(chunk: ContentBlockStartChunk, emit: Emit): void {
    const index = blockIndex(chunk.index);
    const block = record(chunk.content_block, 'a content_block');
    switch (block.type) {
      case 'text': {
        blocks.set(index, { kind: 'text' });
        const piece = text(block.text, 'text');
        if (piece) emit({ type: 'text', text: piece });
        break;
      }
      case 'thinking': {
        blocks.set(index, { kind: 'thinking' });
        const piece = text(block.thinking, 'thinking');
        if (piece) emit({ type: 'reasoning', text: piece });
        break;
      }
      case 'tool_use': {
        const call = calls++;
        const name = optionalString(block.name, 'name', context);
        if (!name) throw invalidChunk(context, 'a tool_use block without a name');
        const id = optionalString(block.id, 'id', context) || `call_${call}`;
        // Streamed input starts as `{}` and arrives in `input_json_delta`s; a gateway that sends
        // the whole input here instead is honoured when no deltas follow.
        const given =
          typeof block.input === 'object' && block.input !== null && Object.keys(block.input).length > 0
            ? JSON.stringify(block.input)
            : '';
        blocks.set(index, { kind: 'tool', id, name, call, args: '', given });
        emit({ type: 'tool-call-delta', index: call, id, name, argsDelta: '' });
        break;
      }
      default:
        blocks.set(index, { kind: 'other' });
    }
  }

  function blockDelta(chunk: ContentBlockDeltaChunk, emit: Emit): void {
    const delta = record(chunk.delta, 'a delta');
    switch (delta.type) {
      case 'text_delta': {
        const piece = text(delta.text, 'text');
        if (piece) emit({ type: 'text', text: piece });
        break;
      }
      case 'thinking_delta': {
        const piece = text(delta.thinking, 'thinking');
        if (piece) emit({ type: 'reasoning', text: piece });
        break;
      }
      case 'signature_delta': {
        const signature = optionalString(delta.signature, 'signature', context);
        if (signature) emit({ type: 'reasoning', text: '', signature });
        break;
      }
      case 'input_json_delta': {
        const block = blocks.get(blockIndex(chunk.index));
        const piece = text(delta.partial_json, 'partial_json');
        if (block?.kind !== 'tool' || !piece) break;
        block.args += piece;
        emit({ type: 'tool-call-delta', index: block.call, argsDelta: piece });
        break;
      }
      default:
      // `citations_delta` and later additions.
    }
  }

  function blockStop(chunk: ContentBlockStopChunk, emit: Emit): void {
    const index = blockIndex(chunk.index);
    const block = blocks.get(index);
    blocks.delete(index);
    if (block?.kind !== 'tool') return;
    const rawArgs = block.args.trim() !== '' ? block.args : block.given || '{}';
    let args: unknown;
    try {
      args = JSON.parse(rawArgs);
    } catch (error) {
      throw invalidChunk(context, `tool call ${block.name} has arguments that are not valid JSON`, error);
    }
    emit({ type: 'tool-call', index: block.call, id: block.id, name: block.name, args, rawArgs });
  }

  return {
    get done() {
      return done;
    },
    chunk(chunk, emit) {
      objectChunk<AnthropicChunk>(chunk, context);
      if (chunk.type === 'error') throw streamError(chunk, provider, model);
      if (chunk.type === 'ping') return;
      if (chunk.type === 'message_start') {
        const message = record(chunk.message, 'a message');
        start(
          emit,
          optionalString(message.id, 'id', context),
          optionalString(message.model, 'model', context),
        );
        usage = mergeUsage(usage, message.usage, context);
        if (usage.input_tokens != null && usage.output_tokens != null) tally.reported();
        return;
      }
      start(emit);
      switch (chunk.type) {
        case 'content_block_start':
          blockStart(chunk, emit);
          break;
        case 'content_block_delta':
          blockDelta(chunk, emit);
          break;
        case 'content_block_stop':
          blockStop(chunk, emit);
          break;
        case 'message_delta': {
          const reason = optionalString(record(chunk.delta, 'a delta').stop_reason, 'stop_reason', context);
          if (reason !== undefined) stopReason = reason;
          usage = mergeUsage(usage, chunk.usage, context);
          break;
        }
        case 'message_stop':
          done = true;
          break;
        default:
        // Event types added by the API later carry nothing rxllm maps.
      }
    },
    end(emit) {
      if (!done) {
        throw new LLMError('incomplete', `${provider}: the stream ended before message_stop`, {
          provider,
          model,
        });
      }
      const total = totalUsage(mapUsage(usage, context), usage, tally);
      emit({ type: 'usage', usage: total });
      emit({ type: 'finish', ...mapStopReason(stopReason), usage: total, cost: costOf(total, pricing) });
    },
  };
}

/** The reported usage, with what the vendor left out estimated (`estimated: true`), never taken as 0. */
function totalUsage(mapped: Usage | undefined, reported: AnthropicUsage, tally: AnswerTally): Usage {
  if (mapped === undefined) return tally.estimate();
  const input = reported.input_tokens ?? undefined;
  const output = reported.output_tokens ?? undefined;
  if (input !== undefined && output !== undefined) return mapped;
  return {
    ...mapped,
    ...tally.estimate({
      ...(input !== undefined && { inputTokens: mapped.inputTokens }),
      ...(output !== undefined && { outputTokens: mapped.outputTokens }),
    }),
  };
}
