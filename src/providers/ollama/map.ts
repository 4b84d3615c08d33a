import { costOf } from '../../core/catalog.js';
import { LLMError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/events.js';
import { startEvent, type Emit, type MapperContext, type StreamMapper } from '../shared/run.js';
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
 * A count Ollama left out (it omits `prompt_eval_count` when the prompt was all cached) counts as 0.
 *
 * ## Example
 * ```ts
 * mapUsage({ done: true, prompt_eval_count: 32, eval_count: 24 }); // { inputTokens: 32, outputTokens: 24 }
 * ```
 *
 * @param chunk The final (`done: true`) chunk.
 * @returns The usage it reports.
 */
export function mapUsage(chunk: OllamaChatChunk): Usage {
  return { inputTokens: chunk.prompt_eval_count ?? 0, outputTokens: chunk.eval_count ?? 0 };
}

/**
 * The mapper for one Ollama chat stream (both transports drive it).
 *
 * Intuition: every NDJSON line is a complete piece: `content` is text, `thinking` reasoning, and each
 * tool call arrives whole, so it becomes one `tool-call-delta` with all its arguments and one
 * `tool-call`. The `done: true` line carries the usage; `finish` follows when the body ends.
 *
 * - `start` on the first chunk, naming the model the server reports.
 * - Tool calls get ids `call_<index>` unless the server sent one; `index` counts calls over the stream.
 * - An `{"error": …}` line throws {@link streamFault}; `end()` before `done: true` throws `incomplete`.
 *
 * ## Example
 * ```ts
 * const map = createOllamaMapper({ provider: 'ollama', model: 'llama3.2', pricing: undefined });
 * const events: TokenEvent[] = [];
 * for (const line of ndjson.split('\n').filter(Boolean)) map.chunk(JSON.parse(line), (e) => events.push(e));
 * map.end((e) => events.push(e));
 * ```
 *
 * @param context Provider, model and pricing (for the cost on `finish`).
 * @returns A fresh mapper; use one per stream.
 */
export function createOllamaMapper(context: MapperContext): StreamMapper<OllamaChatChunk> {
  let started = false;
  let toolCalls = 0;
  let final: OllamaChatChunk | undefined;
  const source = { provider: context.provider, model: context.model };

  function toolCall(call: OllamaToolCall, emit: Emit): void {
    const index = toolCalls++;
    const id = call.id ?? `call_${index}`;
    const name = call.function.name;
    const raw = call.function.arguments;
    const rawArgs = typeof raw === 'string' ? raw : JSON.stringify(raw ?? {});
    let args: unknown = raw ?? {};
    if (typeof raw === 'string') {
      try {
        args = JSON.parse(raw);
      } catch {
        throw new LLMError(
          'invalid_response',
          `${context.provider}: tool call ${name} has arguments that are not JSON`,
          source,
        );
      }
    }
    emit({ type: 'tool-call-delta', index, id, name, argsDelta: rawArgs });
    emit({ type: 'tool-call', index, id, name, args, rawArgs });
  }

  // `done` is a plain field, set with `final`: the transports read it once per frame.
  const mapper: StreamMapper<OllamaChatChunk> & { done: boolean } = {
    done: false,
    chunk(chunk, emit) {
      if (typeof chunk.error === 'string') throw streamFault(chunk.error, source);
      if (!started) {
        started = true;
        emit(startEvent(context, undefined, chunk.model || undefined));
      }
      const message = chunk.message;
      if (message?.thinking) emit({ type: 'reasoning', text: message.thinking });
      if (message?.content) emit({ type: 'text', text: message.content });
      // Most chunks carry no tool calls: skip the loop rather than iterate a fresh empty array per token.
      const calls = message?.tool_calls;
      if (calls) for (const call of calls) toolCall(call, emit);
      if (chunk.done === true) {
        final = chunk;
        mapper.done = true;
        emit({ type: 'usage', usage: mapUsage(chunk) });
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
      const usage = mapUsage(final);
      const { reason, raw } = mapDoneReason(final.done_reason, toolCalls > 0);
      emit({
        type: 'finish',
        reason,
        ...(raw !== undefined && { raw }),
        usage,
        cost: costOf(usage, context.pricing),
      });
    },
  };
  return mapper;
}
