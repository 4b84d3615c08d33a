import { asyncScheduler, defer, Observable, type SchedulerLike, Subject, throwError } from 'rxjs';
import { costOf } from '../core/catalog.js';
import { LLMError, type LLMErrorKind } from '../core/errors.js';
import type { ModelRef, RouteEvent, TokenEvent } from '../core/events.js';
import { defineModel, type LanguageModel, type ModelPool } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { type ComplexityFloors, DEFAULT_COMPLEXITY_FLOORS, money, violations } from './constraints.js';
import { createEstimator, type TokenEstimator } from './estimate.js';
import { modelKey, priceLookup, type SpecOptions, specLookup } from './specs.js';
import { createModelStats, type ModelStats } from './stats.js';
import { createRandom } from './strategies/random.js';
import { type StrategyName, strategyByName } from './strategies/index.js';
import type {
  RouteCandidate,
  RouteDecision,
  RouteRejection,
  RoutingStrategy,
  StrategyContext,
} from './types.js';
import { relay } from '../operators/internal/relay.js';

/** Something that can tell whether a model's call fits a budget (a {@link Budget} is one). */
export interface AffordabilityCheck {
  /** Whether a call of `request` to `model` fits what is left. */
  canAfford(model: ModelRef, request: ChatRequest): boolean;
}

/** Options of {@link createRouter} and {@link route}. */
export interface RouterOptions extends SpecOptions {
  /** How to rank the eligible models: a built-in's name or your own function. Default `'priority'` (pool order). */
  readonly strategy?: StrategyName | RoutingStrategy;
  /** Token estimates for prompts. Default: a new heuristic {@link createEstimator}; share one with `budget()`. */
  readonly estimator?: TokenEstimator;
  /** Where observed latency and in-flight counts live. Default: a new {@link createModelStats} on `scheduler`. */
  readonly stats?: ModelStats;
  /** Clock for decisions and measurements. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Models for which this answers false are skipped (a health checker's predicate). Default: all healthy. */
  readonly isHealthy?: (model: LanguageModel) => boolean;
  /** Models whose call this budget cannot cover are skipped. Default: none. */
  readonly budget?: AffordabilityCheck;
  /** Output tokens assumed when the request sets no `maxTokens`, for cost and speed estimates. Default 500. */
  readonly expectedOutputTokens?: number;
  /** Quality assumed for models without a spec. Default 0.5. */
  readonly defaultQuality?: number;
  /** Minimum quality per `hints.complexity`. Default {@link DEFAULT_COMPLEXITY_FLOORS} (0 / 0.7 / 0.85). */
  readonly complexityFloors?: Partial<ComplexityFloors>;
  /** Latency observations older than this (ms) are ignored by `hints.maxLatencyMs`. Default 600 000. */
  readonly staleAfterMs?: number;
  /** Seed of the router's random generator (weighted random). Default: a random seed. */
  readonly seed?: number;
  /** Called with every committed decision (also published on `decisions$`). */
  readonly onDecision?: (decision: RouteDecision) => void;
}

/** The ranking of a pool for one request, before it is committed. */
export interface RoutePlan {
  /** The strategy's name. */
  readonly strategy: string;
  /** Eligible candidates, best first. Empty when `error` is set. */
  readonly ranked: readonly RouteCandidate[];
  /** Models left out by a constraint, with why. */
  readonly rejected: readonly RouteRejection[];
  /** Why no model qualifies: `budget` when only budgets excluded some, `unavailable` when only health did, else `invalid_request`. */
  readonly error?: LLMError;
}

/** A routed pool: a {@link LanguageModel} whose `candidates()` are the ranked pool. */
export interface RoutedModel extends LanguageModel {
  /** Ranks the pool for `request` without committing a decision (for debugging and tests). */
  explain(request: ChatRequest): RoutePlan;
  /** Decisions of this model's router. */
  readonly decisions$: Observable<RouteDecision>;
}

/**
 * A router: shared state (observed stats, round-robin turn, decisions) for one or more routed pools.
 * `router.route()` is the pool policy; `decisions$` publishes every committed decision.
 */
