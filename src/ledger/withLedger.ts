import { defer } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import { type FinishReason, isContentEvent, type TokenEvent } from '../core/events.js';
import { priceLookup } from '../routing/specs.js';
import { defineModel, type ModelPolicy } from '../core/model.js';
import { createMeter } from '../budget/meter.js';
import { isPromiseLike } from '../state/maybePromise.js';
import type { Ledger, LedgerOutcome } from './ledger.js';
import { relay } from '../operators/internal/relay.js';

/**
 * Records every call of a model in a {@link Ledger}: provider and model (of the attempt that answered),
 * tokens, cost, latency, time to first token and outcome, when the call ends, fails or is abandoned.
 *
 * Usage and cost come from the `finish`; a call without one (stopped, failed after content, abandoned)
 * is recorded with usage estimated from what streamed, as a budget charges it. Place it outside the
 * budget to record each call as charged (`…, budget(spend), withLedger(ledger)`), or on each pool member
 * to record every attempt (`pool.map((m) => m.pipe(withLedger(ledger)))`). A failing store write never
 * fails the call.
 *
 * ## Example
 * ```ts
 * const ledger = createLedger();
 * await collect(gpt.pipe(withLedger(ledger)).stream(request));
 * await ledger.costBy('model'); // [{ key: 'openai/gpt-4o-mini', calls: 1, cost: 0.00012, … }]
 * ```
 *
 * @param ledger - Where to record.
 * @returns The policy.
 */
export function withLedger(ledger: Ledger): ModelPolicy {
  const { estimator, specOf, scheduler } = ledger.context;
  const priceOf = priceLookup({}, specOf);
  return (model) =>
    defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      // What a fallback outside would walk: the candidates, each still recorded.
      candidates: (request) => model.candidates(request).map((m) => withLedger(ledger)(m)),
      stream: (request) =>
        defer(() => {
          const startedAt = scheduler.now();
          const expected = model.candidates(request)[0] ?? model;
          const meter = createMeter({
            request,
            estimator,
            // The provider's own `pricing` first; a `start` names the expected model without being it.
            pricing: (ref) =>
              priceOf(ref) ??
              (ref.provider === expected.provider && ref.model === expected.model
                ? expected.profile?.pricing
                : undefined),
            model: expected,
          });
          let firstAt: number | undefined;
          let recorded = false;
          let reason: FinishReason | undefined;
          const record = (outcome: LedgerOutcome, error?: LLMError): void => {
            if (recorded) return;
            recorded = true;
            const reading = meter.read();
            const source =
              error?.provider && !reading.content
                ? { provider: error.provider, model: error.model ?? '' }
                : reading.model;
            try {
              const written = ledger.record({
                provider: source.provider,
                model: source.model,
                inputTokens: reading.usage.inputTokens,
                outputTokens: reading.usage.outputTokens,
                ...(reading.usage.cachedInputTokens !== undefined && {
                  cachedInputTokens: reading.usage.cachedInputTokens,
                }),
                cost: reading.totalCost,
                latencyMs: scheduler.now() - startedAt,
                ...(firstAt !== undefined && { ttftMs: firstAt - startedAt }),
                outcome,
                ...(reason !== undefined && { finishReason: reason }),
                ...(error && { errorKind: error.kind }),
                estimated: reading.estimated,
              });
              if (isPromiseLike(written)) written.then(undefined, () => undefined);
            } catch {
              // A ledger that cannot write must not fail the call it records.
            }
          };
          return model.stream(request).pipe(
            relay({
              next(event: TokenEvent) {
                meter.observe(event);
                if (firstAt === undefined && isContentEvent(event)) firstAt = scheduler.now();
                if (event.type === 'finish') reason = event.reason;
              },
              error(error: unknown) {
                const e = toLLMError(error);
                record(e.kind === 'budget' ? 'budget' : e.kind === 'aborted' ? 'aborted' : 'error', e);
              },
              complete() {
                if (reason === undefined) {
                  record('error', new LLMError('incomplete', 'The stream completed without a finish event'));
                } else {
                  record(reason === 'budget' ? 'budget' : 'success');
                }
              },
              // Runs after error and complete too; a call recorded already is not recorded again.
              finalize: () => record('aborted'),
            }),
          );
        }),
    });
}
