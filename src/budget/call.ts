import { Observable, type Subscription } from 'rxjs';
import { costOf, type Pricing } from '../core/catalog.js';
import { LLMError, toLLMError } from '../core/errors.js';
import { isContentEvent, type ModelRef, type StartEvent, type TokenEvent } from '../core/events.js';
import type { LanguageModel } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import type { TokenEstimator } from '../routing/estimate.js';
import { modelKey } from '../routing/specs.js';
import { subscribeHeld } from '../operators/internal/subscribeHeld.js';
import { isPromiseLike, thenMaybe } from '../state/maybePromise.js';
import type { MaybePromise } from '../state/store.js';
import type { Accounts, Reservation } from './accounts.js';
import { createMeter } from './meter.js';
import { toNanos } from './money.js';

/** A call's cost bounds in dollars, as the budget estimates them for a model. */
export interface CallEstimate {
  readonly worstCase: number;
  readonly minimum: number;
}

/** What one budgeted call needs from its budget. */
export interface CallContext {
  readonly accounts: Accounts;
  readonly estimator: TokenEstimator;
  readonly pricing: (model: ModelRef) => Pricing | undefined;
  readonly estimate: (model: ModelRef, request: ChatRequest) => CallEstimate;
  /** `reject`: only whole worst cases are reserved. */
  readonly whole: boolean;
  readonly headroomTokens: number;
  /** False for a model with no known price the budget refuses (see `unknownPrice`). */
  readonly priced: (model: ModelRef) => boolean;
  /** The `budget` error refusing a model with no known price. */
  readonly unpriced: (model: ModelRef) => LLMError;
  /** A settlement the store failed: the call's outcome stands, the budget retries it later. */
  readonly unsettled: (call: UnsettledCall) => void;
}

/** A call whose settlement the store failed: its reservation still holds, its charge is not yet counted. */
export interface UnsettledCall {
  readonly reservation: Reservation;
  /** The charge to settle, in nano-dollars. */
  readonly actual: number;
  readonly model: ModelRef;
  readonly error: LLMError;
}

/** What happened upstream, in order (held while a reservation change is pending). */
type Signal =
  | { readonly kind: 'next'; readonly event: TokenEvent }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'complete' };

/**
 * Streams `model` for `request` (already carrying the call's hold) against `reservation`, then settles
 * the reservation to the call's cost however it ends: finished, cut at the allowance, failed, or abandoned.
 *
 * At each `start` the reservation follows the model that answers: moved to its provider's limits and
 * grown toward its worst case (what is left, when short). A call that cannot hold even its minimum
 * there is refused (a `budget` error before content, a `budget` finish after). Meanwhile events wait,
 * so the allowance is always known when content is checked against it.
 */
