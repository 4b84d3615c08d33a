import { lastValueFrom, type Observable, reduce } from 'rxjs';
import { LLMError } from '../core/errors.js';
import type { Cost, FinishReason, ModelRef, ToolCallEvent, TokenEvent, Usage } from '../core/events.js';
import { assertNever, ZERO_COST, ZERO_USAGE } from '../core/events.js';

/** How long a call took, measured by the collector. */
export interface Timings {
  /** Milliseconds from subscribe to the first content event. */
  readonly timeToFirstTokenMs: number | undefined;
  /** Milliseconds from subscribe to the finish. */
  readonly durationMs: number;
  /** Output tokens per second after the first token (`undefined` when it cannot be told). */
  readonly tokensPerSecond: number | undefined;
}

/** A whole answer, assembled from a stream by {@link collect}. */
export interface Completion {
  /** The whole answer. */
  readonly text: string;
  /** The whole visible reasoning, if any. */
  readonly reasoning: string;
  /** The completed tool calls, in order. */
  readonly toolCalls: readonly ToolCallEvent[];
  /** Why the answer ended, normalized. */
  readonly finishReason: FinishReason;
  /** The vendor's own finish reason. */
  readonly rawFinishReason: string | undefined;
  /** Token counts. */
  readonly usage: Usage;
  /** Cost in dollars. */
  readonly cost: Cost;
  /** The provider and model that produced the answer (the last `start`). */
  readonly provider: string;
  /** The model that answered. */
  readonly model: string;
  /** True when the answer came from the cache. */
  readonly cached: boolean;
  /** Candidates that failed before this one answered. */
  readonly failures: readonly {
    /** The candidate that failed. */
    readonly from: ModelRef;
    /** Why it failed. */
    readonly error: LLMError;
  }[];
  /** How fast it was. */
  readonly timings: Timings;
}

interface Acc {
  text: string;
  reasoning: string;
  toolCalls: ToolCallEvent[];
  finish: Extract<TokenEvent, { type: 'finish' }> | undefined;
  start: Extract<TokenEvent, { type: 'start' }> | undefined;
  failures: { from: ModelRef; error: LLMError }[];
  firstTokenAt: number | undefined;
}

function step(acc: Acc, event: TokenEvent, now: () => number): Acc {
  switch (event.type) {
    case 'start':
      acc.start = event;
      break;
    case 'text':
      acc.firstTokenAt ??= now();
      acc.text += event.text;
      break;
    case 'reasoning':
      acc.firstTokenAt ??= now();
      acc.reasoning += event.text;
      break;
    case 'tool-call-delta':
      acc.firstTokenAt ??= now();
      break;
    case 'tool-call':
      acc.firstTokenAt ??= now();
      acc.toolCalls.push(event);
      break;
    case 'finish':
      acc.finish = event;
      break;
    case 'reset':
      acc.failures.push({ from: event.from, error: event.error });
      acc.text = '';
      acc.reasoning = '';
      acc.toolCalls = [];
      acc.firstTokenAt = undefined;
      break;
    case 'fallback':
      acc.failures.push({ from: event.from, error: event.error });
      break;
    case 'object':
    case 'element':
    case 'tool-result':
    case 'tool-approval':
    case 'step':
    case 'usage':
    case 'route':
      break;
    default:
      assertNever(event);
  }
  return acc;
}

/**
 * Consumes a stream into one {@link Completion}, with timings.
 *
 * Rejects with the stream's `LLMError`; a stream that completes without a `finish` rejects with an
 * `incomplete` error, never a partial success.
 *
 * @example
 * const done = await collect(gpt.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
 * console.log(done.text, done.usage.outputTokens, done.cost.total, done.timings.timeToFirstTokenMs);
 *
 * @param stream The events of one call.
 * @param clock The clock of the timings. Default `performance.now`.
 * @returns The completion; rejects with the stream's `LLMError`, or `incomplete` when it ended without `finish`.
 */
export async function collect(
  stream: Observable<TokenEvent>,
  clock: () => number = () => performance.now(),
): Promise<Completion> {
  const startedAt = clock();
  const seed: Acc = {
    text: '',
    reasoning: '',
    toolCalls: [],
    finish: undefined,
    start: undefined,
    failures: [],
    firstTokenAt: undefined,
  };
  const acc = await lastValueFrom(stream.pipe(reduce((a, e: TokenEvent) => step(a, e, clock), seed)), {
    defaultValue: seed,
  });
  const endedAt = clock();
  const { finish, start } = acc;
  if (!finish) {
    throw new LLMError('incomplete', 'The stream completed without a finish event', {
      ...(start && { provider: start.provider, model: start.model }),
    });
  }
  const generating = acc.firstTokenAt === undefined ? 0 : endedAt - acc.firstTokenAt;
  return {
    text: acc.text,
    reasoning: acc.reasoning,
    toolCalls: acc.toolCalls,
    finishReason: finish.reason,
    rawFinishReason: finish.raw,
    usage: finish.usage ?? ZERO_USAGE,
    cost: finish.cost ?? ZERO_COST,
    provider: start?.provider ?? 'unknown',
    model: start?.model ?? 'unknown',
    cached: start?.cached === true,
    failures: acc.failures,
    timings: {
      timeToFirstTokenMs: acc.firstTokenAt === undefined ? undefined : acc.firstTokenAt - startedAt,
      durationMs: endedAt - startedAt,
      tokensPerSecond:
        generating > 0 && finish.usage.outputTokens > 0
          ? (finish.usage.outputTokens * 1000) / generating
          : undefined,
    },
  };
}
