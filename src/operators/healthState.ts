import type { LLMError } from '../core/errors.js';
import type { ModelRef } from '../core/events.js';

/**
 * How a model is doing:
 * - `healthy`: answering, no recent failure, fast enough.
 * - `degraded`: usable, but failing now and then or slower than wanted.
 * - `unhealthy`: failing; routing and fallback skip it until it recovers.
 */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** The outcome of one call or probe. */
export type HealthOutcome =
  | {
      /** The call succeeded. */
      readonly ok: true;
      /** Its time to first token, in ms. */
      readonly latencyMs?: number;
    }
  | {
      /** The call failed. */
      readonly ok: false;
      /** Why. */
      readonly error: LLMError;
    };

/** The last active probe of a model. */
export interface ProbeResult {
  /** The scheduler's clock when the probe ended. */
  readonly at: number;
  /** Whether the probe answered. */
  readonly ok: boolean;
  /** Time from the probe's start to its first token (or answer). */
  readonly latencyMs?: number;
  /** Why it failed, when it did. */
  readonly error?: LLMError;
}

/** The thresholds that turn outcomes into a status (each default documented on the monitor's config). */
export interface HealthRules {
  readonly unhealthyAfter: number;
  readonly recoverAfter: number;
  readonly errorRateThreshold: number;
  readonly degradedErrorRate: number;
  readonly minCalls: number;
  readonly windowMs: number;
  /** Smoothing factor of the latency average, `2 / (latencyWindow + 1)`. */
  readonly latencyAlpha: number;
  readonly degradedLatencyMs: number;
}

/** One model's health, as read from a snapshot. */
export interface ModelHealth extends ModelRef {
  /** `healthy`, `degraded` (slow or some errors) or `unhealthy` (skipped by routing). */
  readonly status: HealthStatus;
  /** When `status` last changed (the scheduler's clock). */
  readonly since: number;
  /** Failures over calls in the window, 0..1 (0 with no calls). */
  readonly errorRate: number;
  /** Outcomes in the window. */
  readonly calls: number;
  /** Failures in a row, probes and traffic. */
  readonly consecutiveFailures: number;
  /** Successes in a row. */
  readonly consecutiveSuccesses: number;
  /** Moving average of the time to first token, in milliseconds (`undefined` before the first sample). */
  readonly latencyMs: number | undefined;
  /** The last active probe's result, if any ran. */
  readonly lastProbe: ProbeResult | undefined;
  /** The last failure's error. */
  readonly lastError: LLMError | undefined;
}

/** A model's health state: what a snapshot shows, plus the outcomes inside the window. */
export interface HealthState extends ModelHealth {
  /**
   * `up` (healthy or degraded) or `down` (unhealthy). Leaving `down` takes `recoverAfter` successes in
   * a row, and clears the window, so old failures cannot send the model straight back down.
   */
  readonly phase: 'up' | 'down';
  readonly outcomes: readonly { readonly at: number; readonly ok: boolean }[];
}

/** A model nobody has heard from: healthy until shown otherwise. */
export function initialHealth(ref: ModelRef, now: number): HealthState {
  return {
    provider: ref.provider,
    model: ref.model,
    phase: 'up',
    status: 'healthy',
    since: now,
    errorRate: 0,
    calls: 0,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    latencyMs: undefined,
    lastProbe: undefined,
    lastError: undefined,
    outcomes: [],
  };
}

/**
 * The state after one outcome at `now`. Pure: the monitor keeps the states, this decides them.
 *
 * `up → down` after `unhealthyAfter` failures in a row, or when the window holds at least `minCalls`
 * outcomes and its error rate reaches `errorRateThreshold`. `down → up` after `recoverAfter` successes in
 * a row (probes or live calls). While up, the status is `degraded` after any failure since the last
 * success, at an error rate of `degradedErrorRate` or more, or with a latency average over
 * `degradedLatencyMs`; else `healthy`.
 */
