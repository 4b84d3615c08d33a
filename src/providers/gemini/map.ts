import { costOf } from '../../core/catalog.js';
import { classifyFault } from '../../core/classify.js';
import { LLMError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/events.js';
import { answerTally } from '../shared/estimateUsage.js';
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
  GeminiCandidate,
  GeminiChunk,
  GeminiErrorBody,
  GeminiPart,
  GeminiUsageMetadata,
} from './chunks.js';

/**
 * Maps Gemini's `finishReason` to rxllm's: `STOP` → `stop` (`tool-calls` when the answer called
 * functions), `MAX_TOKENS` → `length`, the safety family (`SAFETY`, `RECITATION`, `BLOCKLIST`,
 * `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`) → `content-filter`, anything else (`MALFORMED_FUNCTION_CALL`,
 * `LANGUAGE`, `OTHER`, …) → `other`. The raw value is kept beside it.
 *
 * ## Example
 * ```ts
 * mapGeminiFinishReason('MAX_TOKENS', false); // { reason: 'length', raw: 'MAX_TOKENS' }
 * ```
 *
 * @param raw - The candidate's `finishReason`.
 * @param calledTools - Whether the answer contained function calls.
 * @returns The normalized reason and the raw one.
 */
export function mapGeminiFinishReason(
  raw: string,
  calledTools: boolean,
): { readonly reason: FinishReason; readonly raw: string } {
  switch (raw) {
    case 'STOP':
      return { reason: calledTools ? 'tool-calls' : 'stop', raw };
    case 'MAX_TOKENS':
      return { reason: 'length', raw };
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return { reason: 'content-filter', raw };
    default:
      return { reason: 'other', raw };
  }
}

/**
 * Maps Gemini's `usageMetadata`: input = prompt (+ tool-use prompt) tokens, output = candidate tokens
 * plus thinking tokens (both billed as output), cached = `cachedContentTokenCount`, reasoning =
 * `thoughtsTokenCount`.
 *
 * ## Example
 * ```ts
 * mapGeminiUsage({ promptTokenCount: 11, candidatesTokenCount: 52, thoughtsTokenCount: 8 });
 * // { inputTokens: 11, outputTokens: 60, reasoningTokens: 8 }
 * ```
 *
 * @param meta - The last `usageMetadata` of the stream.
 * @param source - Provider and model, for the `invalid_response` error a count that is not a count gives.
 * @returns Normalized usage, or `undefined` when it holds no counts.
 */
export function mapGeminiUsage(meta: GeminiUsageMetadata, source: Source = GEMINI): Usage | undefined {
  if (typeof meta !== 'object' || meta === null)
    throw invalidChunk(source, 'usageMetadata that is not an object');
  const prompt = tokenCount(meta.promptTokenCount, 'promptTokenCount', source);
  const candidates = tokenCount(meta.candidatesTokenCount, 'candidatesTokenCount', source);
  const thoughts = tokenCount(meta.thoughtsTokenCount, 'thoughtsTokenCount', source);
  const toolUse = tokenCount(meta.toolUsePromptTokenCount, 'toolUsePromptTokenCount', source);
  const cached = tokenCount(meta.cachedContentTokenCount, 'cachedContentTokenCount', source);
  // Gemini sends `usageMetadata` with only `totalTokenCount` on some chunks: that is no usage yet.
  if (prompt === undefined && candidates === undefined && thoughts === undefined) return undefined;
  return {
    inputTokens: (prompt ?? 0) + (toolUse ?? 0),
    outputTokens: (candidates ?? 0) + (thoughts ?? 0),
    ...(cached !== undefined && { cachedInputTokens: cached }),
    ...(thoughts !== undefined && { reasoningTokens: thoughts }),
  };
}

const GEMINI: Source = { provider: 'gemini', model: 'gemini' };

/**
 * The `LLMError` for Google's error object (`{ code, message, status }`), classified like the HTTP
 * error it stands for: `RESOURCE_EXHAUSTED` → `rate_limit`, `UNAVAILABLE`/`INTERNAL` → `unavailable`,
 * `INVALID_ARGUMENT` → `invalid_request`, … An invalid API key (Google answers 400 "API key not valid")
 * is `auth`. A `google.rpc.RetryInfo` detail sets `retryAfterMs`.
 *
 * ## Example
 * ```ts
 * geminiFault({ code: 429, message: 'Quota', status: 'RESOURCE_EXHAUSTED' }, 'gemini', 'gemini-2.0-flash').kind;
 * // 'rate_limit'
 * ```
 *
 * @param error - Google's error object.
 * @param provider - Provider name for the error.
 * @param model - Model for the error.
 * @returns The classified error.
 */
