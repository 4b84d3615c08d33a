/**
 * OpenAI chat completions chunks → rxllm events (pure mapping; both transports drive it).
 *
 * ## When is a stream complete?
 * When a choice's `finish_reason` arrived, and then either the usage chunk (when it was requested with
 * `stream_options.include_usage`) or `data: [DONE]`. `[DONE]` after a `finish_reason` is complete with or
 * without usage: a server that ignores `stream_options` sends none, and usage is then estimated
 * (`estimated: true`), not zero. The `openai` SDK hides `[DONE]`, so the SDK transport watches its bytes
 * for it (see `chat.ts`) and tells the mapper, as the direct transport's decoder does. Frames after the
 * end are ignored (the SDK skips them too). A body that ends before that fails with `incomplete`. The
 * closing `usage` and `finish` events are emitted at the end of the body, so `finish` is always last and
 * `usage` is reported once even by servers that send running usage on every chunk. See
 * `docs/completion-rules.md`.
 *
 * @module
 */
import { costOf } from '../../core/catalog.js';
import { classifyFault } from '../../core/classify.js';
import { LLMError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/events.js';
import { answerPiece, answerTally } from '../shared/estimateUsage.js';
import { startEvent, type Emit, type MapperContext, type StreamMapper } from '../shared/run.js';
import {
  invalidChunk,
  named,
  objectChunk,
  optionalString,
  tokenCount,
  type Source,
} from '../shared/validate.js';
import type {
  OpenAIChoice,
  OpenAIChunk,
  OpenAIErrorPayload,
  OpenAIToolCallDelta,
  OpenAIUsage,
} from './chunks.js';

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
 * Normalizes a usage object, wherever the dialect puts its details: OpenAI's `prompt_tokens_details.cached_tokens`
 * and `completion_tokens_details.reasoning_tokens`, DeepSeek's `prompt_cache_hit_tokens`. Zero cached and
 * reasoning counts are left out (absent means none). A count that is not a non-negative integer is an
 * `invalid_response` error. `undefined` when the object reports neither prompt nor completion tokens.
 *
 * ## Example
 * ```ts
 * mapUsage({ prompt_tokens: 19, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } }, source);
 * // { inputTokens: 19, outputTokens: 7, cachedInputTokens: 4 }
 * ```
 *
 * @param usage - the vendor's `usage`
 * @param source - provider and model, for errors
 * @returns rxllm's usage, or `undefined` for an empty object
 */
export function mapUsage(usage: OpenAIUsage, source: Source): Usage | undefined {
  if (typeof usage !== 'object') throw invalidChunk(source, 'usage that is not an object');
  const input = tokenCount(usage.prompt_tokens, 'prompt_tokens', source);
  const output = tokenCount(usage.completion_tokens, 'completion_tokens', source);
  if (input === undefined && output === undefined) return undefined;
  const cached =
    tokenCount(usage.prompt_tokens_details?.cached_tokens, 'cached_tokens', source) ??
    tokenCount(usage.prompt_cache_hit_tokens, 'prompt_cache_hit_tokens', source) ??
    0;
  const reasoning =
    tokenCount(usage.completion_tokens_details?.reasoning_tokens, 'reasoning_tokens', source) ?? 0;
  return {
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
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
    typeof error.code === 'number' && Number.isInteger(error.code) && error.code >= 100
      ? error.code
      : type !== undefined
        ? STATUS_OF_TYPE[type]
        : undefined;
  const source = { message, provider: context.provider, model: context.model };
  let kind = classifyFault({ ...source, ...(code !== undefined && { code }), status }).kind;
  if (kind === 'unknown' && type !== undefined) kind = classifyFault({ ...source, code: type }).kind;
  // A code that is no HTTP status (a float, a negative number) is not reported as one.
  const numeric = typeof error.code === 'number' && Number.isInteger(error.code) && error.code >= 100;
  return named(
    new LLMError(kind, `${context.provider}: ${message}`, {
      provider: context.provider,
      model: context.model,
      ...(numeric && { status: error.code as number }),
    }),
  );
}

/** The chat completions mapper: a {@link StreamMapper} that also hears of the `[DONE]` frame. */
export interface OpenAIMapper extends StreamMapper<OpenAIChunk> {
  /** The direct transport saw `data: [DONE]`: later frames are ignored. */
  sawDone(): void;
  /**
   * The SDK transport's fetch saw `data: [DONE]` go by: it reads ahead of the SDK's parser, so frames
   * before it are still mapped; only the end is told that the body was whole.
   */
  bodyHadDone(): void;
}

/** Options of {@link createOpenAIMapper}. */
export interface OpenAIMapperOptions {
  /**
   * The request asked for the usage chunk. Default `true`. Then a stream is complete before `[DONE]` only
   * once usage came; a body cut after the `finish_reason` and before usage or `[DONE]` is `incomplete`.
   */
  readonly includeUsage?: boolean;
}

const NO_TOOL_CALLS: readonly OpenAIToolCallDelta[] = [];
const NO_CHOICES: readonly OpenAIChoice[] = [];

interface PendingCall {
  id: string;
  name: string;
  args: string;
}

/**
 * Creates the per-stream reducer: emits `start` on the first chunk, `text` (content), `reasoning`
 * (`reasoning_content` / `reasoning` of compatible servers), a `tool-call-delta` per argument piece and
 * one `tool-call` per call when the `finish_reason` arrives, then `usage` and `finish` at the end.
 *
 * Usage comes from `usage` or, on Groq, `x_groq.usage`; a stream that ends properly without any is given
 * estimated usage (`estimated: true`), never 0/0. Refusals (`delta.refusal`) are not answer text: they
 * make the finish `content-filter` (raw `refusal`) with the refusal's text in `finish.refusal`. Every
 * field read is type-checked: a value of the wrong type, or a tool call without a name, is
 * `invalid_response`; a tool call without an id gets `call_<index>`. Only choice 0 is mapped (rxllm never
 * asks for `n > 1`).
 *
 * ## Example
 * ```ts
 * const map = createOpenAIMapper({ provider: 'openai', model: 'gpt-4o-mini', pricing: undefined });
 * for (const chunk of chunks) map.chunk(chunk, emit);
 * map.end(emit); // throws LLMError('incomplete') without a finish_reason
 * ```
 *
 * @param context - provider, model, pricing and request of the call
 * @param options - whether usage was requested
 * @returns a fresh mapper for one stream
 */
export function createOpenAIMapper(context: MapperContext, options: OpenAIMapperOptions = {}): OpenAIMapper {
  const includeUsage = options.includeUsage ?? true;
  const calls = new Map<number, PendingCall>();
  const tally = answerTally(context.request);
  let started = false;
  let finishRaw: string | undefined;
  let usage: Usage | undefined;
  let refusal: string | undefined;
  let doneFrame = false;
  let bodyDone = false;

  const complete = (): boolean => finishRaw !== undefined && (usage !== undefined || !includeUsage);

  function toolCalls(emit: Emit): void {
    for (const [index, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
      if (call.name === '') throw invalidChunk(context, `tool call ${index} has no name`);
      let args: unknown;
      try {
        // Some compatible servers send no arguments at all for a tool without parameters.
        args = JSON.parse(call.args.trim() === '' ? '{}' : call.args);
      } catch {
        throw invalidChunk(context, `the arguments of tool call "${call.name}" are not valid JSON`);
      }
      emit({ type: 'tool-call', index, id: call.id, name: call.name, args, rawArgs: call.args });
    }
    calls.clear();
  }

  function toolCallPiece(piece: OpenAIToolCallDelta, position: number, emit: Emit): void {
    if (typeof piece !== 'object' || piece === null)
      throw invalidChunk(context, 'a tool call that is not an object');
    const index = piece.index ?? position;
    if (!Number.isInteger(index) || index < 0)
      throw invalidChunk(context, 'a tool call index that is not an integer');
    const fn = piece.function ?? undefined;
    const name = optionalString(fn?.name, 'function.name', context);
    const argsDelta = optionalString(fn?.arguments, 'function.arguments', context) ?? '';
    const id = optionalString(piece.id, 'id', context);
    let call = calls.get(index);
    const opens = call === undefined;
    if (call === undefined) {
      // Deterministic where the vendor gives no id, so a later turn can still refer to the call.
      call = { id: id || `call_${index}`, name: name ?? '', args: '' };
      calls.set(index, call);
    } else if (call.name === '' && name) {
      // Some servers repeat the id and name on every piece: keep the first ones.
      call.name = name;
    }
    call.args += argsDelta;
    if (argsDelta !== '') tally.add(argsDelta);
    if (opens || argsDelta !== '') {
      emit({
        type: 'tool-call-delta',
        index,
        ...(opens && { id: call.id }),
        ...(opens && call.name !== '' && { name: call.name }),
        argsDelta,
      });
    }
  }

  return {
    get done() {
      return doneFrame || complete();
    },
    sawDone() {
      doneFrame = true;
      bodyDone = true;
    },
    bodyHadDone() {
      bodyDone = true;
    },
    chunk(chunk, emit) {
      if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
        throw invalidChunk(context, 'a chunk that is not a JSON object');
      }
      // Truthy, as the SDK tests it, so both transports fail on the same chunks.
      if (chunk.error) throw streamFault(chunk.error, context);
      if (chunk.object === 'error') throw streamFault(chunk, context);
      if (!started) {
        started = true;
        const id = typeof chunk.id === 'string' && chunk.id !== '' ? chunk.id : undefined;
        const answeredBy = typeof chunk.model === 'string' && chunk.model !== '' ? chunk.model : undefined;
        emit(startEvent(context, id, answeredBy));
      }
      const choices = chunk.choices ?? NO_CHOICES;
      if (!Array.isArray(choices)) throw invalidChunk(context, 'choices that are not a list');
      for (const choice of choices) {
        if (typeof choice !== 'object' || choice === null)
          throw invalidChunk(context, 'a choice that is not an object');
        if ((choice.index ?? 0) !== 0) continue;
        const delta = choice.delta ?? {};
        if (typeof delta !== 'object') throw invalidChunk(context, 'a delta that is not an object');
        const reasoning =
          answerPiece(tally, delta.reasoning_content, 'reasoning_content', context) ??
          answerPiece(tally, delta.reasoning, 'reasoning', context);
        if (reasoning) emit({ type: 'reasoning', text: reasoning });
        const content = answerPiece(tally, delta.content, 'content', context);
        if (content) emit({ type: 'text', text: content });
        const refused = answerPiece(tally, delta.refusal, 'refusal', context);
        if (refused) refusal = (refusal ?? '') + refused;
        // Most chunks carry text only: an indexed loop over a shared empty list allocates nothing for them.
        const pieces = delta.tool_calls ?? NO_TOOL_CALLS;
        if (!Array.isArray(pieces)) throw invalidChunk(context, 'tool_calls that are not a list');
        for (let position = 0; position < pieces.length; position++) {
          toolCallPiece(pieces[position] as OpenAIToolCallDelta, position, emit);
        }
        const finish = optionalString(choice.finish_reason, 'finish_reason', context);
        if (finish) {
          finishRaw ??= finish;
          toolCalls(emit);
        }
      }
      const reported = chunk.usage ?? chunk.x_groq?.usage;
      if (reported !== undefined && reported !== null) usage = mapUsage(reported, context) ?? usage;
    },
    end(emit) {
      // Without `[DONE]` (which the direct transport sees, and the SDK transport's fetch watches for),
      // a requested usage chunk that never came means the body was cut.
      if (finishRaw === undefined || (includeUsage && usage === undefined && !bodyDone)) {
        const missing = finishRaw === undefined ? 'a finish_reason' : 'the usage chunk or [DONE]';
        throw new LLMError('incomplete', `${context.provider}: the stream ended without ${missing}`, {
          provider: context.provider,
          model: context.model,
        });
      }
      const final = usage ?? tally.estimate();
      emit({ type: 'usage', usage: final });
      const reason =
        refusal !== undefined
          ? { reason: 'content-filter' as const, raw: 'refusal' }
          : mapFinishReason(finishRaw);
      emit({
        type: 'finish',
        ...reason,
        usage: final,
        cost: costOf(final, context.pricing),
        ...(refusal !== undefined && { refusal }),
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw malformedChunk(context);
    }
    return objectChunk<OpenAIChunk>(parsed, context);
  };
}

/** The error for a frame that is not JSON (both transports). */
export function malformedChunk(context: Pick<MapperContext, 'provider' | 'model'>): LLMError {
  return new LLMError('invalid_response', `${context.provider}: malformed chunk in the stream`, {
    provider: context.provider,
    model: context.model,
  });
}
