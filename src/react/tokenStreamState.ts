import { type Catalog, costOf, defaultCatalog } from '../core/catalog.js';
import type { LLMError } from '../core/errors.js';
import {
  assertNever,
  type FallbackEvent,
  type FinishReason,
  type ResetEvent,
  type RouteEvent,
  type StepEvent,
  type TokenEvent,
  type ToolApprovalEvent,
  type ToolCallEvent,
  type ToolResultEvent,
  type Usage,
} from '../core/events.js';

/**
 * Where a rendered stream stands.
 *
 * - `idle`: no stream was given.
 * - `streaming`: a stream was given and has not ended (including the moment before the first event).
 * - `done`: the stream completed.
 * - `error`: the stream failed; `error` says why.
 * - `stopped`: the stream was stopped (by `stop()`, or because nobody watched it any longer) before it ended.
 *
 * ## Example
 * ```ts
 * const busy = (status: StreamStatus) => status === 'streaming';
 * ```
 */
export type StreamStatus = 'idle' | 'streaming' | 'done' | 'error' | 'stopped';

/**
 * What a UI shows of a token stream at one moment: an immutable snapshot, replaced (never mutated) on every
 * change.
 *
 * ## Example
 * ```ts
 * const view: TokenStreamState = createStreamStore(gpt.stream(request)).getSnapshot();
 * document.title = `${view.provider ?? '…'}: ${view.text} ($${view.cost.toFixed(6)})`;
 * ```
 */
export interface TokenStreamState {
  /** Where the stream is: `idle`, `streaming`, `done`, `error` or `stopped`. */
  readonly status: StreamStatus;
  /** The answer's text so far. Cleared by a `reset` event (a fallback that restarted the answer). */
  readonly text: string;
  /** The visible reasoning so far (cleared by `reset` too). */
  readonly reasoning: string;
  /** Complete tool calls so far (cleared by `reset` too). */
  readonly toolCalls: readonly ToolCallEvent[];
  /** The latest value of a `streamObject()` stream: growing, then complete (cleared by `reset`). */
  readonly object?: unknown;
  /** True once `object` is the complete, validated value. */
  readonly objectDone: boolean;
  /** Complete elements of a `streamObject()` stream in element mode (cleared by `reset`). */
  readonly elements: readonly unknown[];
  /** Results of the tools a `runTools()` loop ran, in order. */
  readonly toolResults: readonly ToolResultEvent[];
  /** Tool calls waiting for the caller's approval (removed once their result arrives). */
  readonly approvals: readonly ToolApprovalEvent[];
  /** The model calls of a `runTools()` loop that ended. */
  readonly steps: readonly StepEvent[];
  /** Provider of the latest `start`: the one answering now. */
  readonly provider?: string;
  /** Model of the latest `start`. */
  readonly model?: string;
  /** True when the latest `start` was a cache replay. */
  readonly cached: boolean;
  /** The routing decision, when the pipeline routes. */
  readonly route?: RouteEvent;
  /** Every provider switch seen, in order: `fallback` (before content) and `reset` (after content). */
  readonly fallbacks: readonly (FallbackEvent | ResetEvent)[];
  /** How many `reset` events cleared the answer. */
  readonly resets: number;
  /** The answering attempt's latest usage (from `usage` events, then from `finish`). */
  readonly usage?: Usage;
  /** The finish reason, once the `finish` event arrived. */
  readonly finishReason?: FinishReason;
  /**
   * Running cost in US dollars. Exact once `finish` arrived (its `cost`); before that an estimate at the
   * answering model's catalog price, of the input tokens the vendor reported so far and of the larger of
   * the reported output tokens and the output streamed so far at 4 characters a token. Attempts voided by a
   * `reset` were billed too: their estimate stays in the total. Fallbacks before content cost nothing here.
   */
  readonly cost: number;
  /** False only when `cost` is exactly the vendor-reported cost (a `finish` arrived and no attempt was reset). */
  readonly costIsEstimate: boolean;
  /** Why the stream failed, when `status` is `error`. */
  readonly error?: LLMError;
}

/**
 * The snapshot of no stream: status `idle`, no text, no cost.
 *
 * ## Example
 * ```ts
 * createStreamStore(null).getSnapshot() === IDLE_STATE; // true
 * ```
 */
export const IDLE_STATE: TokenStreamState = Object.freeze({
  status: 'idle',
  text: '',
  reasoning: '',
  toolCalls: Object.freeze([]) as readonly ToolCallEvent[],
  objectDone: false,
  elements: Object.freeze([]) as readonly unknown[],
  toolResults: Object.freeze([]) as readonly ToolResultEvent[],
  approvals: Object.freeze([]) as readonly ToolApprovalEvent[],
  steps: Object.freeze([]) as readonly StepEvent[],
  cached: false,
  fallbacks: Object.freeze([]) as readonly (FallbackEvent | ResetEvent)[],
  resets: 0,
  cost: 0,
  costIsEstimate: true,
});

/**
 * The running state behind a snapshot: the snapshot plus what the cost estimate needs.
 * A value; {@link reduceTokenStream} returns a new one for every event.
 *
 * ## Example
 * ```ts
 * const progress: TokenStreamProgress = reduceTokenStream(initialProgress(), { type: 'text', text: 'Hi' });
 * progress.view.text; // 'Hi'
 * ```
 */
export interface TokenStreamProgress {
  /** What the UI shows now. */
  readonly view: TokenStreamState;
  /** Characters of content streamed by the answering attempt. */
  readonly attemptChars: number;
  /** Estimated cost of attempts voided by `reset`. */
  readonly voidedCost: number;
  /** Cost of the ended steps of a tool loop (its `finish` carries them all). */
  readonly stepsCost?: number;
}

