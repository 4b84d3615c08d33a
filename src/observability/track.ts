import { defer, type Observable, type SchedulerLike } from 'rxjs';
import { LLMError, type LLMErrorKind, toLLMError } from '../core/errors.js';
import {
  assertNever,
  type FinishReason,
  type ModelRef,
  type TokenEvent,
  type Usage,
} from '../core/events.js';
import { defineModel, type LanguageModel } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { relay } from '../operators/internal/relay.js';

/** How a call ended: a `finish` arrived, it failed, or its subscriber left before either. */
export type CallOutcome = 'success' | 'error' | 'aborted';

/**
 * One call as observability sees it, when it ends. It holds numbers, names and kinds only: never a
 * message, a prompt, an answer or a header, so nothing in it can carry a secret.
 */
export interface CallMetrics {
  /**
   * Provider that answered (the last `start`); for a failure, the error's, or for `all_failed` its first
   * cause's (the first candidate tried); else the wrapped model's.
   */
  readonly provider: string;
  /**
   * Model that answered, as the vendor reported it (`start.responseModel`, e.g. `gpt-4o-mini-2024-07-18`),
   * else the model asked of it (`start.model`).
   */
  readonly model: string;
  /**
   * Model asked for: the request's `model`; else, behind routing, the model the router chose first (its
   * `route` event, or the first cause of `all_failed`); else the wrapped model's name.
   */
  readonly requestModel: string;
  /** Scheduler time the call was subscribed. */
  readonly startedAt: number;
  /** Milliseconds from subscribe to the end (finish, error or unsubscribe). */
  readonly durationMs: number;
  /** Milliseconds from subscribe to the first content event; absent when none arrived. */
  readonly timeToFirstTokenMs?: number;
  /**
   * Prompt tokens, as the last `usage` or `finish` reported them; absent when neither came (a call that
   * failed or was abandoned before the vendor counted): unknown usage is not zero.
   */
  readonly inputTokens?: number;
  /** Output tokens, as `inputTokens`. */
  readonly outputTokens?: number;
  /** True when the counts are rxllm's estimate because the vendor reported none (`Usage.estimated`). */
  readonly usageEstimated?: boolean;
  /** Prompt tokens read from the vendor's cache. */
  readonly cachedInputTokens?: number;
  /** Reasoning tokens, when reported. */
  readonly reasoningTokens?: number;
  /** Dollars, from the `finish` (0 when the call did not finish). */
  readonly cost: number;
  /** How the call ended. */
  readonly outcome: CallOutcome;
  /** The normalized finish reason, when the call finished. */
  readonly finishReason?: FinishReason;
  /** The vendor's own finish value (`end_turn`, `STOP`). */
  readonly rawFinishReason?: string;
  /** The vendor's response id, when it sent one. */
  readonly responseId?: string;
  /** For `error`: the `LLMError` kind (`aborted` for an unsubscribed call). */
  readonly errorKind?: LLMErrorKind;
  /** For `error`: the HTTP status the vendor answered, when there was one. */
  readonly status?: number;
  /** Candidates that failed before the one that answered (`fallback` events). */
  readonly fallbacks: number;
  /** Answers voided mid-stream (`reset` events). */
  readonly resets: number;
  /** The answer was replayed from a cache. */
  readonly cached: boolean;
}

/** What {@link trackCall} is told about the call it watches. */
export interface TrackContext {
  /** Where the call goes before a `start` names the provider (the wrapped model). */
  readonly source: ModelRef;
  readonly requestModel: string;
  /** True when the request named its model (routing then does not replace `requestModel`). */
  readonly explicitModel?: boolean;
  readonly scheduler: SchedulerLike;
}

/** Callbacks of {@link trackCall}. */
export interface TrackHooks {
  /** Every event, before it is passed on, with the running record. */
  readonly event?: (event: TokenEvent) => void;
  /** Once, when the call ends; `error` is the failure for the `error` outcome. */
  readonly end: (record: CallMetrics, error: LLMError | undefined) => void;
}

/**
 * `source` with its call measured: events pass through unchanged, and `hooks.end` is called once with
 * the call's {@link CallMetrics} when it completes, fails, or is unsubscribed. All times come from
 * `context.scheduler`. A hook that throws never breaks the call. The building block of `withMetrics`,
 * `withTelemetry` and `withLogging`.
 *
 * ## Example
 * ```ts
 * trackCall(model.stream(request), { source: model, requestModel: model.model, scheduler }, {
 *   end: (record) => console.log(record.outcome, record.durationMs),
 * });
 * ```
 */
