/**
 * The circuit breaker's state machine, as pure functions over plain JSON values, so that a state store
 * (memory now, Redis later) can hold it and `compareAndSet` can move it atomically across processes.
 *
 * ```text
 *            trip rule true on a failure                 openMs × factor^(opens-1) elapsed
 *   closed ─────────────────────────────────► open ───────────────────────────────────► half-open
 *     ▲                                         ▲                                          │
 *     │ successesToClose probes succeeded       └──────────── a probe failed ──────────────┤
 *     └────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * Every state carries an `epoch` that grows on each transition; a call's outcome counts only in the epoch
 * it was admitted in, so a slow call from before an opening cannot close or count against a later state.
 *
 * @packageDocumentation
 */

/** Outcomes of one slice of the sliding window (`slot` = ⌊time / bucket length⌋). */
export interface CircuitBucket {
  /** The slice: ⌊time / bucket length⌋. */
  readonly slot: number;
  /** Calls that succeeded in the slot. */
  readonly successes: number;
  /** Calls that failed in the slot. */
  readonly failures: number;
}

/** Calls flow; outcomes are counted (consecutive failures, and a sliding window of buckets). */
export interface ClosedCircuit {
  /** The discriminant: calls pass. */
  readonly state: 'closed';
  /** Counts transitions, so late outcomes of an older state are ignored. */
  readonly epoch: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Outcomes in the sliding window, by time slot. */
  readonly buckets: readonly CircuitBucket[];
}

/** Calls fail fast until `until`; `opens` counts the openings since the circuit last closed. */
export interface OpenCircuit {
  /** The discriminant: calls fail at once with `circuit_open`. */
  readonly state: 'open';
  /** Counts transitions, so late outcomes of an older state are ignored. */
  readonly epoch: number;
  /** When it opened (scheduler time). */
  readonly openedAt: number;
  /** When trial calls may start (scheduler time). */
  readonly until: number;
  /** Times it opened in a row (the open time grows with it). */
  readonly opens: number;
}

/** At most `halfOpenProbes` calls (`probes` in flight) test the provider; `successes` so far. */
export interface HalfOpenCircuit {
  /** The discriminant: a few trial calls pass. */
  readonly state: 'half-open';
  /** Counts transitions, so late outcomes of an older state are ignored. */
  readonly epoch: number;
  /** When it became half-open (scheduler time). */
  readonly since: number;
  /** Trial calls in flight. */
  readonly probes: number;
  /** Trial calls that succeeded. */
  readonly successes: number;
  /** Times it opened in a row. */
  readonly opens: number;
}

/** A circuit's state: an explicit, JSON-serializable state machine. */
export type CircuitState = ClosedCircuit | OpenCircuit | HalfOpenCircuit;

/** What the trip rule sees, in the closed state, after a failure. */
export interface CircuitStats {
  /** Failures since the last success, this one included. */
  readonly consecutiveFailures: number;
  /** Calls with an outcome inside the sliding window (this failure included). */
  readonly calls: number;
  /** Failed calls inside the sliding window. */
  readonly failures: number;
  /** `failures / calls` (0 when there were no calls). */
  readonly failureRate: number;
}

/** The machine's parameters (see `CircuitBreakerConfig` for their defaults). */
export interface CircuitRules {
  readonly shouldTrip: (stats: CircuitStats) => boolean;
  readonly windowMs: number;
  readonly buckets: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly openBackoffFactor: number;
  readonly halfOpenProbes: number;
  readonly successesToClose: number;
}

/** Proof of admission: the epoch a call was let in at, and whether it is a half-open probe. */
export interface CircuitTicket {
  readonly epoch: number;
  readonly probe: boolean;
}

/** The answer to "may a call go through now?", with the state to store. */
export type CircuitAdmission =
  | { readonly ok: true; readonly ticket: CircuitTicket; readonly next: CircuitState }
  | { readonly ok: false; readonly retryAfterMs: number | undefined; readonly next: CircuitState };

/**
 * A fresh, closed circuit (what an absent key means).
 *
 * ## Example
 * ```ts
 * admitCall(INITIAL_CIRCUIT, 0, rules).ok; // true
 * ```
 */