export interface Router {
  /** Every committed decision, of every pool routed by this router. */
  readonly decisions$: Observable<RouteDecision>;
  /** Observed latency, speed and in-flight counts per model. */
  readonly stats: ModelStats;
  /** The prompt-token estimator (share it with budgets). */
  readonly estimator: TokenEstimator;
  /** The pool policy: `(pool) => model`. */
  route(): (pool: ModelPool) => RoutedModel;
}

/**
 * Creates a {@link Router}.
 *
 * A routed model ranks its pool per request: it drops models that fail the request's constraints
 * (`hints.excludeProviders`, capabilities the request needs, context window, `maxTokens`, `minQuality`
 * and `complexity`, `maxCost`, `maxLatencyMs`), then unhealthy ones (`isHealthy`), then those the
 * `budget` cannot cover; the strategy orders the rest; models tagged with `hints.task`, then those of
 * `hints.preferProviders`, move to the front. `candidates(request)` returns that ranking (what
 * `withFallback()` walks); `stream(request)` streams the first.
 *
 * A decision is committed when the first of its candidates is subscribed: it is published on
 * `decisions$` and emitted as a `route` event at the head of that stream. Ranking is pure until then,
 * so `candidates()` and `stream()` for the same request agree and a policy may look before it leaps.
 * Fallback and retry drop what a failed attempt emitted before its first content, so each candidate of
 * a decision leads with the `route` event until one of them delivers content.
 *
 * When no model qualifies, `stream()` fails with an `LLMError` before anything is sent (and
 * `candidates()` returns an empty list, on which `withFallback()` streams the router itself to let it
 * say why): kind `budget` when some model was excluded by the budget alone, `unavailable` (retryable)
 * when some model was excluded by health alone, else `invalid_request`. `explain()` lists every rejection.
 *
 * Every call through a routed model (its own `stream()` or a candidate's) is measured into `stats`:
 * in-flight counts, time to first token, tokens per second; reported prompt usage calibrates the estimator.
 *
 * ## Example
 * ```ts
 * const spend = createBudget({ limits: { day: 20 } });
 * const router = createRouter({ strategy: 'cost', budget: spend });
 * router.decisions$.subscribe((d) => console.log(d.reason));
 * const model = pipe(router.route(), withFallback(), spend.policy())([gpt4o, mini, haiku]);
 * ```
 *
 * @see {@link route} for a router you do not need a handle on.
 * @param options - See {@link RouterOptions}; every field has a default.
 * @returns The router.
 */
