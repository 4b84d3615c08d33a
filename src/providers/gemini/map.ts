import { costOf } from '../../core/catalog.js';
import { classifyFault } from '../../core/classify.js';
import { LLMError } from '../../core/errors.js';
import { ZERO_USAGE, type FinishReason, type Usage } from '../../core/events.js';
import { startEvent, type Emit, type MapperContext, type StreamMapper } from '../shared/run.js';
import type { GeminiChunk, GeminiErrorBody, GeminiUsageMetadata } from './chunks.js';

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
 * @returns Normalized usage.
 */
export function mapGeminiUsage(meta: GeminiUsageMetadata): Usage {
  const thoughts = meta.thoughtsTokenCount;
  return {
    inputTokens: (meta.promptTokenCount ?? 0) + (meta.toolUsePromptTokenCount ?? 0),
    outputTokens: (meta.candidatesTokenCount ?? 0) + (thoughts ?? 0),
    ...(meta.cachedContentTokenCount !== undefined && { cachedInputTokens: meta.cachedContentTokenCount }),
    ...(thoughts !== undefined && { reasoningTokens: thoughts }),
  };
}

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
  const retryAfterMs = retryDelayMs(error.details);
  const classified = classifyFault({
    ...(typeof error.code === 'number' && { status: error.code }),
    ...(typeof error.status === 'string' && { code: error.status }),
    message: error.message ?? 'unknown error',
    provider,
    model,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
  return refineGeminiError(classified);
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
  let started = false;
  let finishRaw: string | undefined;
  let usage: Usage | undefined;
  let toolCalls = 0;
  return {
    chunk(chunk: GeminiChunk, emit: Emit): void {
      if (typeof chunk.error === 'object' && chunk.error !== null) {
        throw geminiFault(chunk.error, context.provider, context.model);
      }
      const candidate = chunk.candidates?.[0];
      const blocked = chunk.promptFeedback?.blockReason;
      if (candidate === undefined && blocked !== undefined) {
        const detail = chunk.promptFeedback?.blockReasonMessage;
        throw new LLMError(
          'content_filter',
          `${context.provider}: the prompt was blocked (${blocked})${detail ? `: ${detail}` : ''}`,
          { provider: context.provider, model: context.model },
        );
      }
      if (!started) {
        started = true;
        emit(startEvent(context, chunk.responseId, chunk.modelVersion));
      }
      if (chunk.usageMetadata) usage = mapGeminiUsage(chunk.usageMetadata);
      for (const part of candidate?.content?.parts ?? []) {
        const call = part.functionCall;
        if (call !== undefined) {
          const index = toolCalls++;
          const id = call.id ?? `call_${index}`;
          const args = call.args ?? {};
          const rawArgs = JSON.stringify(args);
          emit({ type: 'tool-call-delta', index, id, name: call.name, argsDelta: rawArgs });
          emit({ type: 'tool-call', index, id, name: call.name, args, rawArgs });
        } else if (typeof part.text === 'string' && part.text !== '') {
          emit({ type: part.thought === true ? 'reasoning' : 'text', text: part.text });
        }
      }
      if (candidate?.finishReason !== undefined) finishRaw = candidate.finishReason;
    },
    end(emit: Emit): void {
      if (finishRaw === undefined) {
        throw new LLMError('incomplete', `${context.provider}: the stream ended without a finish reason`, {
          provider: context.provider,
          model: context.model,
        });
      }
      const final = usage ?? ZERO_USAGE;
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