export const INITIAL_CIRCUIT: ClosedCircuit = Object.freeze({
  state: 'closed',
  epoch: 0,
  consecutiveFailures: 0,
  buckets: Object.freeze([]) as readonly CircuitBucket[],
});

/**
 * How long the `opens`-th consecutive opening lasts: `openMs × factor^(opens-1)`, at most `maxOpenMs`.
 *
 * ## Example
 * ```ts
 * openDuration(3, { ...rules, openMs: 1_000, openBackoffFactor: 2, maxOpenMs: 60_000 }); // 4000
 * ```
 */
export function openDuration(opens: number, rules: CircuitRules): number {
  return Math.min(rules.maxOpenMs, rules.openMs * rules.openBackoffFactor ** Math.max(0, opens - 1));
}

/**
 * The state as of `now`: an open circuit whose time is up is half-open.
 *
 * ## Example
 * ```ts
 * settleCircuit({ state: 'open', epoch: 1, openedAt: 0, until: 100, opens: 1 }, 150).state; // 'half-open'
 * ```
 */
export function settleCircuit(state: CircuitState, now: number): CircuitState {
  if (state.state === 'open' && now >= state.until) {
    return {
      state: 'half-open',
      epoch: state.epoch + 1,
      since: state.until,
      probes: 0,
      successes: 0,
      opens: state.opens,
    };
  }
  return state;
}

/**
 * Decides whether a call may go through at `now`; a half-open admission takes a probe slot.
 *
 * ## Example
 * ```ts
 * const admission = admitCall(state, now, rules);
 * if (!admission.ok) throw circuitOpenError(ref, admission.retryAfterMs);
 * store.compareAndSet(key, raw, JSON.stringify(admission.next));
 * ```
 */
export function admitCall(state: CircuitState, now: number, rules: CircuitRules): CircuitAdmission {
  const current = settleCircuit(state, now);
  switch (current.state) {
    case 'closed':
      return { ok: true, ticket: { epoch: current.epoch, probe: false }, next: current };
    case 'open':
      return { ok: false, retryAfterMs: current.until - now, next: current };
    case 'half-open':
      if (current.probes >= rules.halfOpenProbes)
        return { ok: false, retryAfterMs: undefined, next: current };
      return {
        ok: true,
        ticket: { epoch: current.epoch, probe: true },
        next: { ...current, probes: current.probes + 1 },
      };
    default:
      return assertNeverState(current);
  }
}

/**
 * A call admitted with `ticket` succeeded at `now`. Stale tickets leave the state as it is.
 *
 * ## Example
 * ```ts
 * const next = recordSuccess(state, admission.ticket, now, rules); // a probe's success closes a half-open circuit
 * ```
 */
export function recordSuccess(
  state: CircuitState,
  ticket: CircuitTicket,
  now: number,
  rules: CircuitRules,
): CircuitState {
  const current = settleCircuit(state, now);
  if (current.epoch !== ticket.epoch) return state;
  switch (current.state) {
    case 'closed':
      return {
        ...current,
        consecutiveFailures: 0,
        buckets: addOutcome(current.buckets, now, rules, true),
      };
    case 'half-open': {
      if (!ticket.probe) return state;
      const successes = current.successes + 1;
      if (successes >= rules.successesToClose) return { ...INITIAL_CIRCUIT, epoch: current.epoch + 1 };
      return { ...current, probes: Math.max(0, current.probes - 1), successes };
    }
    case 'open':
      return state;
    default:
      return assertNeverState(current);
  }
}

/**
 * A call admitted with `ticket` failed (in a way that counts) at `now`: counted while closed (and the trip
 * rule consulted), reopening (for longer) while half-open.
 *
 * ## Example
 * ```ts
 * const next = recordFailure(state, admission.ticket, now, rules);
 * if (next.state === 'open') console.warn('circuit opened until', next.until);
 * ```
 */
