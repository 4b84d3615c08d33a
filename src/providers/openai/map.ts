/**
 * OpenAI chat completions chunks → rxllm events (pure mapping; both transports drive it).
 *
 * ## When is a stream complete?
 * The `openai` SDK hides the `data: [DONE]` frame, yet both transports must give identical events on
 * identical bytes. So `[DONE]` cannot be what makes a stream successful. A stream is complete when a
 * choice's `finish_reason` arrived AND, when usage was requested (`stream_options.include_usage`), the
 * usage chunk arrived. `[DONE]` only ends the stream: frames after it are ignored (the SDK skips them too).
 * When the body ends before that, {@link OpenAIMapper.end} throws `incomplete`. The closing `usage` and
 * `finish` events are emitted at the end of the body, so `finish` is always last and `usage` is reported
 * once even by servers that send running usage on every chunk.
 *
 * @module
 */
import { costOf } from '../../core/catalog.js';
import { classifyFault } from '../../core/classify.js';
import { LLMError } from '../../core/errors.js';
import { ZERO_USAGE, type FinishReason, type Usage } from '../../core/events.js';
import { startEvent, type Emit, type MapperContext, type StreamMapper } from '../shared/run.js';
import type { OpenAIChunk, OpenAIErrorPayload, OpenAIToolCallDelta, OpenAIUsage } from './chunks.js';

/**
 * Normalizes a `finish_reason`, keeping the raw value beside it.
 *
 * ## Example
 * ```ts
 * mapFinishReason('tool_calls'); // { reason: 'tool-calls', raw: 'tool_calls' }
 * ```
 *
 * @param raw - the vendor's `finish_reason`
 * @returns the normalized reason and the raw value
 */
export function mapFinishReason(raw: string): { reason: FinishReason; raw: string } {
  switch (raw) {
    case 'stop':
      return { reason: 'stop', raw };
    case 'length':
      return { reason: 'length', raw };
    case 'tool_calls':
    case 'function_call':
      return { reason: 'tool-calls', raw };
    case 'content_filter':
      return { reason: 'content-filter', raw };
    default:
      return { reason: 'other', raw };
  }
}

/**
 * Normalizes a usage object. Zero cached and reasoning counts are left out (absent means none).
 *
 * ## Example
 * ```ts
 * mapUsage({ prompt_tokens: 19, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } });
 * // { inputTokens: 19, outputTokens: 7, cachedInputTokens: 4 }
 * ```
 *
 * @param usage - the vendor's `usage`
 * @returns rxllm's usage
 */
export function mapUsage(usage: OpenAIUsage): Usage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    ...(cached > 0 && { cachedInputTokens: cached }),
    ...(reasoning > 0 && { reasoningTokens: reasoning }),
  };
}

// OpenAI's error `type`s that carry no code BY_CODE knows, by the status that sends them.
const STATUS_OF_TYPE: { readonly [type: string]: number } = {
  invalid_request_error: 400,
  requests: 429,
  tokens: 429,
  server_error: 500,
};

/**
 * Classifies an error reported inside the stream (`data: {"error": {...}}`), so it gets the kind the HTTP
 * status would have given: the string `code` wins, then the `type`; vLLM's numeric `code` is its HTTP
 * status. The SDK's `APIError` for such a chunk is classified by this same function.
 *
 * ## Example
 * ```ts
 * streamFault({ message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }, ctx).kind;
 * // 'rate_limit'
 * ```
 *
 * @param payload - the chunk's `error` field (an object or a string)
 * @param context - provider and model, for the error
 * @returns the classified error
 */
