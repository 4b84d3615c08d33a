import {
  asyncScheduler,
  concat,
  defer,
  distinctUntilChanged,
  filter,
  map,
  Observable,
  of,
  type SchedulerLike,
  Subject,
  type Subscription,
  switchMap,
  timer,
} from 'rxjs';
import { LLMError, type LLMErrorKind, toLLMError } from '../core/errors.js';
import type { ModelRef, TokenEvent } from '../core/events.js';
import { memoryStore } from '../state/memoryStore.js';
import { fromMaybePromise, isPromiseLike, thenMaybe } from '../state/maybePromise.js';
import type { MaybePromise, StateStore } from '../state/store.js';
import {
  admitCall,
  type CircuitAdmission,
  type CircuitRules,
  type CircuitState,
  type CircuitStats,
  type CircuitTicket,
  INITIAL_CIRCUIT,
  parseCircuit,
  recordFailure,
  recordSuccess,
  releaseCall,
  settleCircuit,
} from './circuitMachine.js';
import { subscribeHeld } from './internal/subscribeHeld.js';

/** Options of {@link createCircuitBreaker}. Every field has a default. */
export interface CircuitBreakerConfig {
  /** Opens after this many failures in a row. Default 5. */
  readonly consecutiveFailures?: number;
  /** Opens when at least this share of the window's calls failed (0..1)… Default 0.5. */
  readonly failureRate?: number;
  /** …and the window holds at least this many calls. Default 10. */
  readonly minimumCalls?: number;
  /** Length of the sliding window. Default 60 000 ms. */
  readonly windowMs?: number;
  /** The window is counted in this many buckets (its resolution). Default 10. */
  readonly buckets?: number;
  /**
   * Replaces the trip rule above (consecutive failures, or failure rate over a minimum of calls): given the
   * stats after a failure, true opens the circuit.
   */
  readonly shouldTrip?: (stats: CircuitStats) => boolean;
  /** How long the first opening lasts. Default 30 000 ms. */
  readonly openMs?: number;
  /** Each consecutive reopening (a failed probe) lasts this factor longer… Default 2. */
  readonly openBackoffFactor?: number;
  /** …up to this. Default 300 000 ms. */
  readonly maxOpenMs?: number;
  /** Probe calls let through at once while half-open. Default 1. */
  readonly halfOpenProbes?: number;
  /** Successful probes that close the circuit. Default 1. */
  readonly successesToClose?: number;
  /**
   * Which failures count against the provider. Default: every failure except those that say nothing of
   * its health — `invalid_request`, `auth`, `not_found`, `context_length`, `content_filter`, `aborted`,
   * `budget` (the caller's doing) and `queue_full` (our own rate limiter). Stalls (`timeout`) and truncated
   * streams (`incomplete`) count: that is how streaming providers degrade. A throw counts as not counted
   * and fails the call with the thrown error.
   */
  readonly shouldCount?: (error: LLMError) => boolean;
  /** Where the circuits live. Default a new `memoryStore()` (this process only); share a Redis store across processes. */
  readonly store?: StateStore;
  /** Prefix of the store keys (`<prefix><provider>/<model>`). Default `rxllm:breaker:`. */
  readonly keyPrefix?: string;
  /** Clock (`now()`) and timers of `watch()`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** A circuit changed state (as seen by this process). */
export interface CircuitTransition extends ModelRef {
  /** The store key of the circuit. */
  readonly key: string;
  /** The state before. */
  readonly from: CircuitState;
  /** The state after. */
  readonly to: CircuitState;
  /** `scheduler.now()` when it happened. */
  readonly at: number;
}

/**
 * Circuit breakers for many models, sharing one configuration and one store: one circuit per provider
 * and model. Create it once and share it; apply it with {@link withCircuitBreaker}.
 */
export interface CircuitBreaker {
  /**
   * Every state change this process makes or observes (closed → open, open → half-open, …), for every
   * circuit. Hot: subscribe for dashboards and logs. An open circuit turns half-open when a call (or a
   * `state()`/`watch()` read) finds its time up; `watch()` also emits it on time.
   */
  readonly state$: Observable<CircuitTransition>;
  /** The circuit's state now (an open circuit whose time is up reads as half-open). */
  state(ref: ModelRef): MaybePromise<CircuitState>;
  /** One circuit's state, now and on every change, including the open → half-open turn on its timer. */
  watch(ref: ModelRef): Observable<CircuitState>;
  /**
   * `source` guarded by the circuit of `ref`: fails fast with `circuit_open` while open, lets probes through
   * while half-open, and records the outcome (a `finish` is a success; a counted error or a completion
   * without `finish` a failure; unsubscribing before either, nothing).
   */
  guard(ref: ModelRef, source: Observable<TokenEvent>): Observable<TokenEvent>;
  /** Closes the circuit (forgetting its counts). */
  reset(ref: ModelRef): MaybePromise<void>;
}

const NOT_COUNTED: ReadonlySet<LLMErrorKind> = new Set<LLMErrorKind>([
  'invalid_request',
  'auth',
  'not_found',
  'context_length',
  'content_filter',
  'aborted',
  'budget',
  'queue_full',
]);

/**
 * The default of `shouldCount`: failures that say something about the provider's health.
 *
 * ## Example
 * ```ts
 * createCircuitBreaker({ shouldCount: (e) => countsAgainstProvider(e) || e.kind === 'quota' });
 * ```
 *
 * @param error A call's failure.
 * @returns Whether it says something about the provider's health.
 */
export function countsAgainstProvider(error: LLMError): boolean {
  return !NOT_COUNTED.has(error.kind);
}

/**
 * The error of a call refused by an open circuit: `circuit_open`, not retryable, with the time left.
 *
 * ## Example
 * ```ts
 * circuitOpenError({ provider: 'openai', model: 'gpt-4o' }, 12_000).retryAfterMs; // 12000
 * ```
 */
export function circuitOpenError(ref: ModelRef, retryAfterMs: number | undefined): LLMError {
  return new LLMError(
    'circuit_open',
    retryAfterMs === undefined
      ? `Circuit half-open for ${ref.provider}/${ref.model}: probes in flight`
      : `Circuit open for ${ref.provider}/${ref.model} for ${Math.ceil(retryAfterMs)} ms more`,
    {
      retryable: false,
      provider: ref.provider,
      model: ref.model,
      ...(retryAfterMs !== undefined && { retryAfterMs: Math.max(0, retryAfterMs) }),
    },
  );
}

/**
 * Creates circuit breakers (one circuit per provider and model) over a shared store.
 *
 * A circuit opens on `consecutiveFailures` failures in a row, or when `failureRate` of the calls in the
 * last `windowMs` failed (with at least `minimumCalls`). Open, calls fail fast with `circuit_open`
 * (`retryAfterMs` = time until half-open). After `openMs` (growing by `openBackoffFactor` on each failed
 * probe, up to `maxOpenMs`) it lets `halfOpenProbes` calls through; `successesToClose` successes close it,
 * a failure reopens it. Every transition is one `compareAndSet` on the store, so processes sharing a store
 * share the circuit. If the store fails, calls go through (the breaker fails open).
 *
 * ## Example
 * ```ts
 * const breaker = createCircuitBreaker({ consecutiveFailures: 3, openMs: 10_000 });
 * breaker.state$.subscribe((t) => console.log(`${t.provider}/${t.model}: ${t.from.state} → ${t.to.state}`));
 * const guarded = [gpt, claude].map((m) => m.pipe(withCircuitBreaker(breaker)));
 * ```
 *
 * @see {@link withCircuitBreaker} to apply it; `circuitMachine.ts` for the state machine.
 * @param config Trip rule, timings, probes, what counts, store and scheduler.
 * @returns The shared breaker.
 */
export function createCircuitBreaker(config: CircuitBreakerConfig = {}): CircuitBreaker {
  const consecutive = config.consecutiveFailures ?? 5;
  const failureRate = config.failureRate ?? 0.5;
  const minimumCalls = config.minimumCalls ?? 10;
  const rules: CircuitRules = {
    shouldTrip:
      config.shouldTrip ??
      ((s) =>
        s.consecutiveFailures >= consecutive || (s.calls >= minimumCalls && s.failureRate >= failureRate)),
    windowMs: positive(config.windowMs, 60_000),
    buckets: Math.max(1, Math.floor(config.buckets ?? 10)),
    openMs: Math.max(0, config.openMs ?? 30_000),
    maxOpenMs: Math.max(0, config.maxOpenMs ?? 300_000),
    openBackoffFactor: Math.max(1, config.openBackoffFactor ?? 2),
    halfOpenProbes: Math.max(1, Math.floor(config.halfOpenProbes ?? 1)),
    successesToClose: Math.max(1, Math.floor(config.successesToClose ?? 1)),
  };
  const shouldCount = config.shouldCount ?? countsAgainstProvider;
  const scheduler = config.scheduler ?? asyncScheduler;
  const store = config.store ?? memoryStore({ now: () => scheduler.now() });
  const prefix = config.keyPrefix ?? 'rxllm:breaker:';
  const transitions = new Subject<CircuitTransition>();
  const now = (): number => scheduler.now();
  const keyOf = (ref: ModelRef): string => `${prefix}${ref.provider}/${ref.model}`;

  // The last state read per key, by its stored text: a closed circuit's text rarely changes, so most
  // calls read it without parsing (states are immutable values, safe to share).
  const parsed = new Map<string, { readonly raw: string | undefined; readonly state: CircuitState }>();
  const read = (key: string, raw: string | undefined): CircuitState => {
    const last = parsed.get(key);
    if (last && last.raw === raw) return last.state;
    const state = parseCircuit(raw);
    parsed.set(key, { raw, state });
    return state;
  };

  /** One atomic step on a circuit: read, compute, compare-and-set (retried on conflict). */
  const update = <R>(
    ref: ModelRef,
    step: (stored: CircuitState, at: number) => readonly [CircuitState, R],
    giveUp: R,
  ): MaybePromise<R> => {
    const key = keyOf(ref);
    const attempt = (tries: number): MaybePromise<R> =>
      thenMaybe(store.get(key), (raw) => {
        const stored = read(key, raw);
        const at = now();
        const [next, result] = step(stored, at);
        if (next === stored) return result;
        const text = JSON.stringify(next);
        return thenMaybe(store.compareAndSet(key, raw, text), (ok): MaybePromise<R> => {
          if (ok) {
            parsed.set(key, { raw: text, state: next });
            if (next.state !== stored.state || next.epoch !== stored.epoch) {
              transitions.next({ key, provider: ref.provider, model: ref.model, from: stored, to: next, at });
            }
            return result;
          }
          return tries < 16 ? attempt(tries + 1) : giveUp;
        });
      });
    return safely(() => attempt(0), giveUp);
  };

  const state = (ref: ModelRef): MaybePromise<CircuitState> =>
    safely(() => {
      const key = keyOf(ref);
      return thenMaybe(store.get(key), (raw) => settleCircuit(read(key, raw), now()));
    }, INITIAL_CIRCUIT);

  const guard = (ref: ModelRef, source: Observable<TokenEvent>): Observable<TokenEvent> =>
    new Observable<TokenEvent>((subscriber) => {
      let ticket: CircuitTicket | undefined;
      let settled = false;
      let finished = false;
      let torn = false;
      // Held before any value flows: stops the source even from inside its synchronous emission.
      let inner: Subscription | undefined;

      const settle = (outcome: 'success' | 'failure' | 'release'): void => {
        if (settled) return;
        settled = true;
        const t = ticket;
        if (!t) return;
        void update(
          ref,
          (stored, at) => {
            switch (outcome) {
              case 'success':
                return [recordSuccess(stored, t, at, rules), undefined] as const;
              case 'failure':
                return [recordFailure(stored, t, at, rules), undefined] as const;
              case 'release':
                return [releaseCall(stored, t, at), undefined] as const;
            }
          },
          undefined,
        );
      };

      const admitted = (admission: CircuitAdmission | undefined): void => {
        if (torn) {
          // Unsubscribed while the store answered: give back a probe slot we may have taken.
          if (admission?.ok) {
            ticket = admission.ticket;
            settle('release');
          }
          return;
        }
        if (admission && !admission.ok) {
          settled = true;
          subscriber.error(circuitOpenError(ref, admission.retryAfterMs));
          return;
        }
        ticket = admission?.ticket;
        subscribeHeld(
          source,
          {
            next: (event) => {
              if (subscriber.closed) return;
              if (event.type === 'finish' && !finished) {
                finished = true;
                settle('success');
              }
              subscriber.next(event);
              if (subscriber.closed && !finished) {
                // Cut short downstream before an outcome: neither success nor failure.
                settle('release');
                inner?.unsubscribe();
              }
            },
            error: (thrown: unknown) => {
              const error = toLLMError(thrown, ref.provider, ref.model);
              let counts: boolean;
              try {
                counts = shouldCount(error);
              } catch (broken) {
                settle('release');
                subscriber.error(toLLMError(broken));
                return;
              }
              settle(counts ? 'failure' : 'release');
              subscriber.error(error);
            },
            complete: () => {
              if (subscriber.closed) return;
              if (finished) return subscriber.complete();
              settle('failure');
              subscriber.error(
                new LLMError('incomplete', 'The stream completed without a finish event', {
                  provider: ref.provider,
                  model: ref.model,
                }),
              );
            },
          },
          (held) => (inner = held),
        );
      };

      const admission = update<CircuitAdmission | undefined>(
        ref,
        (stored, at) => {
          const decision = admitCall(stored, at, rules);
          return [decision.next, decision] as const;
        },
        undefined,
      );
      if (isPromiseLike(admission)) {
        admission.then(admitted, () => admitted(undefined));
      } else {
        admitted(admission);
      }

      return () => {
        torn = true;
        inner?.unsubscribe();
        // Before the store answered there is no ticket yet: `admitted` releases it when it comes.
        if (ticket) settle('release');
      };
    });

  return {
    state$: transitions.asObservable(),
    state,
    watch: (ref) => {
      const key = keyOf(ref);
      return concat(
        defer(() => fromMaybePromise(state(ref))),
        transitions.pipe(
          filter((t) => t.key === key),
          map((t) => t.to),
        ),
      ).pipe(
        switchMap((s) =>
          s.state === 'open'
            ? concat(
                of<CircuitState>(s),
                timer(Math.max(0, s.until - now()), scheduler).pipe(map(() => settleCircuit(s, now()))),
              )
            : of(s),
        ),
        distinctUntilChanged((a, b) => a.state === b.state && a.epoch === b.epoch),
      );
    },
    guard,
    reset: (ref) =>
      thenMaybe(
        update(
          ref,
          (stored) =>
            [
              stored.state === 'closed' && stored.epoch === 0
                ? stored
                : { ...INITIAL_CIRCUIT, epoch: stored.epoch + 1 },
              undefined,
            ] as const,
          undefined,
        ),
        () => undefined,
      ),
  };
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

/** Runs a store step; a throw or a rejection yields `fallback` (the breaker fails open, never crashes a call). */
function safely<R>(step: () => MaybePromise<R>, fallback: R): MaybePromise<R> {
  try {
    const result = step();
    return isPromiseLike(result) ? Promise.resolve(result).then(undefined, () => fallback) : result;
  } catch {
    return fallback;
  }
}
