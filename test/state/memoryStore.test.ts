import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/state/memoryStore.js';
import { fromMaybePromise, isPromiseLike } from '../../src/state/maybePromise.js';
import { describeStoreContract } from './storeContract.js';

describeStoreContract('memoryStore', (clock) => memoryStore({ now: clock.now }));

describe('memoryStore', () => {
  it('answers synchronously, so operators over it keep virtual time', () => {
    const store = memoryStore();
    const answer = store.increment('x', 1);
    expect(isPromiseLike(answer)).toBe(false);
    let seen: unknown;
    fromMaybePromise(store.get('x')).subscribe((v) => (seen = v));
    expect(seen).toBe('1');
  });

  it('sweeps expired entries nobody reads again, once the writes with a TTL reach its size', () => {
    let t = 0;
    const store = memoryStore({ now: () => t });
    store.set('forever', 'kept');
    for (let i = 0; i < 3000; i++) store.set(`once:${i}`, 'x', { ttlMs: 10 });
    expect(store.size).toBe(3001);
    t = 20; // every `once:` key has expired, and none is read again
    for (let i = 0; i < 3000; i++) store.increment(`fresh:${i}`, 1, { ttlMs: 1000 });
    // Sweeps ran (after 1,024 writes, then as many as the entries left): the expired keys are gone.
    expect(store.size).toBeLessThanOrEqual(3001);
    expect(store.get('forever')).toBe('kept');
    expect(store.get('fresh:2999')).toBe('1');
    expect(store.get('once:0')).toBeUndefined();
  });
});
