import { asyncScheduler, Observable, type SchedulerLike, Subject } from 'rxjs';
import { costOf, type Pricing } from '../core/catalog.js';
import { LLMError, toLLMError } from '../core/errors.js';
import type { ModelRef, TokenEvent } from '../core/events.js';
import { defineModel, type LanguageModel, type ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import {
  type BudgetAlert,
  type BudgetLimits,
  type BudgetLineStatus,
  createAccounts,
  type Reservation,
} from '../budget/accounts.js';
import { budgetedCall, type CallContext, swallow, type UnsettledCall } from '../budget/call.js';
import { fromNanos, limitNanos, toNanos } from '../budget/money.js';
import type { Period, Weekday } from '../budget/windows.js';
import { money } from '../routing/constraints.js';
import { createEstimator, type TokenEstimator } from '../routing/estimate.js';
import type { AffordabilityCheck } from '../routing/route.js';
import { modelKey, priceLookup, type SpecOptions, specLookup } from '../routing/specs.js';
import { memoryStore } from '../state/memoryStore.js';
import { isPromiseLike } from '../state/maybePromise.js';
import type { MaybePromise, StateStore } from '../state/store.js';

export type { BudgetAlert, BudgetLimits, BudgetLineStatus } from '../budget/accounts.js';

/** Options of {@link createBudget} and {@link budget}. */
export interface BudgetConfig extends SpecOptions {
  /** Where spend and reservations live; share a Redis store to share the budget. Default `memoryStore()` on `scheduler`'s clock. */
  readonly store?: StateStore;
  /** Prefix of every store key. Default `budget`. */
  readonly prefix?: string;
  /** Clock for calendar windows. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** IANA time zone of the calendar windows. Default `UTC`. */
  readonly timeZone?: string;
  /** First day of a `week` window, 0 Sunday … 6 Saturday. Default 1 (Monday). */
  readonly weekStartsOn?: Weekday;
  /** Most one call may cost, in dollars (a request's `hints.maxCost` lowers it further). Default: no cap. */
  readonly perRequest?: number;
  /** Limits on all spend, in dollars per day, week and month. Default: none. */
  readonly limits?: BudgetLimits;
  /** Limits per provider name, on top of the global ones. Default: none. */
  readonly providers?: { readonly [provider: string]: BudgetLimits };
  /** Fractions of a limit at which `alerts$` emits, once per threshold per window. Default `[0.5, 0.8, 0.95]`. */
  readonly thresholds?: readonly number[];
  /** Token estimates; share the router's. Default: a new heuristic {@link createEstimator}. */
  readonly estimator?: TokenEstimator;
  /**
   * When the worst case does not fit what is left: `cap` (default) reserves what is left, provided it
   * covers the prompt and `minOutputTokens`, and stops the stream with a `budget` finish when it runs
   * out; `reject` fails the call with a `budget` error.
   */
  readonly onShortfall?: 'cap' | 'reject';
  /** The least output a capped call must be able to pay for to start. Default 16. */
  readonly minOutputTokens?: number;
  /** A capped stream stops once fewer than this many output tokens are left of its allowance. Default 8. */
  readonly headroomTokens?: number;
  /** Output tokens of the worst case when neither the request (`maxTokens`) nor the catalog says. Default 4096. */
  readonly defaultMaxOutputTokens?: number;
  /**
   * What to do with a model whose price is unknown (not in the catalog or `specs`, no provider `pricing`):
   * `refuse` (default) treats it as unaffordable, so a call that would go to it fails with a `budget`
   * error that names the model and how to price it; `free` admits it at $0 (its `finish` cost, if it
   * reports one, is still charged), for local models you do not want to list.
   */
  readonly unknownPrice?: 'refuse' | 'free';
}

/** A call's cost as a budget estimates it before sending, in dollars. */
export interface BudgetEstimate {
  /** Prompt tokens, estimated. */
  readonly inputTokens: number;
  /** `maxTokens`, else the model's output limit, else `defaultMaxOutputTokens`. */
  readonly maxOutputTokens: number;
  /** The prompt plus `maxOutputTokens` at the model's price. */
  readonly worstCase: number;
  /** The prompt plus `minOutputTokens`: what a capped call must be able to pay for. */
  readonly minimum: number;
}

/**
 * A spending budget: limits per calendar window (global and per provider) and per request, kept in a
 * {@link StateStore} so that processes sharing the store share the budget. Create it once; apply
 * `policy()` (or {@link budget}) to every pipeline that spends from it, and pass it to `route({ budget })`
 * so routing skips models it cannot afford.
 */
export interface Budget extends AffordabilityCheck {
  /** The policy that enforces this budget on a model. */
  policy(): ModelPolicy;
  /** Threshold crossings of actual spend, once per threshold per window (across processes sharing the store). */
  readonly alerts$: Observable<BudgetAlert>;
  /**
   * Whether a call of `model` for `request` fits: its minimum (`cap`) or worst case (`reject`) within the
   * per-request cap and what every applicable limit has left. Synchronous: with an asynchronous store it
   * answers from the last values read. Inside a budgeted call, the call's own reservation counts as left.
   */
  canAfford(model: ModelRef, request: ChatRequest): boolean;
  /** The worst-case and minimum cost of a call. */
  estimate(model: ModelRef, request: ChatRequest): BudgetEstimate;
  /** Every limit's spend, reservations and remainder in its current window. */
  status(): MaybePromise<readonly BudgetLineStatus[]>;
  /** How many reservations are held (calls in flight, in every process sharing the store). */
  outstanding(): MaybePromise<number>;
  /**
   * Settlements the store failed (`unsettled`) and their later success (`reconciled`). A call is never
   * failed after its answer for a settlement; this is where such a fault shows.
   */
  readonly settlements$: Observable<BudgetSettlement>;
  /** Settlements of this process still waiting for the store. */
  unsettled(): number;
  /**
   * Tries every unsettled settlement again now (the budget also does at each call it reserves for);
   * resolves with how many are still unsettled.
   */
  reconcile(): Promise<number>;
}

/**
 * What happened to a settlement the store failed: `unsettled` when the call ended and its charge could not
 * be written (the subscriber got its answer all the same; the reservation keeps holding the money),
 * `reconciled` when a later attempt wrote it.
 */
export interface BudgetSettlement {
  /** `unsettled` when the store failed to take the charge, `reconciled` when a later attempt wrote it. */
  readonly type: 'unsettled' | 'reconciled';
  /** The provider of the call charged. */
  readonly provider: string;
  /** The model of the call charged. */
  readonly model: string;
  /** The call's charge in dollars. */
  readonly cost: number;
  /** For `unsettled`: the store's error. */
  readonly error?: LLMError;
}

interface Hold {
  reservation: Reservation | undefined;
}

/**
 * Creates a {@link Budget}.
 *
 * Money is kept as integer nano-dollars in the store (see `src/budget/money.ts`), so sums never drift.
 *
 * How a call is budgeted:
 * 1. The pipeline's first candidate (`model.candidates(request)`) the budget can afford is priced: prompt
 *    estimate plus `maxTokens` (else the catalog's output limit) at its price. A call no candidate can
 *    afford fails with an `LLMError` of kind `budget` before anything is sent.
 * 2. That worst case is RESERVED on every applicable limit with one atomic `increment(limit)` each
 *    (taken back if a later one refuses), so concurrent calls, in any number of processes, cannot
 *    reserve more than a limit. With `onShortfall: 'cap'` a call that does not fit in full reserves what
 *    is left and becomes a capped call.
 * 3. At each `start` the reservation follows the model that actually answers (after a fallback, or when
 *    the pipeline did not list its candidates): it moves to that provider's limits and grows toward that
 *    model's worst case. Events wait meanwhile. If even the minimum does not fit there, the call is
 *    refused: a `budget` error before content, a `budget` finish after it.
 * 4. While it streams, the running cost is tracked (reported usage, else the prompt estimate and the
 *    streamed text counted by the estimator). A capped call whose running cost comes within
 *    `headroomTokens` of its allowance is stopped: a `finish` with reason `budget` is emitted and the
 *    upstream unsubscribed (the request aborted).
 * 5. At the end the reservation is replaced by the actual cost: the `finish`'s cost when it finished; the
 *    running estimate when it was stopped, failed after content, or abandoned by its subscriber (so
 *    cancelling never hides spend); nothing when it failed before any content or usage.
 *
 * The hard guarantee (spend never exceeds a limit under any interleaving of concurrent calls) holds when
 * the budget can price a call before sending it, i.e. when the pipeline's `candidates()` lists real
 * models (a provider, `route()`, and policies that pass candidates through). A pipeline that lists only
 * itself is priced at its `start`, after the request went out: with a store that answers asynchronously,
 * the tokens that stream while it answers are charged but may pass the limit.
 *
 * A settlement the store fails (Redis down when the call ends) never changes the call's outcome: the
 * answer and its `finish` stand, the failure is reported on `settlements$` (`unsettled`, and on the store's
 * own `events$`), the reservation keeps holding the money meanwhile, and the settlement is written later
 * (`reconciled`), resuming at the step that failed, at the next call the store answers or on
 * `reconcile()`. Unsettled calls live in this process: if it exits first, their reservations stay held
 * until their windows end (the limit errs on the safe side). A store that applied a step but answered too late (Redis frozen rather than
 * down) may see that step written twice.
 *
 * Spend is attributed to the windows the call reserved in (a call across midnight counts for the day it
 * started). The budget prices a model by its provider's `pricing` option, else its own catalog
 * (`catalog`/`specs`; give providers the same one). A model with no known price is refused with a `budget`
 * error naming it and how to price it, unless `unknownPrice: 'free'` (see {@link BudgetConfig}).
 * A call's reservation travels with its request (a private symbol property, kept by object spread), so
 * `route({ budget })` inside the call counts it as available.
 * Actual usage beyond the estimate (a prompt longer than estimated, a vendor ignoring `maxTokens`) is
 * still charged in full, so a limit can only be exceeded by such an estimation error.
 *
 * ## Example
 * ```ts
 * const spend = createBudget({ limits: { day: 5, month: 100 }, providers: { openai: { day: 2 } }, timeZone: 'Europe/Berlin' });
 * spend.alerts$.subscribe((a) => console.warn(`${a.scope} ${a.period}: ${a.threshold * 100}% spent`));
 * const model = pipe(route({ strategy: 'cost', budget: spend }), withFallback(), spend.policy())(pool);
 * ```
 *
 * @param config - See {@link BudgetConfig}; every field has a default.
 * @returns The budget.
 */
export function createBudget(config: BudgetConfig = {}): Budget {
  const scheduler = config.scheduler ?? asyncScheduler;
  const now = (): number => scheduler.now();
  const store = config.store ?? memoryStore({ now });
  const estimator = config.estimator ?? createEstimator();
  const specOf = specLookup(config);
  const priceOf = priceLookup(config, specOf);
  // Prices models declared of themselves (a provider's `pricing`), by name: a `start` names the model
  // that answers without being it. Bounded by the number of models the pipelines list.
  const declared = new Map<string, Pricing>();
  const pricing = (model: ModelRef): Pricing | undefined => {
    const found = priceOf(model);
    if (found === undefined) return declared.size > 0 ? declared.get(modelKey(model)) : undefined;
    const own = (model as Partial<LanguageModel>).profile?.pricing;
    if (own !== undefined && declared.get(modelKey(model)) !== own) declared.set(modelKey(model), own);
    return found;
  };
  const free = config.unknownPrice === 'free';
  const priced = (model: ModelRef): boolean => free || pricing(model) !== undefined;
  const unpriced = (model: ModelRef): LLMError =>
    new LLMError(
      'budget',
      `budget: no price is known for ${modelKey(model)}, so the budget cannot bound it: give its provider ` +
        `a pricing option ({ pricing: { input, output } }, dollars per million tokens), add it to the ` +
        `budget's catalog (createCatalog / specs), or createBudget({ unknownPrice: 'free' })`,
      { provider: model.provider, model: model.model },
    );
  const shortfall = config.onShortfall ?? 'cap';
  const minOutput = config.minOutputTokens ?? 16;
  const headroom = config.headroomTokens ?? 8;
  const alerts = new Subject<BudgetAlert>();
  const holdKey = Symbol('rxllm.budget.hold');
  const nanosOf = (limits: BudgetLimits | undefined): Partial<Record<Period, number>> => {
    const out: Partial<Record<Period, number>> = {};
    for (const period of ['day', 'week', 'month'] as const) {
      const usd = limits?.[period];
      if (usd !== undefined) out[period] = limitNanos(usd);
    }
    return out;
  };
  const accounts = createAccounts({
    store,
    prefix: config.prefix ?? 'budget',
    timeZone: config.timeZone ?? 'UTC',
    weekStartsOn: config.weekStartsOn ?? 1,
    global: nanosOf(config.limits),
    providers: Object.fromEntries(Object.entries(config.providers ?? {}).map(([p, l]) => [p, nanosOf(l)])),
    thresholds: [...(config.thresholds ?? [0.5, 0.8, 0.95])].sort((a, b) => a - b),
    now,
    alert: (alert) => alerts.next(alert),
  });

  // A call prices the same request on the same models several times (the router's ranking, the budget's
  // target, its reservation): remember each estimate per request and model, while the estimator's
  // calibration for that model is unchanged.
  const estimates = new WeakMap<
    ChatRequest,
    Map<string, Map<string, { readonly factor: number; readonly value: BudgetEstimate }>>
  >();
  const estimate = (model: ModelRef, request: ChatRequest): BudgetEstimate => {
    let byProvider = estimates.get(request);
    if (!byProvider) estimates.set(request, (byProvider = new Map()));
    let byModel = byProvider.get(model.provider);
    if (!byModel) byProvider.set(model.provider, (byModel = new Map()));
    const factor = estimator.factor(model);
    const known = byModel.get(model.model);
    if (known && known.factor === factor) return known.value;
    const value = price(model, request);
    byModel.set(model.model, { factor, value });
    return value;
  };
  const price = (model: ModelRef, request: ChatRequest): BudgetEstimate => {
    const spec = specOf(model);
    const inputTokens = estimator.promptTokens(request, model);
    const maxOutputTokens =
      request.maxTokens ?? spec?.maxOutputTokens ?? config.defaultMaxOutputTokens ?? 4096;
    const modelPrice = pricing(model);
    const price = (outputTokens: number): number => costOf({ inputTokens, outputTokens }, modelPrice).total;
    return {
      inputTokens,
      maxOutputTokens,
      worstCase: price(maxOutputTokens),
      minimum: price(Math.min(minOutput, maxOutputTokens)),
    };
  };
  /** The per-request cap in nano-dollars (Infinity: none). */
  const capOf = (request: ChatRequest): number => {
    const caps = [config.perRequest, request.hints?.maxCost].filter((c): c is number => c !== undefined);
    return caps.length === 0 ? Infinity : limitNanos(Math.min(...caps));
  };
  const heldBy = (request: ChatRequest): Hold | undefined => (request as { [holdKey]?: Hold })[holdKey];

  const settlements = new Subject<BudgetSettlement>();
  const pending = new Set<UnsettledCall>();
  const retrying = new Set<UnsettledCall>();
  const report = (type: BudgetSettlement['type'], call: UnsettledCall): void =>
    settlements.next({
      type,
      provider: call.model.provider,
      model: call.model.model,
      cost: fromNanos(call.actual),
      ...(type === 'unsettled' && { error: call.error }),
    });
  /** Settles every pending call again, resuming each where the store failed it. */
  const reconcile = async (): Promise<number> => {
    const tries = [...pending]
      .filter((call) => !retrying.has(call))
      .map(async (call) => {
        retrying.add(call);
        try {
          await accounts.settle(call.reservation, call.actual);
          pending.delete(call);
          report('reconciled', call);
        } catch {
          // Still unreachable: kept for the next try.
        } finally {
          retrying.delete(call);
        }
      });
    await Promise.all(tries);
    return pending.size;
  };

  const callContext: CallContext = {
    accounts,
    estimator,
    pricing,
    estimate,
    whole: shortfall === 'reject',
    headroomTokens: headroom,
    priced,
    unpriced,
    unsettled: (call) => {
      pending.add(call);
      report('unsettled', call);
    },
  };

  const canAfford = (model: ModelRef, request: ChatRequest): boolean => {
    if (!priced(model)) return false;
    const e = estimate(model, request);
    const available = Math.min(
      capOf(request),
      accounts.available(model.provider, heldBy(request)?.reservation),
    );
    return toNanos(shortfall === 'reject' ? e.worstCase : e.minimum) <= available;
  };

  /** The candidate a call is priced for: the pipeline's first affordable one; a `budget` error when none is. */
  const targetOf = (model: LanguageModel, call: ChatRequest): ModelRef => {
    const listed = model.candidates(call);
    if (listed.length === 0) return model;
    const found = listed.find((m) => canAfford(m, call));
    if (found) return found;
    const first = listed[0] as ModelRef;
    if (!priced(first)) {
      // A pipeline of the user's own that lists only itself and declares nothing (no `profile`, which
      // providers always have) is priced by the model that answers, at its `start`.
      if (listed.length === 1 && first === model && model.profile === undefined) return model;
      throw unpriced(first);
    }
    const e = estimate(first, call);
    const left = Math.min(capOf(call), accounts.available(first.provider));
    const needs = shortfall === 'reject' ? e.worstCase : e.minimum;
    throw new LLMError(
      'budget',
      `budget: no candidate is affordable (${modelKey(first)} needs at least $${money(needs)}, ` +
        `$${money(fromNanos(Math.max(0, left)))} left)`,
      { provider: first.provider, model: first.model },
    );
  };

  const policy: ModelPolicy = (model) =>
    defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      // What a fallback outside would walk: the affordable candidates, each still under this budget.
      candidates: (request) =>
        model
          .candidates(request)
          .filter((m) => canAfford(m, request))
          .map((m) => policy(m)),
      stream: (request) =>
        new Observable<TokenEvent>((subscriber) => {
          const hold: Hold = { reservation: undefined };
          const call = { ...request, [holdKey]: hold } as ChatRequest;
          let closed = false;
          const fail = (error: unknown): void => subscriber.error(toLLMError(error));
          try {
            const target = targetOf(model, call);
            const planned = estimate(target, call);
            const cap = capOf(call);
            const worst = toNanos(planned.worstCase);
            const minimum = toNanos(planned.minimum);
            const want = (available: number): number | undefined => {
              const room = Math.min(cap, available);
              if (shortfall === 'reject') return worst <= room ? worst : undefined;
              return minimum <= room ? Math.min(worst, room) : undefined;
            };
            const begin = (reservation: Reservation | undefined): void => {
              if (!reservation) {
                return fail(
                  new LLMError('budget', `budget: ${modelKey(target)} cannot be afforded now`, {
                    provider: target.provider,
                    model: target.model,
                  }),
                );
              }
              if (closed) return swallow(accounts.settle(reservation, 0));
              // The store answered a reservation: a good moment to write what it failed before.
              if (pending.size > 0) void reconcile();
              hold.reservation = reservation;
              // Subscribed with this subscriber itself (as `defer` does): its teardown joins ours, and it
              // sees at once when the subscriber leaves, even inside a synchronous source.
              budgetedCall(callContext, model, call, reservation, cap, target).subscribe(subscriber);
            };
            const reserved = accounts.reserve(target.provider, want);
            if (isPromiseLike(reserved)) reserved.then(begin, fail);
            else begin(reserved);
          } catch (error) {
            fail(error);
          }
          return () => {
            closed = true;
          };
        }),
    });

  return {
    policy: () => policy,
    alerts$: alerts.asObservable(),
    canAfford,
    estimate,
    status: () => accounts.status(),
    outstanding: () => accounts.outstanding(),
    settlements$: settlements.asObservable(),
    unsettled: () => pending.size,
    reconcile,
  };
}

/**
 * The budget policy: enforces a budget on a model (see {@link createBudget} for how a call is budgeted).
 * Pass a {@link Budget} to share it between pipelines and with `route({ budget })`; a config creates a
 * private one.
 *
 * Errors: a call no candidate can afford fails with `LLMError` kind `budget` (not retryable) before
 * anything is sent; a capped call that runs out ends normally with a `finish` whose reason is `budget`.
 *
 * ## Example
 * ```ts
 * const capped = gpt.pipe(budget({ perRequest: 0.05, limits: { day: 2 } }));
 * const done = await collect(capped.stream({ messages, maxTokens: 400 }));
 * if (done.finishReason === 'budget') console.log('stopped at the budget');
 * ```
 *
 * @param config - A {@link Budget}, or the config of a new one.
 * @returns The policy.
 */
export function budget(config: BudgetConfig | Budget = {}): ModelPolicy {
  return isBudget(config) ? config.policy() : createBudget(config).policy();
}

function isBudget(value: BudgetConfig | Budget): value is Budget {
  return typeof (value as Budget).policy === 'function' && typeof (value as Budget).canAfford === 'function';
}
