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
  // Expiry times in a min-heap, so a write finds what expired without scanning every entry. Removed or
  // replaced entries leave stale items, skipped when they come up and dropped when the heap is rebuilt.
  const expiries = createExpiryHeap();
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
      const slot: Slot = { bytes: size, expiresAt };
      slots.set(key, slot);
      bytes += size;
      if (expiresAt !== Infinity) expiries.push(expiresAt, key, slot);
      const evicted: string[] = [];
      for (let due = expiries.popDue(now); due; due = expiries.popDue(now)) {
        if (slots.get(due.key) !== due.slot) continue;
        remove(due.key);
        evicted.push(due.key);
      }
      for (const [other] of slots) {
        if (slots.size <= maxEntries && bytes <= maxBytes) break;
        if (other === key) continue;
        remove(other);
        evicted.push(other);
      }
      if (expiries.size > 2 * slots.size + 64) expiries.rebuild(slots);
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
      expiries.rebuild(slots);
      bytes = 0;
    },
  };
}

interface Expiry {
  readonly at: number;
  readonly key: string;
  /** The slot it was pushed for: a later slot of the same key makes it stale. */
  readonly slot: Slot;
}

/** A binary min-heap of expiry times. */
function createExpiryHeap() {
  let heap: Expiry[] = [];
  const up = (i: number): void => {
    const item = heap[i] as Expiry;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Expiry).at <= item.at) break;
      heap[i] = heap[parent] as Expiry;
      i = parent;
    }
    heap[i] = item;
  };
  const down = (i: number): void => {
    const item = heap[i] as Expiry;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && (heap[child + 1] as Expiry).at < (heap[child] as Expiry).at) child++;
      if ((heap[child] as Expiry).at >= item.at) break;
      heap[i] = heap[child] as Expiry;
      i = child;
    }
    heap[i] = item;
  };
  return {
    get size() {
      return heap.length;
    },
    push(at: number, key: string, slot: Slot): void {
      heap.push({ at, key, slot });
      up(heap.length - 1);
    },
    /** The earliest item due at `now` (expiresAt ≤ now), taken out; `undefined` when none is. */
    popDue(now: number): Expiry | undefined {
      const top = heap[0];
      if (!top || top.at > now) return undefined;
      const last = heap.pop() as Expiry;
      if (heap.length > 0) {
        heap[0] = last;
        down(0);
      }
      return top;
    },
    /** Keeps only the live slots' items. */
    rebuild(slots: ReadonlyMap<string, Slot>): void {
      heap = [];
      for (const [key, slot] of slots)
        if (slot.expiresAt !== Infinity) heap.push({ at: slot.expiresAt, key, slot });
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    },
  };
}