export function trackCall(
  source: Observable<TokenEvent>,
  context: TrackContext,
  hooks: TrackHooks,
): Observable<TokenEvent> {
  return defer(() => {
    const { scheduler } = context;
    const startedAt = scheduler.now();
    let ref: ModelRef | undefined;
    let routedModel: string | undefined;
    let firstAt: number | undefined;
    let usage: Usage | undefined;
    let cost = 0;
    let finish: Extract<TokenEvent, { type: 'finish' }> | undefined;
    let responseId: string | undefined;
    let cached = false;
    let fallbacks = 0;
    let resets = 0;
    let ended = false;

    const end = (outcome: CallOutcome, error?: LLMError): void => {
      if (ended) return;
      ended = true;
      const firstCause = error?.kind === 'all_failed' ? error.causes?.[0] : undefined;
      const failedAt = error?.provider ? error : firstCause?.provider ? firstCause : undefined;
      const answered =
        ref ??
        (failedAt?.provider ? { provider: failedAt.provider, model: failedAt.model ?? '' } : undefined);
      if (!context.explicitModel && routedModel === undefined && firstCause?.model)
        routedModel = firstCause.model;
      const record: CallMetrics = {
        provider: answered?.provider ?? context.source.provider,
        model: answered?.model || context.source.model,
        requestModel: routedModel ?? context.requestModel,
        startedAt,
        durationMs: Math.max(0, scheduler.now() - startedAt),
        ...(firstAt !== undefined && { timeToFirstTokenMs: Math.max(0, firstAt - startedAt) }),
        ...(usage && { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }),
        ...(usage?.estimated === true && { usageEstimated: true }),
        ...(usage?.cachedInputTokens !== undefined && { cachedInputTokens: usage.cachedInputTokens }),
        ...(usage?.reasoningTokens !== undefined && { reasoningTokens: usage.reasoningTokens }),
        cost,
        outcome,
        ...(finish && { finishReason: finish.reason }),
        ...(finish?.raw !== undefined && { rawFinishReason: finish.raw }),
        ...(responseId !== undefined && { responseId }),
        ...(outcome === 'error' && error && { errorKind: error.kind }),
        ...(outcome === 'aborted' && { errorKind: 'aborted' as const }),
        ...(error?.status !== undefined && { status: error.status }),
        fallbacks,
        resets,
        cached,
      };
      try {
        hooks.end(record, error);
      } catch {
        // Observability must never fail the call it observes.
      }
    };

    const observe = (event: TokenEvent): void => {
      switch (event.type) {
        case 'start':
          ref = { provider: event.provider, model: event.responseModel ?? event.model };
          responseId = event.id;
          cached = event.cached === true;
          break;
        case 'text':
        case 'reasoning':
        case 'tool-call-delta':
        case 'tool-call':
          firstAt ??= scheduler.now();
          break;
        case 'usage':
          usage = event.usage;
          break;
        case 'finish':
          finish = event;
          usage = event.usage;
          cost = event.cost.total;
          break;
        case 'fallback':
          fallbacks++;
          break;
        case 'reset':
          resets++;
          firstAt = undefined;
          usage = undefined; // the voided answer's counts are not this answer's
          break;
        case 'object':
        case 'element':
        case 'tool-result':
        case 'tool-approval':
        case 'step':
          break;
        case 'route':
          if (!context.explicitModel) routedModel ??= event.chosen.model;
          break;
        default:
          assertNever(event);
      }
    };

    return source.pipe(
      relay({
        next(event) {
          observe(event);
          try {
            hooks.event?.(event);
          } catch {
            // See above.
          }
        },
        error(error: unknown) {
          end('error', toLLMError(error));
        },
        complete() {
          if (finish) end('success');
          else {
            end(
              'error',
              new LLMError('incomplete', 'The stream completed without a finish event', context.source),
            );
          }
        },
        unsubscribe() {
          end('aborted');
        },
      }),
    );
  });
}

/**
 * `model` with its stream replaced by `stream`, keeping its candidates: a pool (a routed model) is passed
 * through unchanged, while a single model lists the wrapped one, so `withFallback` and `hedge` call it
 * through the wrapper.
 *
 * ## Example
 * ```ts
 * const traced = observedModel(gpt, (request) => gpt.stream(request).pipe(tap(log)));
 * traced.candidates(request); // [traced]
 * ```
 */
export function observedModel(
  model: LanguageModel,
  stream: (request: ChatRequest) => Observable<TokenEvent>,
): LanguageModel {
  const wrapped: LanguageModel = defineModel({
    provider: model.provider,
    model: model.model,
    profile: model.profile,
    stream,
    candidates: (request) => {
      const list = model.candidates(request);
      return list.length === 1 && list[0] === model ? [wrapped] : list;
    },
  });
  return wrapped;
}