export function recordFailure(
  state: CircuitState,
  ticket: CircuitTicket,
  now: number,
  rules: CircuitRules,
): CircuitState {
  const current = settleCircuit(state, now);
  if (current.epoch !== ticket.epoch) return state;
  switch (current.state) {
    case 'closed': {
      const buckets = addOutcome(current.buckets, now, rules, false);
      const consecutiveFailures = current.consecutiveFailures + 1;
      const stats = statsOf(consecutiveFailures, buckets);
      if (rules.shouldTrip(stats)) return openAt(current.epoch + 1, now, 1, rules);
      return { ...current, consecutiveFailures, buckets };
    }
    case 'half-open':
      if (!ticket.probe) return state;
      return openAt(current.epoch + 1, now, current.opens + 1, rules);
    case 'open':
      return state;
    default:
      return assertNeverState(current);
  }
}

/**
 * A call admitted with `ticket` ended without an outcome (unsubscribed, or an error that does not count):
 * a half-open probe gives its slot back.
 *
 * ## Example
 * ```ts
 * const next = releaseCall(state, admission.ticket, now);
 * ```
 */
export function releaseCall(state: CircuitState, ticket: CircuitTicket, now: number): CircuitState {
  const current = settleCircuit(state, now);
  if (current.epoch !== ticket.epoch || !ticket.probe || current.state !== 'half-open') return state;
  return { ...current, probes: Math.max(0, current.probes - 1) };
}

/**
 * The sliding-window statistics of a closed circuit at `now`.
 *
 * ## Example
 * ```ts
 * const { calls, failureRate } = circuitStats(closed, now, rules);
 * ```
 */
export function circuitStats(state: ClosedCircuit, now: number, rules: CircuitRules): CircuitStats {
  return statsOf(state.consecutiveFailures, live(state.buckets, now, rules));
}

function statsOf(consecutiveFailures: number, buckets: readonly CircuitBucket[]): CircuitStats {
  let successes = 0;
  let failures = 0;
  for (const b of buckets) {
    successes += b.successes;
    failures += b.failures;
  }
  const calls = successes + failures;
  return { consecutiveFailures, calls, failures, failureRate: calls === 0 ? 0 : failures / calls };
}

function slotOf(now: number, rules: CircuitRules): number {
  return Math.floor(now / (rules.windowMs / rules.buckets));
}

function live(buckets: readonly CircuitBucket[], now: number, rules: CircuitRules): CircuitBucket[] {
  const oldest = slotOf(now, rules) - rules.buckets;
  return buckets.filter((b) => b.slot > oldest);
}

function addOutcome(
  buckets: readonly CircuitBucket[],
  now: number,
  rules: CircuitRules,
  success: boolean,
): CircuitBucket[] {
  const slot = slotOf(now, rules);
  const kept = live(buckets, now, rules);
  const last = kept[kept.length - 1];
  const add = (b: CircuitBucket): CircuitBucket => ({
    slot: b.slot,
    successes: b.successes + (success ? 1 : 0),
    failures: b.failures + (success ? 0 : 1),
  });
  if (last && last.slot === slot) kept[kept.length - 1] = add(last);
  else kept.push(add({ slot, successes: 0, failures: 0 }));
  return kept;
}

function openAt(epoch: number, now: number, opens: number, rules: CircuitRules): OpenCircuit {
  return { state: 'open', epoch, openedAt: now, until: now + openDuration(opens, rules), opens };
}

function assertNeverState(value: never): never {
  throw new Error(`Unknown circuit state: ${JSON.stringify(value)}`);
}

/**
 * Reads a stored state; anything absent or unreadable is a fresh closed circuit.
 *
 * ## Example
 * ```ts
 * const state = parseCircuit(await store.get('rxllm:breaker:openai/gpt-4o')); // INITIAL_CIRCUIT when absent
 * ```
 */
export function parseCircuit(raw: string | undefined): CircuitState {
  if (raw === undefined) return INITIAL_CIRCUIT;
  try {
    const value = JSON.parse(raw) as Partial<CircuitState> | null;
    if (
      value &&
      typeof value.epoch === 'number' &&
      (value.state === 'closed' || value.state === 'open' || value.state === 'half-open')
    ) {
      return value as CircuitState;
    }
  } catch {
    // fall through: a corrupt entry is treated as closed
  }
  return INITIAL_CIRCUIT;
}