export function streamFault(payload: unknown, context: Pick<MapperContext, 'provider' | 'model'>): LLMError {
  const error: OpenAIErrorPayload =
    typeof payload === 'object' && payload !== null ? payload : { message: payload };
  const message =
    typeof error.message === 'string' && error.message !== ''
      ? error.message
      : 'the server reported an error in the stream';
  const code = typeof error.code === 'string' ? error.code : undefined;
  const type = typeof error.type === 'string' ? error.type : undefined;
  const status =
    typeof error.code === 'number' ? error.code : type !== undefined ? STATUS_OF_TYPE[type] : undefined;
  const source = { message, provider: context.provider, model: context.model };
  let kind = classifyFault({ ...source, ...(code !== undefined && { code }), status }).kind;
  if (kind === 'unknown' && type !== undefined) kind = classifyFault({ ...source, code: type }).kind;
  return new LLMError(kind, `${context.provider}: ${message}`, {
    provider: context.provider,
    model: context.model,
    ...(typeof error.code === 'number' && { status: error.code }),
  });
}

/** The chat completions mapper: a {@link StreamMapper} that also hears of the `[DONE]` frame. */
export interface OpenAIMapper extends StreamMapper<OpenAIChunk> {
  /** The direct transport saw `data: [DONE]`: later frames are ignored. */
  sawDone(): void;
}

/** Options of {@link createOpenAIMapper}. */
export interface OpenAIMapperOptions {
  /** The request asked for the usage chunk, so the stream is incomplete without it. Default `true`. */
  readonly includeUsage?: boolean;
}

const NO_TOOL_CALLS: readonly OpenAIToolCallDelta[] = [];

interface PendingCall {
  id: string;
  name: string;
  args: string;
}

/**
 * Creates the per-stream reducer: emits `start` on the first chunk, `text` (content, and refusals),
 * `reasoning` (`reasoning_content` / `reasoning` of compatible servers), a `tool-call-delta` per argument
 * piece and one `tool-call` per call when the `finish_reason` arrives, then `usage` and `finish` at the end.
 *
 * Refusals (`delta.refusal`) become `text`: a refusal is the model's answer to show the user, and dropping
 * it would turn "I can't help with that" into a silent empty success (the finish stays the vendor's `stop`).
 * Only choice 0 is mapped (rxllm never asks for `n > 1`).
 *
 * ## Example
 * ```ts
 * const map = createOpenAIMapper({ provider: 'openai', model: 'gpt-4o-mini', pricing: undefined });
 * for (const chunk of chunks) map.chunk(chunk, emit);
 * map.end(emit); // throws LLMError('incomplete') without a finish_reason and the usage chunk
 * ```
 *
 * @param context - provider, model and pricing of the call
 * @param options - whether usage was requested
 * @returns a fresh mapper for one stream
 */
