import { asyncScheduler, catchError, concat, defer, map, Observable, of, Subject, throwError } from 'rxjs';
import type { SchedulerLike, Subscription } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import type { ModelRef } from '../core/events.js';
import { defineModel, type LanguageModel, type ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { fromMaybePromise, thenMaybe } from '../state/maybePromise.js';
import { memoryStore } from '../state/memoryStore.js';
import type { MaybePromise, StateStore } from '../state/store.js';
import { roughTokenEstimate } from './rateLimitEstimate.js';
import { followWith } from './internal/followWith.js';
import { relay } from './internal/relay.js';

/**
 * What a rate limit is counted per: `'provider'` (default; one budget for every model of a vendor account),
 * `'model'` (`provider/model`, for vendors that limit each model apart), or a function of the model and
 * the request (a tenant, an API key's label).
 */
export type RateLimitKey = 'provider' | 'model' | ((model: ModelRef, request: ChatRequest) => string);

/** Configuration of {@link createRateLimiter} and {@link rateLimit}. */
export interface RateLimitConfig {
  /** Calls admitted per minute per key. Default: no request limit. */
  readonly requestsPerMinute?: number;
  /** Tokens (input plus output, estimated before the call) admitted per minute per key. Default: no limit. */
  readonly tokensPerMinute?: number;
  /**
   * Bucket sizes: how much may go at once after a quiet spell. Default: one minute's worth of each limit
   * (the vendors' own accounting). Each must be at least 1.
   */
  readonly burst?: {
    /** Requests the bucket holds when full. */
    readonly requests?: number;
    /** Tokens the bucket holds when full. */
    readonly tokens?: number;
  };
  /** What the limits are counted per. Default `'provider'`. */
  readonly key?: RateLimitKey;
  /**
   * Tokens a request will use, guessed before the call. Default {@link roughTokenEstimate} (characters / 4
   * plus `maxTokens`, or 1024). The guess is settled from the finish usage after the call.
   */
  readonly estimateTokens?: (request: ChatRequest) => number;
  /**
   * Most calls that may wait at once per key. Default `100`. A call that would have to wait while this
   * many already wait fails at once with `queue_full`. Calls that can go right away never count.
   */
  readonly maxQueue?: number;
  /**
   * Longest a call may wait in the queue. Default `Infinity`. A call that waits longer, or that the bucket
   * says cannot be served within it, fails with `rate_limit` and an estimated `retryAfterMs`.
   */
  readonly maxWaitMs?: number;
  /**
   * Longest a vendor's rate-limit answer (a `rate_limit` error with an HTTP status and `retryAfterMs`, i.e.
   * a 429 with `retry-after`) holds this key's buckets empty: every process sharing the store waits it out
   * instead of sending into the vendor's refusal. Default `60_000`; `0` ignores the vendor's hint.
   */
  readonly maxRetryAfterMs?: number;
  /** Where the buckets live. Default a fresh `memoryStore()`; share a networked store across processes. */
  readonly store?: StateStore;
  /** Prefix of the store keys (`<prefix>:<key>:requests`, `<prefix>:<key>:tokens`). Default `'ratelimit'`. */
  readonly prefix?: string;
  /** Clock and timers. Default `asyncScheduler`; pass a `TestScheduler` in tests. */
  readonly scheduler?: SchedulerLike;
}

/** What one call asks of the buckets. */
export interface RateLimitCost {
  /** Default `1`. */
  readonly requests?: number;
  /** Default `0`. */
  readonly tokens?: number;
}

/** A call's admission: what it reserved, how long it waited, and how to settle the reservation. */
export interface RatePermit {
  /** The bucket key the call was counted against. */
  readonly key: string;
  /** Tokens reserved (the estimate, capped at the token bucket's capacity; 0 without a token limit). */
  readonly tokens: number;
  /** Milliseconds the call waited in the queue. */
  readonly waitedMs: number;
  /**
   * Settles the reservation against the tokens really used: gives back what was over-estimated (which
   * may let a waiting call go at once) or takes the shortfall, even into debt. Only the first call counts.
   */
  settle(usedTokens: number): void;
}

/** Counters of one key's queue, for dashboards. */
export interface RateLimitLaneState {
  /** The bucket key. */
  readonly key: string;
  /** Calls waiting now. */
  readonly queued: number;
  /** Calls admitted so far. */
  readonly admitted: number;
  /** Admitted calls that had to wait. */
  readonly waited: number;
  /** Sum of every admitted call's wait, in milliseconds. */
  readonly totalWaitMs: number;
  /** The last admitted call's wait, in milliseconds. */
  readonly lastWaitMs: number;
  /** Calls refused with `queue_full`. */
  readonly rejected: number;
  /** Calls failed with `rate_limit` because they would have waited past `maxWaitMs`. */
  readonly expired: number;
  /** Calls unsubscribed while they waited. */
  readonly cancelled: number;
}

/** Every key's queue at one moment. */
export interface RateLimiterState {
  /** The scheduler's clock when the state was read. */
  readonly at: number;
  /** Each key's counters. */
  readonly lanes: Readonly<Record<string, RateLimitLaneState>>;
}

/** A shared rate limiter: create it once, apply its policy to every model that shares the limits. */
export interface RateLimiter {
  /** The policy: a model whose calls wait for the limiter's buckets. Identity when no limit is set. */
  policy(): ModelPolicy;
  /**
   * Waits for room for `cost` under `key`: emits one permit then completes, or fails with `queue_full`
   * or `rate_limit`. Unsubscribing while waiting leaves the queue and takes nothing.
   */
  acquire(key: string, cost?: RateLimitCost): Observable<RatePermit>;
  /** The limiter's counters now. */
  snapshot(): RateLimiterState;
  /** The counters, now and after every change (a call queued, admitted, refused or cancelled). */
  readonly state$: Observable<RateLimiterState>;
}

interface Bucket {
  readonly kind: 'requests' | 'tokens';
  readonly capacity: number;
  readonly refillPerMs: number;
}

interface Amounts {
  readonly requests: number;
  readonly tokens: number;
}

interface Waiter {
  readonly cost: Amounts;
  readonly since: number;
  /** False while a call that found the queue empty has its first try; true once it waits. */
  waiting: boolean;
  /** Admitted, failed or cancelled. */
  done: boolean;
  deadline: Subscription | undefined;
  readonly admit: (waitedMs: number) => void;
  readonly fail: (error: LLMError) => void;
}

interface Lane {
  readonly key: string;
  readonly queue: Waiter[];
  /** The head whose take the store has not answered yet. */
  trying: Waiter | undefined;
  /** When the head tries again. */
  timer: Subscription | undefined;
  dueAt: number | undefined;
  pumping: boolean;
  stats: { -readonly [K in Exclude<keyof RateLimitLaneState, 'key' | 'queued'>]: number };
}

interface TakeAnswer {
  readonly ok: boolean;
  readonly waitMs: number;
}

const MINUTE = 60_000;

/**
 * Creates a rate limiter: token buckets for requests and tokens per minute, per provider (or model, or any
 * key), with a bounded FIFO queue in front of them.
 *
 * Over the limit a call waits instead of failing, in arrival order: a later small call never overtakes an
 * earlier large one. Tokens are estimated before the call and settled from the finish usage after it.
 * A call that fails or is unsubscribed keeps its reservation (the vendor counted it too). The buckets
 * live in a {@link StateStore}, so processes that share a store share the limits; the queue is per process.
 *
 * A vendor's 429 teaches the limiter: its `retry-after` holds the key's buckets empty (through the store,
 * so the whole fleet waits; see `maxRetryAfterMs`).
 *
 * Errors: a full queue gives `queue_full` (not retryable: retrying in process only adds to the load it
 * shed; fallback may move on to another provider); a wait past `maxWaitMs` gives `rate_limit` (retryable)
 * with an estimated `retryAfterMs`.
 *
 * ## Example
 * ```ts
 * const openaiLimits = createRateLimiter({ requestsPerMinute: 500, tokensPerMinute: 200_000, maxWaitMs: 30_000 });
 * const gpt = openai({ model: 'gpt-4o' }).pipe(openaiLimits.policy());
 * const mini = openai({ model: 'gpt-4o-mini' }).pipe(openaiLimits.policy()); // same 'openai' buckets
 * openaiLimits.state$.subscribe((state) => console.log(state.lanes.openai?.queued));
 * ```
 *
 * @see rateLimit
 * @see roughTokenEstimate
 * @param config Limits, queue bounds, store and scheduler; each default documented on {@link RateLimitConfig}.
 * @returns The shared limiter.
 */
export function createRateLimiter(config: RateLimitConfig = {}): RateLimiter {
  const scheduler = config.scheduler ?? asyncScheduler;
  const store = config.store ?? memoryStore();
  const prefix = config.prefix ?? 'ratelimit';
  const maxQueue = config.maxQueue ?? 100;
  const maxWaitMs = config.maxWaitMs ?? Infinity;
  const estimate = config.estimateTokens ?? ((request: ChatRequest) => roughTokenEstimate(request));
  const requestBucket = bucket('requests', config.requestsPerMinute, config.burst?.requests);
  const tokenBucket = bucket('tokens', config.tokensPerMinute, config.burst?.tokens);
  const buckets = [requestBucket, tokenBucket].filter((b): b is Bucket => b !== undefined);
  if (!(maxQueue >= 0)) throw new RangeError(`rateLimit: maxQueue must be 0 or more, got ${maxQueue}`);
  if (!(maxWaitMs >= 0)) throw new RangeError(`rateLimit: maxWaitMs must be 0 or more, got ${maxWaitMs}`);

  const lanes = new Map<string, Lane>();
  const changes = new Subject<void>();

  const laneOf = (key: string): Lane => {
    let lane = lanes.get(key);
    if (!lane) {
      lane = {
        key,
        queue: [],
        trying: undefined,
        timer: undefined,
        dueAt: undefined,
        pumping: false,
        stats: {
          admitted: 0,
          waited: 0,
          totalWaitMs: 0,
          lastWaitMs: 0,
          rejected: 0,
          expired: 0,
          cancelled: 0,
        },
      };
      lanes.set(key, lane);
    }
    return lane;
  };
  const storeKey = (lane: Lane, b: Bucket): string => `${prefix}:${lane.key}:${b.kind}`;
  const amountOf = (cost: Amounts, b: Bucket): number => cost[b.kind];

  /** Takes `amounts` from every bucket, or nothing: a later bucket's refusal gives the earlier ones back. */
  const take = (lane: Lane, amounts: Amounts, from = 0): MaybePromise<TakeAnswer> => {
    const b = buckets[from];
    if (!b) return { ok: true, waitMs: 0 };
    const amount = amountOf(amounts, b);
    if (amount <= 0) return take(lane, amounts, from + 1);
    const now = scheduler.now();
    const answer = store.takeTokens(storeKey(lane, b), {
      tokens: amount,
      capacity: b.capacity,
      refillPerMs: b.refillPerMs,
      now,
    });
    return thenMaybe(answer, (first) => {
      if (!first.ok) return { ok: false, waitMs: first.waitMs };
      return thenMaybe(take(lane, amounts, from + 1), (rest) =>
        rest.ok ? rest : thenMaybe(give(lane, b, -amount), () => rest),
      );
    });
  };
  /** Adds `tokens` to one bucket's count of used tokens (negative: gives them back). */
  const give = (lane: Lane, b: Bucket, tokens: number): MaybePromise<unknown> =>
    store.takeTokens(storeKey(lane, b), {
      tokens,
      capacity: b.capacity,
      refillPerMs: b.refillPerMs,
      now: scheduler.now(),
      allowDebt: true,
    });
  const refund = (lane: Lane, amounts: Amounts): void => {
    for (const b of buckets) {
      const amount = amountOf(amounts, b);
      if (amount > 0) bestEffort(give(lane, b, -amount), () => kick(lane));
    }
  };

  const maxRetryAfterMs = config.maxRetryAfterMs ?? MINUTE;
  /** The vendor said when to come back: hold every bucket of the key empty until then, fleet-wide. */
  const pauseFor = (lane: Lane, error: unknown): void => {
    if (!LLMError.isInstance(error) || error.kind !== 'rate_limit' || error.status === undefined) return;
    const pauseMs = Math.min(error.retryAfterMs ?? 0, maxRetryAfterMs);
    if (!(pauseMs > 0)) return;
    const now = scheduler.now();
    for (const b of buckets) {
      const { capacity, refillPerMs } = b;
      const paused = store.takeTokens(storeKey(lane, b), { tokens: 0, capacity, refillPerMs, now, pauseMs });
      bestEffort(paused, () => undefined);
    }
  };

  const waitingCount = (lane: Lane): number => lane.queue.filter((w) => w.waiting && !w.done).length;

  /** Lets the head try again now (tokens came back). */
  const kick = (lane: Lane): void => {
    if (!lane.timer) return;
    lane.timer.unsubscribe();
    lane.timer = undefined;
    lane.dueAt = undefined;
    pump(lane);
  };

  /** Serves the queue head first, for as long as the store answers yes at once. */
  const pump = (lane: Lane): void => {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      while (!lane.trying && !lane.timer && lane.queue.length > 0) {
        const head = lane.queue[0] as Waiter;
        lane.trying = head;
        defer(() => fromMaybePromise(take(lane, head.cost))).subscribe({
          next: (answer) => answered(lane, head, answer),
          error: (error: unknown) => storeFailed(lane, head, error),
        });
      }
    } finally {
      lane.pumping = false;
    }
  };

  /** A store that cannot answer fails the call that asked; the queue moves on. */
  const storeFailed = (lane: Lane, head: Waiter, error: unknown): void => {
    lane.trying = undefined;
    if (!head.done) {
      finish(lane, head);
      head.fail(toLLMError(error));
    }
    changes.next();
    pump(lane);
  };

  const answered = (lane: Lane, head: Waiter, answer: TakeAnswer): void => {
    lane.trying = undefined;
    if (head.done) {
      // Cancelled while the store answered: give back whatever it took.
      if (answer.ok) refund(lane, head.cost);
      pump(lane);
      return;
    }
    const now = scheduler.now();
    if (answer.ok) {
      finish(lane, head);
      const waitedMs = now - head.since;
      lane.stats.admitted++;
      lane.stats.lastWaitMs = waitedMs;
      lane.stats.totalWaitMs += waitedMs;
      if (waitedMs > 0) lane.stats.waited++;
      head.admit(waitedMs);
    } else if (!Number.isFinite(answer.waitMs)) {
      finish(lane, head);
      head.fail(
        new LLMError('rate_limit', `Rate limit ${lane.key}: this call can never fit the bucket`, {
          retryable: false,
        }),
      );
    } else if (!head.waiting && waitingCount(lane) >= maxQueue) {
      finish(lane, head);
      lane.stats.rejected++;
      head.fail(queueFull(lane, answer.waitMs));
    } else if (now + answer.waitMs - head.since > maxWaitMs) {
      finish(lane, head);
      lane.stats.expired++;
      head.fail(expired(lane, answer.waitMs));
    } else {
      if (!head.waiting) {
        head.waiting = true;
        startDeadline(lane, head);
      }
      lane.dueAt = now + answer.waitMs;
      lane.timer = scheduler.schedule(() => {
        lane.timer = undefined;
        lane.dueAt = undefined;
        pump(lane);
      }, answer.waitMs);
    }
    changes.next();
    pump(lane);
  };

  /** Takes a settled waiter out of the queue. */
  const finish = (lane: Lane, waiter: Waiter): void => {
    waiter.done = true;
    waiter.deadline?.unsubscribe();
    const index = lane.queue.indexOf(waiter);
    if (index >= 0) lane.queue.splice(index, 1);
  };

  /** Takes a waiter out that left before its turn (unsubscribed or expired); the next head tries at once. */
  const leave = (lane: Lane, waiter: Waiter): void => {
    const wasHead = lane.queue[0] === waiter;
    finish(lane, waiter);
    if (wasHead && lane.trying !== waiter) kick(lane);
    changes.next();
  };

  const startDeadline = (lane: Lane, waiter: Waiter): void => {
    if (!Number.isFinite(maxWaitMs)) return;
    const delay = Math.max(0, waiter.since + maxWaitMs - scheduler.now());
    waiter.deadline = scheduler.schedule(() => {
      const now = scheduler.now();
      // The head due right now, or being tried, is decided by its take, not by the deadline.
      if (lane.trying === waiter) return;
      if (lane.queue[0] === waiter && lane.dueAt !== undefined && lane.dueAt <= now) return;
      const retryAfterMs = estimateWait(lane, waiter, now);
      lane.stats.expired++;
      leave(lane, waiter);
      waiter.fail(expired(lane, retryAfterMs));
    }, delay);
  };

  /** A rough time until `waiter` would go: the head's wait, then refills for everyone ahead of it. */
  const estimateWait = (lane: Lane, waiter: Waiter, now: number): number => {
    const index = lane.queue.indexOf(waiter);
    const headWait = lane.dueAt !== undefined ? Math.max(0, lane.dueAt - now) : 0;
    let behindHead = 0;
    for (const b of buckets) {
      let sum = 0;
      for (let i = 1; i <= index; i++) sum += amountOf((lane.queue[i] as Waiter).cost, b);
      behindHead = Math.max(behindHead, sum / b.refillPerMs);
    }
    return Math.ceil(headWait + behindHead);
  };

  const queueFull = (lane: Lane, waitMs: number): LLMError =>
    new LLMError('queue_full', `Rate limit ${lane.key}: ${maxQueue} calls already wait`, {
      retryable: false,
      retryAfterMs: Math.ceil(lane.dueAt !== undefined ? lane.dueAt - scheduler.now() : waitMs),
    });
  const expired = (lane: Lane, retryAfterMs: number): LLMError =>
    new LLMError('rate_limit', `Rate limit ${lane.key}: the call would wait more than ${maxWaitMs}ms`, {
      retryable: true,
      retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)),
    });

  const costOf = (cost: RateLimitCost): Amounts => ({
    requests: clampTo(requestBucket, cost.requests ?? 1),
    tokens: clampTo(tokenBucket, cost.tokens ?? 0),
  });

  const acquire = (key: string, cost: RateLimitCost = {}): Observable<RatePermit> =>
    new Observable<RatePermit>((subscriber) => {
      const lane = laneOf(key);
      const amounts = costOf(cost);
      const fresh = lane.queue.length === 0;
      if (!fresh && waitingCount(lane) >= maxQueue) {
        lane.stats.rejected++;
        changes.next();
        subscriber.error(queueFull(lane, 0));
        return undefined;
      }
      const waiter: Waiter = {
        cost: amounts,
        since: scheduler.now(),
        waiting: !fresh,
        done: false,
        deadline: undefined,
        admit: (waitedMs) => {
          subscriber.next(permitFor(lane, amounts, waitedMs));
          subscriber.complete();
        },
        fail: (error) => subscriber.error(error),
      };
      lane.queue.push(waiter);
      if (!fresh) {
        startDeadline(lane, waiter);
        changes.next();
      }
      pump(lane);
      return () => {
        if (waiter.done) return;
        lane.stats.cancelled++;
        leave(lane, waiter);
      };
    });

  const permitFor = (lane: Lane, amounts: Amounts, waitedMs: number): RatePermit => {
    let settled = false;
    return {
      key: lane.key,
      tokens: amounts.tokens,
      waitedMs,
      settle: (usedTokens) => {
        if (settled || !tokenBucket || !Number.isFinite(usedTokens)) return;
        settled = true;
        const difference = Math.ceil(usedTokens) - amounts.tokens;
        if (difference === 0) return;
        bestEffort(give(lane, tokenBucket, difference), () => {
          if (difference < 0) kick(lane);
        });
      },
    };
  };

  const snapshot = (): RateLimiterState => {
    const out: Record<string, RateLimitLaneState> = {};
    for (const lane of lanes.values()) {
      out[lane.key] = { key: lane.key, queued: lane.queue.length, ...lane.stats };
    }
    return { at: scheduler.now(), lanes: out };
  };

  const keyOf = (model: ModelRef, request: ChatRequest): string => {
    const key = config.key ?? 'provider';
    if (typeof key === 'function') return key(model, request);
    return key === 'provider' ? model.provider : `${model.provider}/${request.model ?? model.model}`;
  };

  const limited: ModelPolicy = (model: LanguageModel) =>
    defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      stream: (request) =>
        defer(() => {
          let key: string;
          let tokens = 0;
          try {
            key = keyOf(model, request);
            if (tokenBucket) tokens = checkedEstimate(estimate(request));
          } catch (error) {
            throw toLLMError(error, model.provider, model.model);
          }
          const permit$ = acquire(key, { requests: 1, tokens }).pipe(
            catchError((error: unknown) => throwError(() => toLLMError(error, model.provider, model.model))),
          );
          return followWith(permit$, (permit) =>
            model.stream(request).pipe(
              relay({
                next: (event) => {
                  if (event.type === 'finish')
                    permit.settle(event.usage.inputTokens + event.usage.outputTokens);
                },
                error: (error) => pauseFor(laneOf(permit.key), error),
              }),
            ),
          );
        }),
    });

  return {
    policy: () => (buckets.length === 0 ? (model) => model : limited),
    acquire,
    snapshot,
    state$: defer(() => concat(of(undefined), changes)).pipe(map(snapshot)),
  };
}

