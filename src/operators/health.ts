import {
  asyncScheduler,
  concat,
  concatMap,
  defer,
  EMPTY,
  ignoreElements,
  map,
  merge,
  Observable,
  of,
  repeat,
  share,
  Subject,
  Subscription,
  tap,
  timer,
} from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import type { LLMError } from '../core/errors.js';
import type { ModelRef } from '../core/events.js';
import type { LanguageModel, ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { runProbe, type HealthProbe } from './healthProbe.js';
import {
  initialHealth,
  toModelHealth,
  withLatency,
  withOutcome,
  type HealthOutcome,
  type HealthRules,
  type HealthState,
  type HealthStatus,
  type ModelHealth,
} from './healthState.js';
import { trackHealth } from './healthTrack.js';

/** Configuration of {@link createHealthMonitor}. */
export interface HealthMonitorConfig {
  /** The models to probe (and to list in snapshots from the start). Default none: passive tracking only. */
  readonly models?: readonly LanguageModel[];
  /**
   * An active probe. Default: a tiny request through the model (`probeRequest`), which succeeds at its
   * first token or finish and is then cancelled. A custom probe returns an Observable or a promise;
   * its first value (or completion) is a success, an error (or a throw) a failure.
   */
  readonly probe?: HealthProbe;
  /** The request of the default probe. Default: one user message `"ping"`, `maxTokens: 1`. */
  readonly probeRequest?: ChatRequest;
  /** Time between the end of one probe of a model and the start of the next. Default `30_000`. */
  readonly intervalMs?: number;
  /**
   * Spread of the interval, as a fraction: each wait is drawn from `intervalMs × (1 ± jitter)`, so many
   * processes do not probe in step. Default `0.1`. Between 0 and 1.
   */
  readonly jitter?: number;
  /** Probe once as soon as probing starts, before the first interval. Default `true`. */
  readonly probeOnStart?: boolean;
  /** A probe not answered within this long fails with `timeout`. Default `10_000`. */
  readonly probeTimeoutMs?: number;
  /** Failures in a row that make a model unhealthy. Default `3`. */
  readonly unhealthyAfter?: number;
  /** Successes in a row (probes or calls) that bring an unhealthy model back. Default `2`. */
  readonly recoverAfter?: number;
  /** Error rate over the window (with at least `minCalls` outcomes) that makes a model unhealthy. Default `0.5`. */
  readonly errorRateThreshold?: number;
  /** Error rate over the window (with at least `minCalls` outcomes) that makes it degraded. Default `0.2`. */
  readonly degradedErrorRate?: number;
  /** Fewest outcomes in the window before its error rate counts. Default `5`. */
  readonly minCalls?: number;
  /** The error-rate window, in milliseconds. Default `60_000`. */
  readonly windowMs?: number;
  /** Samples the time-to-first-token average spans (`alpha = 2 / (n + 1)`). Default `10`. */
  readonly latencyWindow?: number;
  /** Average time to first token above which a model is degraded. Default `Infinity` (never). */
  readonly degradedLatencyMs?: number;
  /**
   * Which errors of live calls count as the provider's failures. Default: retryable errors (rate limits,
   * overload, outages, timeouts, network, truncation); a user's `invalid_request` or `context_length`
   * says nothing about the provider. A predicate that throws counts the error. Probe errors always count.
   */
  readonly shouldCount?: (error: LLMError) => boolean;
  /** Source of randomness for the jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Clock and timers. Default `asyncScheduler`; pass a `TestScheduler` in tests. */
  readonly scheduler?: SchedulerLike;
}

/** Every known model's health at one moment. */
export interface HealthSnapshot {
  /** The scheduler's clock when the snapshot was taken. */
  readonly at: number;
  /** Configured models first, in their order, then models met only through tracked calls. */
  readonly models: readonly ModelHealth[];
}

/** True when routing or fallback may use `model`. */
export type HealthPredicate = (model: ModelRef) => boolean;

/** Health of a set of models, from active probes and live traffic. Create once and share. */
export interface HealthMonitor {
  /**
   * The snapshot now and after every change. While anyone subscribes, the probes run; the last
   * unsubscribe stops them and their timers.
   */
  readonly health$: Observable<HealthSnapshot>;
  /** The snapshot now. */
  snapshot(): HealthSnapshot;
  /** One model's status (`healthy` for a model never heard of). */
  statusOf(model: ModelRef): HealthStatus;
  /**
   * False only for an unhealthy model (degraded ones are still used). Bound, so it can be handed to
   * routing and fallback as is: `withFallback({ isHealthy: monitor.isHealthy })`.
   */
  readonly isHealthy: HealthPredicate;
  /** The passive policy: watches each call's first token, finish and error. See {@link withHealth}. */
  track(): ModelPolicy;
  /** Records an outcome observed elsewhere (a breaker, a custom client). */
  record(model: ModelRef, outcome: HealthOutcome): void;
  /** Runs the probes until the returned subscription is unsubscribed (or {@link HealthMonitor.stop}). */
  start(): Subscription;
  /** Ends every probing started with {@link HealthMonitor.start}. Subscribers of `health$` keep theirs. */
  stop(): void;
}

/**
 * Creates a health monitor: active probes on a jittered interval and passive health from live traffic
 * (error rate over a window, moving average of the time to first token), per provider and model.
 *
 * Intuition: ask each provider "are you there?" now and then, listen to how real calls go, and tell
 * routing which ones to skip.
 *
 * Probes run only while `health$` has subscribers or after `start()`; no timer outlives them. Each
 * model is probed one probe at a time, the next wait drawn after the previous probe ends.
 *
 * ## Example
 * ```ts
 * const monitor = createHealthMonitor({ models: [gpt, claude], intervalMs: 60_000 });
 * const pool = [gpt, claude].map((m) => m.pipe(monitor.track()));
 * const app = pipe(route({ isHealthy: monitor.isHealthy }), withFallback())(pool);
 * monitor.health$.subscribe((s) => console.table(s.models)); // probes run while this is subscribed
 * ```
 *
 * @see withHealth
 * @param config Models, probe, interval and thresholds; each default documented on {@link HealthMonitorConfig}.
 * @returns The shared monitor.
 */
export function createHealthMonitor(config: HealthMonitorConfig = {}): HealthMonitor {
  const scheduler = config.scheduler ?? asyncScheduler;
  const random = config.random ?? Math.random;
  const intervalMs = config.intervalMs ?? 30_000;
  const jitter = config.jitter ?? 0.1;
  const probeTimeoutMs = config.probeTimeoutMs ?? 10_000;
  const latencyWindow = config.latencyWindow ?? 10;
  const rules: HealthRules = {
    unhealthyAfter: config.unhealthyAfter ?? 3,
    recoverAfter: config.recoverAfter ?? 2,
    errorRateThreshold: config.errorRateThreshold ?? 0.5,
    degradedErrorRate: config.degradedErrorRate ?? 0.2,
    minCalls: config.minCalls ?? 5,
    windowMs: config.windowMs ?? 60_000,
    latencyAlpha: 2 / (latencyWindow + 1),
    degradedLatencyMs: config.degradedLatencyMs ?? Infinity,
  };
  if (!(intervalMs > 0)) throw new RangeError(`health: intervalMs must be positive, got ${intervalMs}`);
  if (!(jitter >= 0 && jitter <= 1))
    throw new RangeError(`health: jitter must be within 0..1, got ${jitter}`);
  if (!(latencyWindow >= 1))
    throw new RangeError(`health: latencyWindow must be 1 or more, got ${latencyWindow}`);
  if (!(rules.unhealthyAfter >= 1) || !(rules.recoverAfter >= 1)) {
    throw new RangeError('health: unhealthyAfter and recoverAfter must be 1 or more');
  }

  const models = config.models ?? [];
  const states = new Map<string, HealthState>();
  const changes = new Subject<void>();
  const keyOf = (ref: ModelRef): string => `${ref.provider}/${ref.model}`;
  for (const model of models) states.set(keyOf(model), initialHealth(model, scheduler.now()));

  const update = (ref: ModelRef, change: (state: HealthState, now: number) => HealthState): void => {
    const key = keyOf(ref);
    const now = scheduler.now();
    states.set(key, change(states.get(key) ?? initialHealth(ref, now), now));
    changes.next();
  };
  const record = (ref: ModelRef, outcome: HealthOutcome, probe = false): void =>
    update(ref, (state, now) => withOutcome(state, outcome, now, rules, probe));
  const recordLatency = (ref: ModelRef, latencyMs: number): void =>
    update(ref, (state, now) => withLatency(state, latencyMs, now, rules));

  const snapshot = (): HealthSnapshot => ({
    at: scheduler.now(),
    models: [...states.values()].map(toModelHealth),
  });
  const statusOf = (ref: ModelRef): HealthStatus => states.get(keyOf(ref))?.status ?? 'healthy';

  /** The wait before a model's next probe, drawn within `intervalMs × (1 ± jitter)`. */
  const nextWait = (): number => intervalMs * (1 + jitter * (2 * random() - 1));
  const probeOnce = (model: LanguageModel): Observable<never> =>
    runProbe(model, {
      probe: config.probe,
      request: config.probeRequest,
      timeoutMs: probeTimeoutMs,
      scheduler,
    }).pipe(
      tap((outcome) => record(model, outcome, true)),
      ignoreElements(),
    );
  const loopOf = (model: LanguageModel): Observable<never> =>
    concat(
      config.probeOnStart === false ? EMPTY : probeOnce(model),
      defer(() => timer(nextWait(), scheduler)).pipe(
        concatMap(() => probeOnce(model)),
        repeat(),
      ),
    );
  const probing$ = merge(...models.map(loopOf)).pipe(share());
  const started = new Set<Subscription>();

  const monitor: HealthMonitor = {
    health$: new Observable<HealthSnapshot>((subscriber) => {
      const subscription = new Subscription();
      subscription.add(
        defer(() => concat(of(undefined), changes))
          .pipe(map(snapshot))
          .subscribe(subscriber),
      );
      subscription.add(probing$.subscribe());
      return subscription;
    }),
    snapshot,
    statusOf,
    isHealthy: (ref) => statusOf(ref) !== 'unhealthy',
    track: () => (model) =>
      trackHealth(model, {
        scheduler,
        shouldCount: config.shouldCount,
        record,
        recordLatency,
      }),
    record: (ref, outcome) => record(ref, outcome),
    start: () => {
      const subscription = probing$.subscribe();
      started.add(subscription);
      subscription.add(() => started.delete(subscription));
      return subscription;
    },
    stop: () => {
      for (const subscription of [...started]) subscription.unsubscribe();
    },
  };
  return monitor;
}

/**
 * Passive health: a policy that reports each call of the model to `monitor`: its time to first token,
 * and its outcome (a finish is a success; an error counts when the monitor's `shouldCount` says so; a
 * stream that completes without a finish is a truncation failure; an unsubscribe counts as nothing).
 * A `fallback` or `reset` event in a tracked pipeline counts as a failure of the model it names.
 *
 * Track each provider, or a whole pipeline, but not both, or each failure counts twice.
 *
 * ## Example
 * ```ts
 * const monitor = createHealthMonitor({ models: [gpt, claude] });
 * const tracked = gpt.pipe(withRetry(), withHealth(monitor));
 * if (!monitor.isHealthy(gpt)) console.log('gpt is down');
 * ```
 *
 * @see createHealthMonitor
 * @param monitor The monitor that keeps the score.
 * @returns A policy from model to model.
 */
export function withHealth(monitor: HealthMonitor): ModelPolicy {
  return monitor.track();
}
