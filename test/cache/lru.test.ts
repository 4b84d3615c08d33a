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
});