function bucket(
  kind: Bucket['kind'],
  perMinute: number | undefined,
  burst: number | undefined,
): Bucket | undefined {
  if (perMinute === undefined) return undefined;
  if (!(perMinute > 0) || !Number.isFinite(perMinute)) {
    throw new RangeError(`rateLimit: ${kind} per minute must be a positive number, got ${perMinute}`);
  }
  const capacity = burst ?? perMinute;
  if (!(capacity >= 1) || !Number.isFinite(capacity)) {
    throw new RangeError(`rateLimit: the ${kind} burst must be at least 1, got ${capacity}`);
  }
  return { kind, capacity, refillPerMs: perMinute / MINUTE };
}

/** A call bigger than the whole bucket takes the whole bucket, so it is slow rather than never served. */
function clampTo(b: Bucket | undefined, amount: number): number {
  if (!b) return 0;
  return Math.min(b.capacity, Math.max(0, Math.ceil(amount)));
}

function checkedEstimate(tokens: number): number {
  if (!Number.isFinite(tokens) || tokens < 0) {
    throw new RangeError(`rateLimit: estimateTokens must return a number of 0 or more, got ${tokens}`);
  }
  return tokens;
}

/** Runs a store write whose answer only matters for `then`; a failure is dropped (settling is best effort). */
function bestEffort(answer: MaybePromise<unknown>, then: () => void): void {
  fromMaybePromise(answer).subscribe({ next: then, error: () => undefined });
}
