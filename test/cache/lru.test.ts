import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLruIndex } from '../../src/cache/lru.js';

describe('createLruIndex', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const lru = createLruIndex({ maxEntries: 2 });
    expect(lru.put('a', 1, Infinity, 0)).toEqual([]);
    expect(lru.put('b', 1, Infinity, 0)).toEqual([]);
    expect(lru.touch('a')).toBe(true);
    expect(lru.put('c', 1, Infinity, 0)).toEqual(['b']);
    expect(lru.keys()).toEqual(['a', 'c']);
  });

  it('evicts until the bytes fit maxBytes, and refuses an entry larger than maxBytes', () => {
    const lru = createLruIndex({ maxBytes: 100 });
    lru.put('a', 40, Infinity, 0);
    lru.put('b', 40, Infinity, 0);
    expect(lru.put('c', 50, Infinity, 0)).toEqual(['a']);
    expect(lru.bytes).toBe(90);
    expect(lru.put('huge', 101, Infinity, 0)).toEqual(['huge']);
    expect(lru.has('huge')).toBe(false);
    expect(lru.bytes).toBe(90);
  });

  it('drops expired entries first, and replaces an entry of the same key', () => {
    const lru = createLruIndex({ maxEntries: 3 });
    lru.put('old', 1, 10, 0);
    lru.put('a', 5, Infinity, 0);
    lru.put('a', 7, Infinity, 0);
    expect(lru.size).toBe(2);
    expect(lru.bytes).toBe(8);
    expect(lru.put('b', 1, Infinity, 10)).toEqual(['old']);
    lru.remove('a');
    expect(lru.keys()).toEqual(['b']);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
  });

  it('evicts as a full scan would: expired entries, then least recently used (property)', () => {
    /** The rules written the slow way: every write scans every entry for expiry. */
    const reference = (maxEntries: number, maxBytes: number) => {
      const slots = new Map<string, { bytes: number; expiresAt: number }>();
      return {
        slots,
        put(key: string, bytes: number, expiresAt: number, now: number): string[] {
          slots.delete(key);
          if (bytes > maxBytes) return [key];
          slots.set(key, { bytes, expiresAt });
          const evicted = [...slots].filter(([, s]) => s.expiresAt <= now).map(([k]) => k);
          for (const k of evicted) slots.delete(k);
          const total = () => [...slots.values()].reduce((sum, s) => sum + s.bytes, 0);
          for (const [other] of slots) {
            if (slots.size <= maxEntries && total() <= maxBytes) break;
            if (other === key) continue;
            slots.delete(other);
            evicted.push(other);
          }
          return evicted;
        },
      };
    };
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        key,
        bytes: fc.nat(40),
        ttl: fc.option(fc.nat(30), { nil: undefined }),
        dt: fc.nat(10),
      }),
      fc.record({ kind: fc.constant('touch' as const), key }),
      fc.record({ kind: fc.constant('remove' as const), key }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 20, max: 120 }),
        fc.array(op, { maxLength: 80 }),
        (maxEntries, maxBytes, ops) => {
          const lru = createLruIndex({ maxEntries, maxBytes });
          const ref = reference(maxEntries, maxBytes);
          let now = 0;
          for (const o of ops) {
            if (o.kind === 'put') {
              now += o.dt;
              const expiresAt = o.ttl === undefined ? Infinity : now + o.ttl;
              expect(lru.put(o.key, o.bytes, expiresAt, now).sort()).toEqual(
                ref.put(o.key, o.bytes, expiresAt, now).sort(),
              );
            } else if (o.kind === 'touch') {
              const slot = ref.slots.get(o.key);
              if (slot) {
                ref.slots.delete(o.key);
                ref.slots.set(o.key, slot);
              }
              expect(lru.touch(o.key)).toBe(slot !== undefined);
            } else {
              lru.remove(o.key);
              ref.slots.delete(o.key);
            }
            expect(lru.keys()).toEqual([...ref.slots.keys()]);
            expect(lru.bytes).toBe([...ref.slots.values()].reduce((sum, s) => sum + s.bytes, 0));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('among many entries, a write evicts exactly the ones due', () => {
    const lru = createLruIndex({ maxEntries: 100_000 });
    for (let i = 0; i < 50_000; i++) lru.put(`k${i}`, 1, 1_000_000 + i, i);
    // Every entry stays (none due); the one put at the end that is already due is the only one evicted.
    expect(lru.put('due', 1, 10, 60_000)).toEqual(['due']);
    expect(lru.put('next', 1, Infinity, 1_000_000)).toEqual(['k0']);
    expect(lru.size).toBe(50_000);
  });
});