export function createOpenAIMapper(context: MapperContext, options: OpenAIMapperOptions = {}): OpenAIMapper {
  const includeUsage = options.includeUsage ?? true;
  const calls = new Map<number, PendingCall>();
  let started = false;
  let finishRaw: string | undefined;
  let usage: Usage | undefined;
  let doneFrame = false;

  const complete = (): boolean => finishRaw !== undefined && (usage !== undefined || !includeUsage);

  function toolCalls(emit: Emit): void {
    for (const [index, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
      let args: unknown;
      try {
        // Some compatible servers send no arguments at all for a tool without parameters.
        args = JSON.parse(call.args.trim() === '' ? '{}' : call.args);
      } catch {
        throw new LLMError(
          'invalid_response',
          `${context.provider}: the arguments of tool call "${call.name}" are not valid JSON`,
          { provider: context.provider, model: context.model },
        );
      }
      emit({ type: 'tool-call', index, id: call.id, name: call.name, args, rawArgs: call.args });
    }
    calls.clear();
  }

  return {
    get done() {
      return doneFrame || complete();
    },
    sawDone() {
      doneFrame = true;
    },
    chunk(chunk, emit) {
      // Truthy, as the SDK tests it, so both transports fail on the same chunks.
      if (chunk.error) throw streamFault(chunk.error, context);
      if (chunk.object === 'error') throw streamFault(chunk, context);
      if (!started) {
        started = true;
        const id = typeof chunk.id === 'string' && chunk.id !== '' ? chunk.id : undefined;
        const answeredBy = typeof chunk.model === 'string' && chunk.model !== '' ? chunk.model : undefined;
        emit(startEvent(context, id, answeredBy));
      }
      for (const choice of chunk.choices ?? []) {
        if ((choice.index ?? 0) !== 0) continue;
        const delta = choice.delta ?? {};
        const reasoning = delta.reasoning_content ?? delta.reasoning;
        if (typeof reasoning === 'string' && reasoning !== '') emit({ type: 'reasoning', text: reasoning });
        if (typeof delta.content === 'string' && delta.content !== '') {
          emit({ type: 'text', text: delta.content });
        }
        if (typeof delta.refusal === 'string' && delta.refusal !== '') {
          emit({ type: 'text', text: delta.refusal });
        }
        // Most chunks carry text only: an indexed loop over a shared empty list allocates nothing for them.
        const pieces = delta.tool_calls ?? NO_TOOL_CALLS;
        for (let position = 0; position < pieces.length; position++) {
          const piece = pieces[position] as OpenAIToolCallDelta;
          const index = piece.index ?? position;
          const name = piece.function?.name ?? undefined;
          const argsDelta = piece.function?.arguments ?? '';
          let call = calls.get(index);
          const opens = call === undefined;
          if (call === undefined) {
            call = { id: piece.id ?? '', name: name ?? '', args: '' };
            calls.set(index, call);
          } else {
            // Some servers repeat the id and name on every piece: keep the first ones.
            if (call.id === '' && piece.id) call.id = piece.id;
            if (call.name === '' && name) call.name = name;
          }
          call.args += argsDelta;
          if (opens || argsDelta !== '') {
            emit({
              type: 'tool-call-delta',
              index,
              ...(opens && call.id !== '' && { id: call.id }),
              ...(opens && call.name !== '' && { name: call.name }),
              argsDelta,
            });
          }
        }
        if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
          finishRaw ??= choice.finish_reason;
          toolCalls(emit);
        }
      }
      if (chunk.usage !== undefined && chunk.usage !== null) usage = mapUsage(chunk.usage);
    },
    end(emit) {
      if (finishRaw === undefined || (includeUsage && usage === undefined)) {
        const missing = finishRaw === undefined ? 'a finish_reason' : 'the usage chunk';
        throw new LLMError('incomplete', `${context.provider}: the stream ended without ${missing}`, {
          provider: context.provider,
          model: context.model,
        });
      }
      const final = usage ?? ZERO_USAGE;
      if (usage !== undefined) emit({ type: 'usage', usage });
      emit({
        type: 'finish',
        ...mapFinishReason(finishRaw),
        usage: final,
        cost: costOf(final, context.pricing),
      });
    },
  };
}

/**
 * Decodes one direct-transport SSE frame: `[DONE]` tells the mapper and is skipped (`undefined`);
 * anything else must be JSON, or the stream fails with `invalid_response`.
 *
 * ## Example
 * ```ts
 * const decode = openaiFrameDecoder(map, ctx);
 * decode('[DONE]', undefined); // undefined, and map.done is now true
 * ```
 *
 * @param mapper - the stream's mapper
 * @param context - provider and model, for errors
 * @returns the frame decoder for `directStream`
 */
export function openaiFrameDecoder(
  mapper: OpenAIMapper,
  context: Pick<MapperContext, 'provider' | 'model'>,
): (data: string) => OpenAIChunk | undefined {
  return (data) => {
    if (data.startsWith('[DONE]')) {
      mapper.sawDone();
      return undefined;
    }
    try {
      return JSON.parse(data) as OpenAIChunk;
    } catch {
      throw malformedChunk(context);
    }
  };
}

/** The error for a frame that is not JSON (both transports). */
export function malformedChunk(context: Pick<MapperContext, 'provider' | 'model'>): LLMError {
  return new LLMError('invalid_response', `${context.provider}: malformed chunk in the stream`, {
    provider: context.provider,
    model: context.model,
  });
}
