import { costOf, type Pricing } from '../core/catalog.js';
import { assertNever, type ModelRef, type TokenEvent, type Usage } from '../core/events.js';
import type { ChatRequest } from '../core/request.js';
import type { TokenEstimator } from '../routing/estimate.js';

/** What a {@link Meter} needs to price a call. */
export interface MeterOptions {
  readonly request: ChatRequest;
  readonly estimator: TokenEstimator;
  /** Prices of a model; `undefined` when unknown (the call then costs what its `finish` says, else 0). */
  readonly pricing: (model: ModelRef) => Pricing | undefined;
  /** The model assumed until a `start` names one. */
  readonly model: ModelRef;
}

/** A call's spend so far, as a {@link Meter} sees it. */
export interface MeterReading {
  /** The model of the current attempt (the last `start`, else the assumed one). */
  readonly model: ModelRef;
  /** Usage of the current attempt: reported where the vendor reported it, estimated otherwise. */
  readonly usage: Usage;
  /** Dollars of the current attempt. */
  readonly attemptCost: number;
  /** Dollars of the whole call: earlier attempts voided by a `reset` plus the current one. */
  readonly totalCost: number;
  /** True when some of the usage was estimated rather than reported. */
  readonly estimated: boolean;
  /** A `finish` arrived for the current attempt. */
  readonly finished: boolean;
  /** Content reached the subscriber in this call. */
  readonly content: boolean;
}

/**
 * Follows a call's events and tells what it has cost so far. This is how a call the subscriber
 * abandons, or one cut by a budget, is still charged for what was generated.
 *
 * - A `finish` is authoritative: its cost (or, when the vendor's catalog had no price, its usage at ours).
 * - Before that: reported `usage` where there is one; otherwise the prompt estimate (once content has
 *   streamed) and the streamed text, reasoning and tool arguments counted with the estimator.
 * - An attempt that streamed no content and reported no usage costs nothing (an error status, an
 *   overloaded error before the first token).
 * - A `reset` closes the attempt (its cost stays in the total) and starts a new one.
 */
export interface Meter {
  observe(event: TokenEvent): void;
  read(): MeterReading;
}

interface Attempt {
  model: ModelRef;
  reported: Usage | undefined;
  streamedTokens: number;
  content: boolean;
  finish: Extract<TokenEvent, { type: 'finish' }> | undefined;
}

/** Creates a {@link Meter} for one call. */
export function createMeter(options: MeterOptions): Meter {
  const { request, estimator, pricing } = options;
  let closedCost = 0;
  let anyContent = false;
  let attempt: Attempt = fresh(options.model);

  const usageOf = (a: Attempt): { usage: Usage; estimated: boolean } => {
    if (a.finish) return { usage: a.finish.usage, estimated: false };
    if (!a.content && !a.reported) return { usage: { inputTokens: 0, outputTokens: 0 }, estimated: false };
    const inputTokens = a.reported?.inputTokens ?? estimator.promptTokens(request, a.model);
    const outputTokens = Math.max(a.reported?.outputTokens ?? 0, a.streamedTokens);
    return {
      usage: { ...a.reported, inputTokens, outputTokens },
      estimated: a.reported === undefined || a.streamedTokens > a.reported.outputTokens,
    };
  };
  /** A content event: `text` is what it streamed (counted), empty for a whole tool call. */
  const content = (text: string): void => {
    attempt.content = true;
    anyContent = true;
    if (text) attempt.streamedTokens += estimator.count(text, attempt.model);
  };
  const costOfAttempt = (a: Attempt, usage: Usage): number => {
    if (a.finish && (a.finish.cost.total > 0 || !pricing(a.model))) return a.finish.cost.total;
    return costOf(usage, pricing(a.model)).total;
  };

  return {
    observe(event) {
      // One switch per event: this runs for every streamed piece of every budgeted call.
      switch (event.type) {
        case 'text':
        case 'reasoning':
          return content(event.text);
        case 'tool-call-delta':
          return content(event.argsDelta);
        case 'tool-call':
          return content('');
        case 'start':
          if (attempt.content || attempt.reported)
            closedCost += costOfAttempt(attempt, usageOf(attempt).usage);
          attempt = fresh({ provider: event.provider, model: event.model });
          return;
        case 'reset':
          closedCost += costOfAttempt(attempt, usageOf(attempt).usage);
          attempt = fresh(attempt.model);
          return;
        case 'usage':
          attempt.reported = event.usage;
          return;
        case 'finish':
          attempt.finish = event;
          return;
        case 'object':
        case 'element':
        case 'tool-result':
        case 'tool-approval':
        case 'step':
        case 'fallback':
        case 'route':
          return;
        default:
          return assertNever(event);
      }
    },
    read() {
      const { usage, estimated } = usageOf(attempt);
      const attemptCost = costOfAttempt(attempt, usage);
      return {
        model: attempt.model,
        usage,
        attemptCost,
        totalCost: closedCost + attemptCost,
        estimated,
        finished: attempt.finish !== undefined,
        content: anyContent,
      };
    },
  };
}

function fresh(model: ModelRef): Attempt {
  return { model, reported: undefined, streamedTokens: 0, content: false, finish: undefined };
}
