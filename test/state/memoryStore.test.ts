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
});
