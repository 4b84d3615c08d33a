/**
 * rxllm events as OpenAI chat completion chunks (streaming) and one chat completion (not streaming).
 * Events OpenAI has no chunk for (`route`, `fallback`, `reset`) travel as SSE comments (`: rxllm {...}`),
 * which every SSE parser skips, so OpenAI clients ignore them safely and rxllm-aware clients can read them.
 */
import type { LLMError } from '../../core/errors.js';
import { assertNever, type FinishReason, type TokenEvent, type Usage } from '../../core/events.js';
import type { Completion } from '../../helpers/collect.js';
import { openaiError } from './errors.js';

/** What every chunk of one answer repeats. */
export interface ChunkIdentity {
  readonly id: string;
  readonly created: number;
  /** The `model` the client asked for, until the stream says which model answers. */
  readonly model: string;
}

/** OpenAI's `finish_reason` for rxllm's normalized reason. */
export function finishReasonOf(reason: FinishReason): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (reason) {
    case 'stop':
    case 'other':
      return 'stop';
    case 'length':
    case 'budget': // the budget cut the answer short, as a token limit would
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return assertNever(reason);
  }
}

/** OpenAI's `usage` object. */
export function usageOf(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

const data = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;

/** The final SSE line of an OpenAI stream. */
export const DONE_FRAME = 'data: [DONE]\n\n';

/**
 * A stateful mapper from one call's events to SSE frames of chat completion chunks: a first chunk with the
 * role, one per text / reasoning / tool-call piece, one with the finish reason, then (with `includeUsage`)
 * one with `usage` and no choices, then `[DONE]`.
 */
export function chunkWriter(identity: ChunkIdentity, includeUsage: boolean) {
  let model = identity.model;
  /** Tool calls whose pieces were streamed, so their complete `tool-call` event adds nothing. */
  const streamed = new Set<number>();
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
    data({
      id: identity.id,
      object: 'chat.completion.chunk',
      created: identity.created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  const comment = (event: TokenEvent): string => `: rxllm ${JSON.stringify(event)}\n\n`;
  return {
    open: (): string => chunk({ role: 'assistant', content: '' }),
    event(event: TokenEvent): string {
      switch (event.type) {
        case 'start':
          model = event.model;
          return '';
        case 'text':
          return chunk({ content: event.text });
        case 'reasoning':
          // DeepSeek's field, read by clients that show reasoning; others ignore unknown delta fields.
          return chunk({ reasoning_content: event.text });
        case 'tool-call-delta': {
          const first = !streamed.has(event.index);
          streamed.add(event.index);
          return chunk({
            tool_calls: [
              {
                index: event.index,
                ...(event.id !== undefined && { id: event.id }),
                ...(first && { type: 'function' }),
                function: {
                  ...(event.name !== undefined && { name: event.name }),
                  arguments: event.argsDelta,
                },
              },
            ],
          });
        }
        case 'tool-call':
          if (streamed.has(event.index)) return '';
          streamed.add(event.index);
          return chunk({
            tool_calls: [
              {
                index: event.index,
                id: event.id,
                type: 'function',
                function: { name: event.name, arguments: event.rawArgs },
              },
            ],
          });
        case 'usage':
          return '';
        case 'finish': {
          const last = chunk({}, finishReasonOf(event.reason));
          if (!includeUsage) return last;
          return (
            last +
            data({
              id: identity.id,
              object: 'chat.completion.chunk',
              created: identity.created,
              model,
              choices: [],
              usage: usageOf(event.usage),
            })
          );
        }
        case 'route':
        case 'fallback':
        case 'reset':
          return comment(event);
        // Structured output and tool loops are derived by the caller's own operators (`streamObject`,
        // `runTools`): the chat completions API has no chunk for them, and its clients build their own.
        case 'object':
        case 'element':
        case 'tool-result':
        case 'tool-approval':
        case 'step':
          return '';
        default:
          return assertNever(event);
      }
    },
    /** OpenAI streams fail with a `data: {"error": …}` line, which the openai SDK raises as an APIError. */
    fail: (error: LLMError): string => data(openaiError(error).body),
    end: (): string => DONE_FRAME,
  };
}

/** One chat completion object for a finished call, with rxllm's own figures in an extra field. */
export function completionOf(identity: ChunkIdentity, done: Completion): Record<string, unknown> {
  const toolCalls = done.toolCalls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.rawArgs },
  }));
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: done.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: done.text === '' && toolCalls.length > 0 ? null : done.text,
          refusal: null,
          ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
          ...(done.reasoning && { reasoning_content: done.reasoning }),
        },
        logprobs: null,
        finish_reason: finishReasonOf(done.finishReason),
      },
    ],
    usage: usageOf(done.usage),
    rxllm: {
      provider: done.provider,
      cost: done.cost.total,
      cached: done.cached,
      failures: done.failures.map((f) => ({ ...f.from, kind: f.error.kind })),
    },
  };
}