export function geminiFault(error: GeminiErrorBody, provider: string, model: string): LLMError {
  const retryAfterMs = retryDelayMs(Array.isArray(error.details) ? error.details : undefined);
  const status = typeof error.code === 'number' && Number.isInteger(error.code) ? error.code : undefined;
  const classified = classifyFault({
    ...(status !== undefined && status >= 100 && status < 600 && { status }),
    ...(typeof error.status === 'string' && { code: error.status }),
    message: typeof error.message === 'string' ? error.message : 'unknown error',
    provider,
    model,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
  return named(refineGeminiError(classified));
}

// Google's canonical HTTP status of each RPC status: the SDK keeps the status number only.
const STATUS_NAME: { readonly [status: number]: string } = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * The RPC status Google sends beside an HTTP status (`429` → `RESOURCE_EXHAUSTED`), for an error whose
 * body was lost (the SDK keeps only the number): so both transports classify the same way.
 *
 * ## Example
 * ```ts
 * googleStatusName(429); // 'RESOURCE_EXHAUSTED'
 * ```
 *
 * @param status - The HTTP status.
 * @returns The RPC status name, or `undefined` for a status Google does not use.
 */
export function googleStatusName(status: number): string | undefined {
  return STATUS_NAME[status];
}

const INVALID_KEY = /API key not valid|API_KEY_INVALID|API key expired/i;

/**
 * Google answers an invalid API key with HTTP 400 `INVALID_ARGUMENT`; this turns such an
 * `invalid_request` into `auth`. Other errors pass through.
 *
 * ## Example
 * ```ts
 * refineGeminiError(new LLMError('invalid_request', 'API key not valid. Please pass a valid API key.')).kind; // 'auth'
 * ```
 *
 * @param error - A classified error.
 * @returns The same error, or an `auth` error for a rejected key.
 */
export function refineGeminiError(error: LLMError): LLMError {
  if (error.kind !== 'invalid_request' || !INVALID_KEY.test(error.message)) return error;
  return new LLMError('auth', error.message, {
    ...(error.status !== undefined && { status: error.status }),
    ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
    ...(error.provider !== undefined && { provider: error.provider }),
    ...(error.model !== undefined && { model: error.model }),
  });
}

/**
 * The delay a `google.rpc.RetryInfo` detail asks for (`retryDelay: "29s"` or `"1.5s"`), in milliseconds.
 *
 * ## Example
 * ```ts
 * retryDelayMs([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }]); // 2500
 * ```
 *
 * @param details - Google's `error.details` array.
 * @returns Milliseconds, or `undefined` when there is no usable RetryInfo.
 */
export function retryDelayMs(details: readonly unknown[] | undefined): number | undefined {
  for (const detail of details ?? []) {
    if (typeof detail !== 'object' || detail === null) continue;
    const { '@type': type, retryDelay } = detail as { '@type'?: unknown; retryDelay?: unknown };
    if (typeof type !== 'string' || !type.endsWith('google.rpc.RetryInfo')) continue;
    const match = typeof retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(retryDelay.trim()) : null;
    if (match) return Math.round(Number(match[1]) * 1000);
  }
  return undefined;
}

/**
 * The mapper for one Gemini stream, driven by both transports.
 *
 * Emits `start` on the first chunk (named by its `modelVersion` and `responseId`); text parts as
 * `text`, `thought: true` parts as `reasoning`; each whole `functionCall` part as one `tool-call-delta`
 * (the whole arguments JSON) and one `tool-call` (id `call_<index>` when Gemini sends none). A candidate's
 * `finishReason` is the terminal marker; `usage` (the last `usageMetadata` seen) and `finish` are emitted
 * at the end of the body. A chunk with `error` throws the classified error; a blocked prompt
 * (`promptFeedback.blockReason` without candidates) throws `content_filter`; a body that ends without a
 * `finishReason` throws `incomplete`. Parts rxllm does not map (inline data, executable code) are skipped.
 *
 * ## Example
 * ```ts
 * const mapper = geminiMapper({ provider: 'gemini', model: 'gemini-2.0-flash', pricing: undefined });
 * mapper.chunk(chunk, (event) => events.push(event));
 * mapper.end((event) => events.push(event));
 * ```
 *
 * @param context - Provider, model and pricing of the call.
 * @returns A fresh mapper (one per stream).
 */
export function geminiMapper(context: MapperContext): StreamMapper<GeminiChunk> {
  const tally = answerTally(context.request);
  let started = false;
  let finishRaw: string | undefined;
  let usage: Usage | undefined;
  let toolCalls = 0;

  function part(value: GeminiPart, emit: Emit): void {
    if (typeof value !== 'object' || value === null)
      throw invalidChunk(context, 'a part that is not an object');
    const call = value.functionCall;
    if (call !== undefined && call !== null) {
      if (typeof call !== 'object') throw invalidChunk(context, 'a functionCall that is not an object');
      if (typeof call.name !== 'string' || call.name === '') {
        throw invalidChunk(context, 'a function call without a name');
      }
      const given = call.args ?? {};
      if (typeof given !== 'object' || Array.isArray(given)) {
        throw invalidChunk(context, `the arguments of function call "${call.name}" are not an object`);
      }
      const index = toolCalls++;
      const id = optionalString(call.id, 'functionCall.id', context) || `call_${index}`;
      const rawArgs = JSON.stringify(given);
      tally.add(rawArgs);
      emit({ type: 'tool-call-delta', index, id, name: call.name, argsDelta: rawArgs });
      emit({ type: 'tool-call', index, id, name: call.name, args: given, rawArgs });
      return;
    }
    const text = optionalString(value.text, 'text', context);
    if (text) {
      tally.add(text);
      emit({ type: value.thought === true ? 'reasoning' : 'text', text });
    }
  }

  return {
    chunk(chunk: GeminiChunk, emit: Emit): void {
      objectChunk<GeminiChunk>(chunk, context);
      if (chunk.error !== undefined && chunk.error !== null) {
        if (typeof chunk.error !== 'object')
          throw named(classifyFault({ message: String(chunk.error), ...context }));
        throw geminiFault(chunk.error, context.provider, context.model);
      }
      const candidates = chunk.candidates ?? [];
      if (!Array.isArray(candidates)) throw invalidChunk(context, 'candidates that are not a list');
      const candidate: GeminiCandidate | undefined = candidates[0];
      if (candidate !== undefined && (typeof candidate !== 'object' || candidate === null)) {
        throw invalidChunk(context, 'a candidate that is not an object');
      }
      const blocked = optionalString(chunk.promptFeedback?.blockReason, 'blockReason', context);
      if (candidate === undefined && blocked !== undefined) {
        const detail = optionalString(
          chunk.promptFeedback?.blockReasonMessage,
          'blockReasonMessage',
          context,
        );
        throw new LLMError(
          'content_filter',
          `${context.provider}: the prompt was blocked (${blocked})${detail ? `: ${detail}` : ''}`,
          { provider: context.provider, model: context.model },
        );
      }
      if (!started) {
        started = true;
        const id = optionalString(chunk.responseId, 'responseId', context);
        emit(startEvent(context, id, optionalString(chunk.modelVersion, 'modelVersion', context)));
      }
      if (chunk.usageMetadata) usage = mapGeminiUsage(chunk.usageMetadata, context) ?? usage;
      if (usage !== undefined) tally.reported();
      const parts = candidate?.content?.parts ?? [];
      if (!Array.isArray(parts)) throw invalidChunk(context, 'parts that are not a list');
      for (const value of parts) part(value, emit);
      const finish = optionalString(candidate?.finishReason, 'finishReason', context);
      if (finish !== undefined) finishRaw = finish;
    },
    end(emit: Emit): void {
      if (finishRaw === undefined) {
        throw new LLMError('incomplete', `${context.provider}: the stream ended without a finish reason`, {
          provider: context.provider,
          model: context.model,
        });
      }
      // No counts at all: unknown, so estimated (not 0/0).
      const final = usage ?? tally.estimate();
      emit({ type: 'usage', usage: final });
      emit({
        type: 'finish',
        ...mapGeminiFinishReason(finishRaw, toolCalls > 0),
        usage: final,
        cost: costOf(final, context.pricing),
      });
    },
  };
}