export function budgetedCall(
  context: CallContext,
  model: LanguageModel,
  request: ChatRequest,
  reservation: Reservation,
  /** The per-request cap in nano-dollars (Infinity: none). */
  cap: number,
  target: ModelRef,
): Observable<TokenEvent> {
  const { accounts, estimator, pricing, estimate } = context;
  return new Observable<TokenEvent>((subscriber) => {
    const meter = createMeter({ request, estimator, pricing, model: target });
    // Held before any event flows: `halt` stops the upstream even from inside its synchronous emission.
    let upstream: Subscription | undefined;
    let stopped = false;
    let delivered = false;
    let queue: Signal[] | undefined;
    let settlement: { readonly done: MaybePromise<void> } | undefined;

    /**
     * Settles once. A store failure never changes the call's outcome (the answer was delivered and paid
     * for, or the failure that ended the call is the one to report): it is handed to the budget, which
     * reports it and settles again later. So this never rejects.
     */
    const settle = (): MaybePromise<void> => (settlement ??= { done: settleOnce() }).done;
    const settleOnce = (): MaybePromise<void> => {
      const actual = toNanos(meter.read().totalCost);
      const report = (error: unknown): void =>
        context.unsettled({ reservation, actual, model: meter.read().model, error: toLLMError(error) });
      try {
        const done = accounts.settle(reservation, actual);
        return isPromiseLike(done) ? done.then(undefined, report) : done;
      } catch (error) {
        return report(error);
      }
    };
    const end = (then: () => void): void => {
      const done = settle();
      if (isPromiseLike(done)) done.then(then);
      else then();
    };
    const halt = (): void => {
      stopped = true;
      queue = undefined;
      upstream?.unsubscribe();
    };
    /** Stops with a `budget` finish: the content so far stands, the upstream is aborted. */
    const cut = (): void => {
      halt();
      const reading = meter.read();
      subscriber.next({
        type: 'finish',
        reason: 'budget',
        raw: 'budget',
        usage: reading.usage,
        cost: costOf(reading.usage, pricing(reading.model)),
      });
      end(() => subscriber.complete());
    };
    const refuse = (model: ModelRef): void => {
      if (stopped) return;
      if (delivered) return cut();
      halt();
      const error = !context.priced(model)
        ? context.unpriced(model)
        : new LLMError(
            'budget',
            `budget: ${modelKey(model)} answered, and its limits cannot hold this call`,
            {
              provider: model.provider,
              model: model.model,
            },
          );
      end(() => subscriber.error(error));
    };
    /**
     * Whether the attempt's worst case fits the reservation (then no content needs checking), and the
     * dollars of `headroomTokens` of its output. Worked out at the attempt's first content event and kept
     * until any other event arrives or passes (a `start` or `reset` begins another attempt and moves the
     * reservation): both depend only on the attempt's model, the request and the reservation.
     */
    let limits: { readonly fits: boolean; readonly reserve: number } | undefined;
    /** True once fewer than `headroomTokens` of output are left of the allowance (only when it is short). */
    const overAllowance = (): boolean => {
      if (!limits) {
        const reading = meter.read();
        const earlier = reading.totalCost - reading.attemptCost;
        const worst = toNanos(earlier + estimate(reading.model, request).worstCase);
        limits = {
          fits: worst <= reservation.nanos,
          reserve: (context.headroomTokens * (pricing(reading.model)?.output ?? 0)) / 1e6,
        };
      }
      if (limits.fits) return false;
      return toNanos(meter.read().totalCost + limits.reserve) > reservation.nanos;
    };
    /** Moves and grows the reservation for the model a `start` names. */
    const follow = (start: StartEvent): MaybePromise<boolean> => {
      if (!context.priced(start)) return false;
      const moved = start.provider === reservation.provider || accounts.transfer(reservation, start.provider);
      return thenMaybe(moved, (ok) => {
        if (!ok) return false;
        const reading = meter.read();
        const earlier = reading.totalCost - reading.attemptCost;
        const e = estimate(start, request);
        const worst = Math.min(cap, toNanos(earlier + e.worstCase));
        const least = context.whole ? worst : Math.min(worst, toNanos(earlier + e.minimum));
        return accounts.extend(reservation, worst, least, context.whole);
      });
    };

    const forward = (event: TokenEvent, content: boolean): void => {
      subscriber.next(event);
      // The subscriber left in its handler (take, first): stop the upstream before it produces more.
      if (subscriber.closed) return halt();
      if (content) {
        delivered = true;
        if (overAllowance()) cut();
        return;
      }
      limits = undefined;
      if (event.type === 'finish') swallow(settle());
    };
    const handle = (signal: Signal): void => {
      if (stopped) return;
      if (queue) {
        queue.push(signal);
        return;
      }
      switch (signal.kind) {
        case 'error':
          stopped = true;
          return end(() => subscriber.error(signal.error));
        case 'complete':
          stopped = true;
          return end(() => subscriber.complete());
        case 'next':
          return pass(signal.event);
      }
    };
    /** An event's turn (nothing queued before it). */
    const pass = (event: TokenEvent, content = isContentEvent(event)): void => {
      if (subscriber.closed) return halt();
      if (event.type !== 'start') return forward(event, content);
      const followed = follow(event);
      if (!isPromiseLike(followed)) return followed ? forward(event, false) : refuse(event);
      const waiting: Signal[] = (queue = []);
      followed.then(
        (ok) => {
          if (queue !== waiting) return;
          queue = undefined;
          if (!ok) return refuse(event);
          forward(event, false);
          for (const next of waiting) handle(next);
        },
        () => queue === waiting && refuse(event),
      );
    };

    subscribeHeld(
      model.stream(request),
      {
        next: (event) => {
          if (stopped) return;
          // Metered on arrival, even while held: what was generated is charged however the call ends.
          meter.observe(event);
          const content = isContentEvent(event);
          if (!content) limits = undefined;
          // Wrapped as a signal only when it must wait its turn.
          if (queue) queue.push({ kind: 'next', event });
          else pass(event, content);
        },
        error: (error: unknown) => handle({ kind: 'error', error }),
        complete: () => handle({ kind: 'complete' }),
      },
      (held) => (upstream = held),
    );
    return () => {
      upstream?.unsubscribe();
      swallow(settle());
    };
  });
}

/** Runs a store write whose failure has nowhere to go (a subscriber already left): never an unhandled rejection. */
export function swallow(value: MaybePromise<unknown>): void {
  if (isPromiseLike(value)) value.then(undefined, () => undefined);
}