export function withOutcome(
  state: HealthState,
  outcome: HealthOutcome,
  now: number,
  rules: HealthRules,
  probe = false,
): HealthState {
  const window = [...state.outcomes.filter((o) => o.at > now - rules.windowMs), { at: now, ok: outcome.ok }];
  const consecutiveFailures = outcome.ok ? 0 : state.consecutiveFailures + 1;
  const consecutiveSuccesses = outcome.ok ? state.consecutiveSuccesses + 1 : 0;
  const latencyMs =
    outcome.ok && outcome.latencyMs !== undefined
      ? average(state.latencyMs, outcome.latencyMs, rules.latencyAlpha)
      : state.latencyMs;
  let phase = state.phase;
  let outcomes = window;
  if (phase === 'up' && !outcome.ok) {
    if (consecutiveFailures >= rules.unhealthyAfter || rateOf(window, rules) >= rules.errorRateThreshold) {
      phase = 'down';
    }
  } else if (phase === 'down' && consecutiveSuccesses >= rules.recoverAfter) {
    phase = 'up';
    outcomes = [{ at: now, ok: true }];
  }
  const next: HealthState = {
    ...state,
    phase,
    consecutiveFailures,
    consecutiveSuccesses,
    latencyMs,
    outcomes,
    calls: outcomes.length,
    errorRate: errorRate(outcomes),
    ...(!outcome.ok && { lastError: outcome.error }),
    ...(probe && {
      lastProbe: {
        at: now,
        ok: outcome.ok,
        ...(outcome.ok && outcome.latencyMs !== undefined && { latencyMs: outcome.latencyMs }),
        ...(!outcome.ok && { error: outcome.error }),
      },
    }),
  };
  return settleStatus(state, next, now, rules);
}

/** The state after a time-to-first-token sample (a live call's first token; its outcome comes later). */
export function withLatency(
  state: HealthState,
  latencyMs: number,
  now: number,
  rules: HealthRules,
): HealthState {
  const next = { ...state, latencyMs: average(state.latencyMs, latencyMs, rules.latencyAlpha) };
  return settleStatus(state, next, now, rules);
}

/** The public view of a state (without the window's outcomes). */
export function toModelHealth(state: HealthState): ModelHealth {
  return {
    provider: state.provider,
    model: state.model,
    status: state.status,
    since: state.since,
    errorRate: state.errorRate,
    calls: state.calls,
    consecutiveFailures: state.consecutiveFailures,
    consecutiveSuccesses: state.consecutiveSuccesses,
    latencyMs: state.latencyMs,
    lastProbe: state.lastProbe,
    lastError: state.lastError,
  };
}

function settleStatus(
  previous: HealthState,
  next: HealthState,
  now: number,
  rules: HealthRules,
): HealthState {
  const status = statusOf(next, rules);
  return { ...next, status, since: status === previous.status ? previous.since : now };
}

function statusOf(state: HealthState, rules: HealthRules): HealthStatus {
  if (state.phase === 'down') return 'unhealthy';
  if (state.consecutiveFailures > 0) return 'degraded';
  if (rateOf(state.outcomes, rules) >= rules.degradedErrorRate) return 'degraded';
  if (state.latencyMs !== undefined && state.latencyMs > rules.degradedLatencyMs) return 'degraded';
  return 'healthy';
}

/** The window's error rate, or 0 while it holds fewer than `minCalls` outcomes. */
function rateOf(outcomes: readonly { readonly ok: boolean }[], rules: HealthRules): number {
  return outcomes.length >= rules.minCalls ? errorRate(outcomes) : 0;
}

function errorRate(outcomes: readonly { readonly ok: boolean }[]): number {
  if (outcomes.length === 0) return 0;
  return outcomes.filter((o) => !o.ok).length / outcomes.length;
}

function average(previous: number | undefined, sample: number, alpha: number): number {
  return previous === undefined ? sample : previous + alpha * (sample - previous);
}