export function createRouter(options: RouterOptions = {}): Router {
  const scheduler = options.scheduler ?? asyncScheduler;
  const estimator = options.estimator ?? createEstimator();
  const stats = options.stats ?? createModelStats({ scheduler });
  const specOf = specLookup(options);
  const priceOf = priceLookup(options, specOf);
  const strategy =
    typeof options.strategy === 'function'
      ? options.strategy
      : strategyByName(options.strategy ?? 'priority');
  const strategyName = strategy.name || 'custom';
  const expectedOutput = options.expectedOutputTokens ?? 500;
  const defaultQuality = options.defaultQuality ?? 0.5;
  const floors = { ...DEFAULT_COMPLEXITY_FLOORS, ...options.complexityFloors };
  const staleAfterMs = options.staleAfterMs ?? 600_000;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const decisions = new Subject<RouteDecision>();
  let sequence = 0;

  const plan = (pool: ModelPool, request: ChatRequest): RoutePlan => {
    const now = scheduler.now();
    const fail = (kind: LLMErrorKind, message: string, rejected: RouteRejection[], cause?: unknown) => ({
      strategy: strategyName,
      ranked: [],
      rejected,
      error: new LLMError(kind, `route: ${message}`, {
        retryable: kind === 'unavailable',
        ...(cause !== undefined && { cause }),
      }),
    });
    if (pool.length === 0) return fail('invalid_request', 'the pool is empty', []);
    try {
      const rejected: RouteRejection[] = [];
      const stage: number[] = [];
      const eligible: RouteCandidate[] = [];
      pool.forEach((model, index) => {
        const spec = specOf(model);
        const price = priceOf(model);
        const inputTokens = estimator.promptTokens(request, model);
        const outputTokens = request.maxTokens ?? expectedOutput;
        const candidate: RouteCandidate = {
          model,
          key: modelKey(model),
          index,
          spec,
          quality: spec?.quality ?? defaultQuality,
          local: spec?.local ?? false,
          estimate: {
            inputTokens,
            outputTokens,
            cost: price ? costOf({ inputTokens, outputTokens }, price).total : undefined,
          },
          stats: stats.get(model),
        };
        const reasons = violations(candidate, request, { now, complexityFloors: floors, staleAfterMs });
        const ref = { provider: model.provider, model: model.model };
        if (reasons.length > 0) {
          rejected.push({ model: ref, reasons });
          stage.push(1);
        } else if (options.isHealthy && !options.isHealthy(model)) {
          rejected.push({ model: ref, reasons: ['unhealthy'] });
          stage.push(2);
        } else if (options.budget && !options.budget.canAfford(model, request)) {
          rejected.push({ model: ref, reasons: ['over budget'] });
          stage.push(3);
        } else {
          eligible.push(candidate);
        }
      });
      if (eligible.length === 0) {
        const kind: LLMErrorKind = stage.includes(3)
          ? 'budget'
          : stage.includes(2)
            ? 'unavailable'
            : 'invalid_request';
        return fail(kind, `no model qualifies (${listRejections(rejected)})`, rejected);
      }
      const context: StrategyContext = { now, sequence, random: createRandom(seed, sequence) };
      const ordered = strategy(eligible, request, context);
      const ranked = preferSoft(keepEligible(ordered, eligible), request);
      if (ranked.length === 0) {
        return fail('invalid_request', `strategy ${strategyName} left no candidate`, rejected);
      }
      return { strategy: strategyName, ranked, rejected };
    } catch (error) {
      return fail('unknown', `ranking failed: ${String(error)}`, [], error);
    }
  };

  return {
    decisions$: decisions.asObservable(),
    stats,
    estimator,
    route() {
      return (pool) => {
        const measured = pool.map((model) => measure(model, stats, estimator));
        const bind = (result: RoutePlan): LanguageModel[] => {
          let decision: RouteDecision | undefined;
          let delivered = false;
          const commit = (): RouteDecision => {
            if (decision) return decision;
            decision = toDecision(result, scheduler.now(), sequence++);
            decisions.next(decision);
            options.onDecision?.(decision);
            return decision;
          };
          return result.ranked.map((candidate) => {
            const inner = measured[candidate.index] as LanguageModel;
            return defineModel({
              provider: inner.provider,
              model: inner.model,
              stream: (request) =>
                new Observable<TokenEvent>((subscriber) => {
                  const event = toRouteEvent(commit());
                  const stream = inner.stream(request);
                  // The decision leads the first candidate's stream, once: policies that switch candidates
                  // pass a `route` event on at once, so the next candidate must not repeat it.
                  if (!delivered) {
                    delivered = true;
                    subscriber.next(event);
                  }
                  // The subscriber itself goes on to the candidate: its tokens pass with no hop here.
                  if (!subscriber.closed) stream.subscribe(subscriber);
                }),
            });
          });
        };
        const routed = defineModel({
          provider: 'route',
          model: strategyName,
          candidates: (request) => {
            const result = plan(pool, request);
            return result.error ? [] : bind(result);
          },
          stream: (request) =>
            defer(() => {
              const result = plan(pool, request);
              if (result.error) return throwError(() => result.error);
              return (bind(result)[0] as LanguageModel).stream(request);
            }),
        });
        return Object.assign(routed, {
          explain: (request: ChatRequest) => plan(pool, request),
          decisions$: decisions.asObservable(),
        });
      };
    },
  };
}

/**
 * The routing pool policy: ranks a pool of models per request (see {@link createRouter} for the rules).
 * Decisions are on the returned model's `decisions$` and `onDecision`; use {@link createRouter} to share
 * stats and decisions across pools.
 *
 * ## Example
 * ```ts
 * const model = pipe(route({ strategy: 'cost' }), withFallback())([gpt4o, mini, haiku]);
 * await collect(model.stream({ messages, hints: { minQuality: 0.8, maxCost: 0.01 } }));
 * ```
 *
 * @param options - See {@link RouterOptions}.
 * @returns A function from a pool to its {@link RoutedModel}.
 */