/**
 * Options of the reducer and of the stores built on it.
 *
 * ## Example
 * ```ts
 * const options: TokenStreamStateOptions = { catalog: createCatalog([myModelSpec]) };
 * ```
 */
export interface TokenStreamStateOptions {
  /** Where prices for the running estimate are looked up. Default `defaultCatalog`. */
  readonly catalog?: Catalog;
}

/**
 * The progress of a stream that was just given (status `streaming`, nothing received).
 *
 * ## Example
 * ```ts
 * let progress = initialProgress();
 * for (const event of await lastValueFrom(gpt.stream(request).pipe(toArray()))) progress = reduceTokenStream(progress, event);
 * ```
 *
 * @returns The progress of a stream with nothing received.
 */
export function initialProgress(): TokenStreamProgress {
  return { view: { ...IDLE_STATE, status: 'streaming' }, attemptChars: 0, voidedCost: 0 };
}

/**
 * Folds one event into the progress of a stream: the pure heart of {@link createStreamStore}.
 * Think `scan()` with a reducer that knows what a UI shows: `reset` clears, `start` names the provider,
 * `finish` settles the cost.
 *
 * ## Example
 * ```ts
 * const view$ = gpt.stream(request).pipe(scan((p, e) => reduceTokenStream(p, e), initialProgress()), map((p) => p.view));
 * ```
 *
 * @param progress The progress so far.
 * @param event The next event.
 * @param options Where prices come from.
 * @returns The new progress (a new object; the old one is untouched).
 */
export function reduceTokenStream(
  progress: TokenStreamProgress,
  event: TokenEvent,
  options: TokenStreamStateOptions = {},
): TokenStreamProgress {
  const { view } = progress;
  switch (event.type) {
    case 'start':
      return estimate(
        {
          view: {
            ...view,
            provider: event.provider,
            model: event.model,
            cached: event.cached === true,
            usage: undefined,
          },
          attemptChars: 0,
          voidedCost: progress.voidedCost,
          stepsCost: progress.stepsCost ?? 0,
        },
        options,
      );
    case 'text':
      return estimate(
        {
          ...progress,
          view: { ...view, text: view.text + event.text },
          attemptChars: progress.attemptChars + event.text.length,
        },
        options,
      );
    case 'reasoning':
      return estimate(
        {
          ...progress,
          view: { ...view, reasoning: view.reasoning + event.text },
          attemptChars: progress.attemptChars + event.text.length,
        },
        options,
      );
    case 'tool-call-delta':
      return estimate({ ...progress, attemptChars: progress.attemptChars + event.argsDelta.length }, options);
    case 'tool-call':
      return { ...progress, view: { ...view, toolCalls: [...view.toolCalls, event] } };
    case 'usage':
      return estimate({ ...progress, view: { ...view, usage: event.usage } }, options);
    case 'finish':
      return {
        ...progress,
        view: {
          ...view,
          usage: event.usage,
          finishReason: event.reason,
          cost: progress.voidedCost + event.cost.total,
          costIsEstimate: progress.voidedCost > 0,
        },
      };
    case 'fallback':
      return { ...progress, view: { ...view, fallbacks: [...view.fallbacks, event] } };
    case 'reset':
      return {
        view: {
          ...view,
          text: '',
          reasoning: '',
          toolCalls: [],
          object: undefined,
          objectDone: false,
          elements: [],
          usage: undefined,
          fallbacks: [...view.fallbacks, event],
          resets: view.resets + 1,
        },
        attemptChars: 0,
        // The voided attempt was billed: keep its estimate (the view's cost) in the running total.
        voidedCost: view.cost - (progress.stepsCost ?? 0),
        stepsCost: progress.stepsCost ?? 0,
      };
    case 'route':
      return { ...progress, view: { ...view, route: event } };
    case 'object':
      return { ...progress, view: { ...view, object: event.value, objectDone: !event.partial } };
    case 'element':
      return { ...progress, view: { ...view, elements: [...view.elements, event.value] } };
    case 'tool-approval':
      return { ...progress, view: { ...view, approvals: [...view.approvals, event] } };
    case 'tool-result':
      return {
        ...progress,
        view: {
          ...view,
          toolResults: [...view.toolResults, event],
          approvals: view.approvals.filter((a) => a.id !== event.id),
        },
      };
    case 'step':
      return estimate(
        {
          view: { ...view, steps: [...view.steps, event], usage: undefined },
          attemptChars: 0,
          voidedCost: progress.voidedCost,
          stepsCost: (progress.stepsCost ?? 0) + event.cost.total,
        },
        options,
      );
    default:
      return assertNever(event);
  }
}

/** The progress with `view.cost` re-estimated for the answering attempt. */
function estimate(progress: TokenStreamProgress, options: TokenStreamStateOptions): TokenStreamProgress {
  const { view } = progress;
  const catalog = options.catalog ?? defaultCatalog;
  const pricing =
    view.provider !== undefined && view.model !== undefined
      ? catalog.get(view.provider, view.model)?.pricing
      : undefined;
  const reported = view.usage;
  const usage: Usage = {
    inputTokens: reported?.inputTokens ?? 0,
    outputTokens: Math.max(reported?.outputTokens ?? 0, Math.ceil(progress.attemptChars / 4)),
    ...(reported?.cachedInputTokens !== undefined && { cachedInputTokens: reported.cachedInputTokens }),
  };
  return {
    ...progress,
    view: {
      ...view,
      cost: progress.voidedCost + (progress.stepsCost ?? 0) + costOf(usage, pricing).total,
      costIsEstimate: true,
    },
  };
}
