import { costOf } from '../../core/catalog.js';
import { LLMError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/events.js';
import { answerPiece, answerTally, type AnswerTally } from '../shared/estimateUsage.js';
import { startEvent, type Emit, type MapperContext, type StreamMapper } from '../shared/run.js';
import { invalidChunk, objectChunk, optionalString, tokenCount, type Source } from '../shared/validate.js';
import type { OllamaChatChunk, OllamaToolCall } from './chunks.js';
import { streamFault } from './errors.js';

/**
 * Ollama's `done_reason` → the normalized finish reason, keeping the raw value.
 *
 * Intuition: Ollama says `stop` for a tool call too, so whether tools were called decides.
 *
 * | done_reason | reason |
 * |---|---|
 * | `stop` (or none, from servers older than `done_reason`) | `stop`, or `tool-calls` if the stream held tool calls |
 * | `length` | `length` |
 * | `load`, `unload`, anything else | `other` |
 *
 * ## Example
 * ```ts
 * mapDoneReason('length', false); // { reason: 'length', raw: 'length' }
 * mapDoneReason('stop', true); // { reason: 'tool-calls', raw: 'stop' }
 * ```
 *
 * @param raw The chunk's `done_reason`.
 * @param calledTools Whether the stream carried at least one tool call.
 * @returns The reason and the raw value.
 */
export function mapDoneReason(
  raw: string | undefined,
  calledTools: boolean,
): { readonly reason: FinishReason; readonly raw?: string } {
  const withRaw = <R extends FinishReason>(reason: R) => (raw === undefined ? { reason } : { reason, raw });
  if (raw === undefined || raw === 'stop') return withRaw(calledTools ? 'tool-calls' : 'stop');
  if (raw === 'length') return withRaw('length');
  return withRaw('other');
}

/**
 * Ollama's token counts → normalized usage: `prompt_eval_count` is the input, `eval_count` the output.
 * A count Ollama left out (it omits `prompt_eval_count` when the prompt was all cached) is unknown, not 0:
 * it is estimated by `estimate` and the usage marked `estimated: true`. A count that is not a
 * non-negative integer is an `invalid_response` error.
 *
 * ## Example
 * ```ts
 * mapUsage({ done: true, prompt_eval_count: 32, eval_count: 24 }, source, tally); // { inputTokens: 32, outputTokens: 24 }
 * ```
 *
 * @param chunk The final (`done: true`) chunk.
 * @param source Provider and model, for errors.
 * @param tally The answer so far, to estimate a missing count from.
 * @returns The usage it reports.
 */
export function mapUsage(chunk: OllamaChatChunk, source: Source, tally: AnswerTally): Usage {
  const input = tokenCount(chunk.prompt_eval_count, 'prompt_eval_count', source);
  const output = tokenCount(chunk.eval_count, 'eval_count', source);
  if (input !== undefined && output !== undefined) return { inputTokens: input, outputTokens: output };
  return tally.estimate({
    ...(input !== undefined && { inputTokens: input }),
    ...(output !== undefined && { outputTokens: output }),
  });
}

/**
 * The mapper for one Ollama `/api/chat` stream, driven by both transports.
 *
 * Emits `start` on the first line; `message.thinking` as `reasoning` and `message.content` as `text`;
 * each whole tool call as one `tool-call-delta` and one `tool-call` (id `call_<index>` when Ollama sends
 * none; a call without a name is `invalid_response`); on the `done: true` line the `usage`, then at the
 * end the `finish`. A line `{"error": …}` throws the classified error; a line that is not an object, or a
 * field of the wrong type, is `invalid_response`; a body without a `done` line is `incomplete`.
 *
 * ## Example
 * ```ts
 * const map = createOllamaMapper({ provider: 'ollama', model: 'llama3.2', pricing: undefined });
 * map.chunk({ model: 'llama3.2', message: { role: 'assistant', content: 'Hi' }, done: false }, emit);
 * ```
 *
 * @param context The provider, model, pricing and request of the call.
 * @returns A fresh mapper (one per stream).
 */
export function createOllamaMapper(context: MapperContext): StreamMapper<OllamaChatChunk> {
  let started = false;
  let toolCalls = 0;
  let final: { readonly usage: Usage; readonly raw: string | undefined } | undefined;
  const source = { provider: context.provider, model: context.model };
  const tally = answerTally(context.request);

  function toolCall(call: OllamaToolCall, emit: Emit): void {
    if (typeof call !== 'object' || call === null)
      throw invalidChunk(source, 'a tool call that is not an object');
    const fn = call.function as OllamaToolCall['function'] | null | undefined;
    if (typeof fn !== 'object' || fn === null) throw invalidChunk(source, 'a tool call without its function');
    const name = optionalString(fn.name, 'function.name', source);
    if (!name) throw invalidChunk(source, 'a tool call without a name');
    const index = toolCalls++;
    const id = optionalString(call.id, 'id', source) || `call_${index}`;
    const raw = fn.arguments as unknown;
    if (
      raw !== undefined &&
      raw !== null &&
      typeof raw !== 'string' &&
      (typeof raw !== 'object' || Array.isArray(raw))
    ) {
      throw invalidChunk(source, `the arguments of tool call ${name} are not an object`);
    }
    const rawArgs = typeof raw === 'string' ? raw : JSON.stringify(raw ?? {});
    let args: unknown = raw ?? {};
    if (typeof raw === 'string') {
      try {
        args = JSON.parse(raw);
      } catch {
        throw invalidChunk(source, `tool call ${name} has arguments that are not JSON`);
      }
    }
    tally.add(rawArgs);
    emit({ type: 'tool-call-delta', index, id, name, argsDelta: rawArgs });
    emit({ type: 'tool-call', index, id, name, args, rawArgs });
  }

  // `done` is a plain field, set with `final`: the transports read it once per frame.
  const mapper: StreamMapper<OllamaChatChunk> & { done: boolean } = {
    done: false,
    chunk(chunk, emit) {
      objectChunk<OllamaChatChunk>(chunk, source);
      // Any `error` field, as the SDK tests it (`"error" in line`), so both transports agree.
      if ('error' in chunk) throw streamFault(String(chunk.error), source);
      if (!started) {
        started = true;
        emit(startEvent(context, undefined, optionalString(chunk.model, 'model', source) || undefined));
      }
      const message = chunk.message;
      if (message !== undefined && message !== null) {
        if (typeof message !== 'object') throw invalidChunk(source, 'a message that is not an object');
        const thinking = answerPiece(tally, message.thinking, 'thinking', source);
        if (thinking) emit({ type: 'reasoning', text: thinking });
        const content = answerPiece(tally, message.content, 'content', source);
        if (content) emit({ type: 'text', text: content });
        // Most chunks carry no tool calls: skip the loop rather than iterate a fresh empty array per token.
        const calls = message.tool_calls;
        if (calls !== undefined && calls !== null) {
          if (!Array.isArray(calls)) throw invalidChunk(source, 'tool_calls that are not a list');
          for (const call of calls) toolCall(call, emit);
        }
      }
      if (chunk.done === true) {
        const usage = mapUsage(chunk, source, tally);
        final = { usage, raw: optionalString(chunk.done_reason, 'done_reason', source) };
        mapper.done = true;
        emit({ type: 'usage', usage });
      }
    },
    end(emit) {
      if (final === undefined) {
        throw new LLMError(
          'incomplete',
          `${context.provider}: the stream ended before its final chunk`,
          source,
        );
      }
      const { reason, raw } = mapDoneReason(final.raw, toolCalls > 0);
      emit({
        type: 'finish',
        reason,
        ...(raw !== undefined && { raw }),
        usage: final.usage,
        cost: costOf(final.usage, context.pricing),
      });
    },
  };
  return mapper;
}