export function route(options: RouterOptions = {}): (pool: ModelPool) => RoutedModel {
  return createRouter(options).route();
}

/** The pool member, measured into `stats` and calibrating `estimator` on every call (one hop for both). */
function measure(model: LanguageModel, stats: ModelStats, estimator: TokenEstimator): LanguageModel {
  return defineModel({
    provider: model.provider,
    model: model.model,
    stream: (request) =>
      defer(() => {
        const call = stats.begin(model);
        let calibrated = false;
        return model.stream(request).pipe(
          relay({
            next: (event) => {
              call.event(event);
              if (calibrated || (event.type !== 'usage' && event.type !== 'finish')) return;
              if (event.usage.inputTokens <= 0) return;
              calibrated = true;
              estimator.reconcile(model, request, event.usage);
            },
            error: () => call.fail(),
            finalize: () => call.end(),
          }),
        );
      }),
  });
}

/** What the strategy returned, restricted to eligible candidates, each once. */
function keepEligible(
  ordered: readonly RouteCandidate[],
  eligible: readonly RouteCandidate[],
): RouteCandidate[] {
  const allowed = new Set(eligible);
  const out: RouteCandidate[] = [];
  for (const c of ordered) {
    if (allowed.delete(c)) out.push(c);
  }
  return out;
}

/** Moves models tagged with `hints.task`, then models of `hints.preferProviders`, to the front (stably). */
function preferSoft(ranked: RouteCandidate[], request: ChatRequest): RouteCandidate[] {
  const task = request.hints?.task;
  const preferred = request.hints?.preferProviders;
  let out = ranked;
  if (task !== undefined) out = partition(out, (c) => c.spec?.tasks?.includes(task) === true);
  if (preferred && preferred.length > 0) out = partition(out, (c) => preferred.includes(c.model.provider));
  return out;
}

function partition<T>(list: readonly T[], first: (item: T) => boolean): T[] {
  return [...list.filter(first), ...list.filter((item) => !first(item))];
}

function ref(candidate: RouteCandidate): ModelRef {
  return { provider: candidate.model.provider, model: candidate.model.model };
}

function toDecision(result: RoutePlan, at: number, sequence: number): RouteDecision {
  const [chosen, ...rest] = result.ranked as [RouteCandidate, ...RouteCandidate[]];
  return {
    strategy: result.strategy,
    chosen: ref(chosen),
    fallbacks: rest.map(ref),
    estimatedCost: chosen.estimate.cost ?? 0,
    reason: reasonOf(result.strategy, chosen, result.ranked.length, result.rejected),
    ranked: result.ranked,
    rejected: result.rejected,
    at,
    sequence,
  };
}

function toRouteEvent(decision: RouteDecision): RouteEvent {
  return {
    type: 'route',
    chosen: decision.chosen,
    fallbacks: decision.fallbacks,
    estimatedCost: decision.estimatedCost,
    reason: decision.reason,
  };
}

function reasonOf(
  strategy: string,
  chosen: RouteCandidate,
  eligible: number,
  rejected: readonly RouteRejection[],
): string {
  const facts = [
    chosen.estimate.cost === undefined ? 'price unknown' : `est. $${money(chosen.estimate.cost)}`,
    `quality ${chosen.quality}`,
  ];
  if (chosen.stats.ttftMs !== undefined) facts.push(`ttft ${Math.round(chosen.stats.ttftMs)}ms`);
  if (chosen.stats.inFlight > 0) facts.push(`${chosen.stats.inFlight} in flight`);
  if (chosen.local) facts.push('local');
  const head = `${strategy}: ${chosen.key} (${facts.join(', ')}), first of ${eligible} eligible`;
  return rejected.length === 0 ? head : `${head}; excluded ${listRejections(rejected)}`;
}

function listRejections(rejected: readonly RouteRejection[]): string {
  const shown = rejected
    .slice(0, 4)
    .map((r) => `${modelKey(r.model)}: ${r.reasons.join(', ')}`)
    .join('; ');
  return rejected.length > 4 ? `${shown}; and ${rejected.length - 4} more` : shown;
}
