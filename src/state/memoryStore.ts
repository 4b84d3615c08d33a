import type {
  IncrementOptions,
  IncrementResult,
  StateStore,
  StoreWriteOptions,
  TokenTake,
  TokenTakeResult,
} from './store.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Clock for expiry, in milliseconds. Default `Date.now`; tests pass a virtual clock. */
  readonly now?: () => number;
}

interface Entry {
  /** `undefined` only for a token bucket not yet read as a string: rendered from `bucket` on first read. */
  value: string | string[] | undefined;
  expiresAt: number;
  /** A token bucket's state as last written by `takeTokens` (its JSON is `value`), so a take parses and renders nothing. */
  bucket?: { readonly tokens: number; readonly at: number };
}

/** A {@link memoryStore}: a {@link StateStore} that also tells how many entries it holds. */
export interface MemoryStore extends StateStore {
  /** Entries held, expired ones included until they are touched or swept. */
  readonly size: number;
}

/**
 * The default {@link StateStore}: a `Map` in this process. Each method runs and answers synchronously,
 * which makes it atomic in a single-threaded runtime and keeps operators over it marble-testable.
 *
 * An expired entry goes when it is next touched, and a sweep runs once the writes with a TTL since the
 * last one reach the number of entries it left (at least 1,024): keys written once with a TTL and never
 * read again do not accumulate, at an amortized constant cost per write.
 *
 * @example
 * const store = memoryStore();
 * store.increment('budget:day', 0.02, { limit: 5 }); // { ok: true, value: 0.02 }
 *
 * @param options Its clock (`now`) for expiry.
 * @returns A store in this process's memory.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let expiringWrites = 0;
  let sweepAfter = 1024;
  /** Counts a write; sweeps the expired entries when enough writes with a TTL have happened. */
  const wrote = (entry: Entry): void => {
    if (entry.expiresAt === Infinity || ++expiringWrites < sweepAfter) return;
    const at = now();
    for (const [key, e] of entries) if (e.expiresAt <= at) entries.delete(key);
    // The next sweep after as many writes as there are entries left: amortized O(1) per write.
    expiringWrites = 0;
    sweepAfter = Math.max(1024, entries.size);
  };
  const put = (key: string, entry: Entry): void => {
    entries.set(key, entry);
    wrote(entry);
  };

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    // Most entries never expire: read the clock only for those that do.
    if (entry && entry.expiresAt !== Infinity && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const expiry = (opts: StoreWriteOptions | undefined, previous?: Entry): number =>
    opts?.ttlMs !== undefined ? now() + opts.ttlMs : (previous?.expiresAt ?? Infinity);
  const scalarOf = (entry: Entry | undefined): string | undefined => {
    if (entry?.value === undefined && entry?.bucket) entry.value = JSON.stringify(entry.bucket);
    const value = entry?.value;
    return typeof value === 'string' ? value : undefined;
  };
  const scalar = (key: string): string | undefined => scalarOf(live(key));

  return {
    get(key) {
      return scalar(key);
    },
    get size() {
      return entries.size;
    },
    set(key, value, opts) {
      put(key, { value, expiresAt: expiry(opts) });
    },
    delete(key) {
      entries.delete(key);
    },
    compareAndSet(key, expected, next, opts) {
      const previous = live(key);
      if (scalarOf(previous) !== expected) return false;
      put(key, { value: next, expiresAt: expiry(opts, previous) });
      return true;
    },
    increment(key, delta, opts?: IncrementOptions): IncrementResult {
      const previous = live(key);
      const current = Number(scalarOf(previous) ?? 0);
      const value = current + delta;
      if (opts?.limit !== undefined && delta > 0 && value > opts.limit) return { ok: false, value: current };
      put(key, { value: String(value), expiresAt: expiry(opts, previous) });
      return { ok: true, value };
    },
    takeTokens(key, take: TokenTake): TokenTakeResult {
      const previous = live(key);
      const state = previous
        ? (previous.bucket ?? (JSON.parse(previous.value as string) as { tokens: number; at: number }))
        : undefined;
      const elapsed = state ? Math.max(0, take.now - state.at) : 0;
      const available = state
        ? Math.min(take.capacity, state.tokens + elapsed * take.refillPerMs)
        : take.capacity;
      const pauseMs = take.pauseMs ?? 0;
      if (available >= take.tokens || take.tokens <= 0 || take.allowDebt === true || pauseMs > 0) {
        // A negative take is a refund: it never fills the bucket past its capacity. A pause leaves the
        // bucket in debt for `pauseMs` of refill.
        const taken = Math.min(take.capacity, available - take.tokens);
        const remaining = pauseMs > 0 ? Math.min(taken, -pauseMs * take.refillPerMs) : taken;
        // The bucket's clock never runs backwards: a caller whose clock is behind (another process)
        // must not make the next caller refill the same interval twice.
        const bucket = { tokens: remaining, at: state ? Math.max(state.at, take.now) : take.now };
        entries.set(key, { value: undefined, expiresAt: Infinity, bucket });
        return { ok: true, remaining, waitMs: 0 };
      }
      const waitMs =
        take.tokens > take.capacity || take.refillPerMs <= 0
          ? Infinity
          : Math.ceil((take.tokens - available) / take.refillPerMs);
      return { ok: false, remaining: available, waitMs };
    },
    append(key, value, opts) {
      const previous = live(key);
      const list = Array.isArray(previous?.value) ? previous.value : [];
      list.push(value);
      put(key, { value: list, expiresAt: expiry(opts, previous) });
    },
    list(key) {
      const value = live(key)?.value;
      return Array.isArray(value) ? [...value] : [];
    },
    keys(prefix) {
      const out: string[] = [];
      for (const key of entries.keys()) if (key.startsWith(prefix) && live(key)) out.push(key);
      return out;
    },
    close() {
      entries.clear();
    },
  };
}
