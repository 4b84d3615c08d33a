/**
 * Where state shared across calls lives: budgets, breakers, rate limits, the cache and the ledger.
 *
 * Every method is one atomic step, so two processes sharing a store (Redis) cannot interleave inside it:
 * a budget reservation is one `increment` with a limit, a breaker transition one `compareAndSet`, a rate
 * limit one `takeTokens`. Values are strings (JSON where structured) so any backend can hold them.
 * Times are passed in (`now`) rather than read, so operators stay drivable by a virtual clock.
 *
 * Results are {@link MaybePromise}s: the in-memory store answers synchronously, so operators over it
 * stay synchronous and marble-testable; a networked store (Redis) answers with promises. Operators turn
 * either into an Observable with `fromMaybePromise()` (see `src/state/maybePromise.ts`).
 */
export interface StateStore {
  /** The value at `key`, or `undefined` when absent or expired. */
  get(key: string): MaybePromise<string | undefined>;
  /** Sets `key`; with `ttlMs`, it expires after that long. */
  set(key: string, value: string, options?: StoreWriteOptions): MaybePromise<void>;
  /** Removes `key` (nothing happens when it is absent). */
  delete(key: string): MaybePromise<void>;
  /**
   * Sets `key` to `next` only if it currently holds `expected` (`undefined`: absent). True if it did.
   * The building block for state machines shared across processes (the circuit breaker).
   */
  compareAndSet(
    key: string,
    expected: string | undefined,
    next: string,
    options?: StoreWriteOptions,
  ): MaybePromise<boolean>;
  /**
   * Adds `delta` to the number at `key` (absent counts as 0). With `limit`, the addition happens only if
   * the result stays at or below it; `ok` says whether it did and `value` is the number afterwards.
   * A reservation against a budget is one such call, so concurrent callers cannot overspend.
   */
  increment(key: string, delta: number, options?: IncrementOptions): MaybePromise<IncrementResult>;
  /**
   * Takes `tokens` from the token bucket at `key` (capacity `capacity`, refilled continuously at
   * `refillPerMs`). The bucket keeps the latest `now` it was given: an earlier one (a caller whose clock
   * is behind) refills nothing, so skewed clocks never refill one interval twice. If too few are left nothing is taken and `waitMs` says when enough will be.
   * A negative `tokens` gives tokens back (never above `capacity`) and always succeeds; with `allowDebt`
   * the take always succeeds and may leave the bucket below zero (see {@link TokenTake}).
   */
  takeTokens(key: string, take: TokenTake): MaybePromise<TokenTakeResult>;
  /** Appends `value` to the list at `key`. */
  append(key: string, value: string, options?: StoreWriteOptions): MaybePromise<void>;
  /** Every value of the list at `key`, oldest first. */
  list(key: string): MaybePromise<readonly string[]>;
  /** Every live key that starts with `prefix`. */
  keys(prefix: string): MaybePromise<readonly string[]>;
  /** Releases connections and timers. */
  close(): MaybePromise<void>;
}

/** A value now, or later. */
export type MaybePromise<T> = T | PromiseLike<T>;

/** Options of a write: how long the key lives. */
export interface StoreWriteOptions {
  /** Time to live in milliseconds; the key is gone after it. */
  readonly ttlMs?: number;
}

/** Options of {@link StateStore.increment}: the ceiling the result must stay under. */
export interface IncrementOptions extends StoreWriteOptions {
  /** The highest the value may become; above it nothing is added. */
  readonly limit?: number;
}

/** What {@link StateStore.increment} did: whether it added, and the number afterwards. */
export interface IncrementResult {
  /** Whether the addition happened. */
  readonly ok: boolean;
  /** The number at the key afterwards. */
  readonly value: number;
}

/** One take from a token bucket: how many tokens, the bucket's shape, and the caller's clock. */
export interface TokenTake {
  /** Tokens to take (negative: to give back). */
  readonly tokens: number;
  /** The most tokens the bucket holds. */
  readonly capacity: number;
  /** Tokens added per millisecond. */
  readonly refillPerMs: number;
  /** The caller's clock, in milliseconds. */
  readonly now: number;
  /**
   * Take even if too few are left, leaving the bucket in debt (below zero) until refills cover it: how a
   * rate limiter settles a call that used more tokens than it reserved. Default `false`. A store that
   * predates this field refuses such a take as usual, so callers treat it as best effort.
   */
  readonly allowDebt?: boolean;
  /**
   * Hold the bucket empty for this many milliseconds from `now` (a vendor's `retry-after`): the take
   * succeeds and leaves the bucket at most `-pauseMs * refillPerMs`, so every process sharing it waits.
   * Default 0.
   */
  readonly pauseMs?: number;
}

/** What {@link StateStore.takeTokens} did: whether it took, what is left, and how long to wait otherwise. */
export interface TokenTakeResult {
  /** Whether the tokens were taken. */
  readonly ok: boolean;
  /** Tokens left after the take (or now, if nothing was taken). */
  readonly remaining: number;
  /** How long until `tokens` will be available; 0 when `ok`. */
  readonly waitMs: number;
}
