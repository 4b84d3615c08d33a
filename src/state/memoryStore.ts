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

/**
 * The default {@link StateStore}: a `Map` in this process. Each method runs and answers synchronously,
 * which makes it atomic in a single-threaded runtime and keeps operators over it marble-testable.
 *
 * @example
 * const store = memoryStore();
 * store.increment('budget:day', 0.02, { limit: 5 }); // { ok: true, value: 0.02 }
 */
export function memoryStore(options: MemoryStoreOptions = {}): StateStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

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
    set(key, value, opts) {
      entries.set(key, { value, expiresAt: expiry(opts) });
    },
    delete(key) {
      entries.delete(key);
    },
    compareAndSet(key, expected, next, opts) {
      const previous = live(key);
      if (scalarOf(previous) !== expected) return false;
      entries.set(key, { value: next, expiresAt: expiry(opts, previous) });
      return true;
    },
    increment(key, delta, opts?: IncrementOptions): IncrementResult {
      const previous = live(key);
      const current = Number(scalarOf(previous) ?? 0);
      const value = current + delta;
      if (opts?.limit !== undefined && delta > 0 && value > opts.limit) return { ok: false, value: current };
      entries.set(key, { value: String(value), expiresAt: expiry(opts, previous) });
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
      if (available >= take.tokens || take.tokens <= 0 || take.allowDebt === true) {
        // A negative take is a refund: it never fills the bucket past its capacity.
        const remaining = Math.min(take.capacity, available - take.tokens);
        const bucket = { tokens: remaining, at: take.now };
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
      entries.set(key, { value: list, expiresAt: expiry(opts, previous) });
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
