/** What the index knows of one stored entry. */
interface Slot {
  bytes: number;
  expiresAt: number;
}

/** Options of {@link createLruIndex}. */
export interface LruIndexOptions {
  /** Most entries kept. Default `Infinity`. */
  readonly maxEntries?: number;
  /** Most bytes kept (sum of the stored sizes). Default `Infinity`. */
  readonly maxBytes?: number;
}

/**
 * An in-process index of the cache's entries in recency order, with their sizes and expiry times. It
 * holds no values (those live in the `StateStore`); it decides which keys to evict so that the entries
 * stay within `maxEntries` and `maxBytes`, and which are past their time.
 *
 * With a store shared between processes (Redis) each process bounds what it wrote or read; the store's
 * own TTL is what finally removes entries nobody touches.
 *
 * ## Example
 * ```ts
 * const lru = createLruIndex({ maxEntries: 2 });
 * lru.put('a', 10, Infinity, 0); lru.put('b', 10, Infinity, 0);
 * lru.put('c', 10, Infinity, 0); // ['a']: the least recently used key, to delete from the store
 * ```
 */
export interface LruIndex {
  /**
   * Records `key` (most recent) with its size and expiry; answers the keys to evict, expired ones first,
   * then least recently used. An entry larger than `maxBytes` on its own is not admitted: it is answered
   * among the evicted keys.
   */
  put(key: string, bytes: number, expiresAt: number, now: number): string[];
  /** Marks `key` as just used. False if the index does not know it. */
  touch(key: string): boolean;
  /** Forgets `key`. */
  remove(key: string): void;
  has(key: string): boolean;
  readonly size: number;
  readonly bytes: number;
  keys(): string[];
  clear(): void;
}

/**
 * Creates an {@link LruIndex}.
 *
 * ## Example
 * ```ts
 * const lru = createLruIndex({ maxEntries: 1000, maxBytes: 64 * 1024 * 1024 });
 * for (const key of lru.put(storeKey, stored.length, expiresAt, scheduler.now())) store.delete(key);
 * ```
 */
export function createLruIndex(options: LruIndexOptions = {}): LruIndex {
  const maxEntries = options.maxEntries ?? Infinity;
  const maxBytes = options.maxBytes ?? Infinity;
  // A Map iterates in insertion order: re-inserting a key makes it the most recent.
  const slots = new Map<string, Slot>();
  let bytes = 0;

  const remove = (key: string): void => {
    const slot = slots.get(key);
    if (!slot) return;
    bytes -= slot.bytes;
    slots.delete(key);
  };

  return {
    put(key, size, expiresAt, now) {
      remove(key);
      if (size > maxBytes || maxEntries < 1) return [key];
      slots.set(key, { bytes: size, expiresAt });
      bytes += size;
      const evicted: string[] = [];
      for (const [other, slot] of slots) {
        if (slot.expiresAt <= now) evicted.push(other);
      }
      for (const other of evicted) remove(other);
      for (const [other] of slots) {
        if (slots.size <= maxEntries && bytes <= maxBytes) break;
        if (other === key) continue;
        remove(other);
        evicted.push(other);
      }
      return evicted;
    },
    touch(key) {
      const slot = slots.get(key);
      if (!slot) return false;
      slots.delete(key);
      slots.set(key, slot);
      return true;
    },
    remove,
    has: (key) => slots.has(key),
    get size() {
      return slots.size;
    },
    get bytes() {
      return bytes;
    },
    keys: () => [...slots.keys()],
    clear() {
      slots.clear();
      bytes = 0;
    },
  };
}
