import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/state/store.js';

/** A clock the contract advances; stores under test read it for expiry. */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function testClock(start = 1_000_000): TestClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/**
 * The behaviour every StateStore must have. Runs unchanged against each backend:
 * `makeStore(clock)` returns a fresh, empty store whose expiry follows `clock` (where the backend can).
 */
export function describeStoreContract(
  name: string,
  makeStore: (clock: TestClock) => Promise<StateStore> | StateStore,
  options: { virtualExpiry: boolean } = { virtualExpiry: true },
): void {
  describe(`StateStore contract: ${name}`, () => {
    const fresh = async (): Promise<{ store: StateStore; clock: TestClock }> => {
      const clock = testClock();
      return { store: await makeStore(clock), clock };
    };

    it('gets what was set, and nothing for an absent key', async () => {
      const { store } = await fresh();
      expect(await store.get('a')).toBeUndefined();
      await store.set('a', 'one');
      expect(await store.get('a')).toBe('one');
      await store.delete('a');
      expect(await store.get('a')).toBeUndefined();
      await store.close();
    });

    it.runIf(options.virtualExpiry)('expires keys after their ttl', async () => {
      const { store, clock } = await fresh();
      await store.set('k', 'v', { ttlMs: 100 });
      clock.advance(99);
      expect(await store.get('k')).toBe('v');
      clock.advance(1);
      expect(await store.get('k')).toBeUndefined();
      expect(await store.keys('k')).toEqual([]);
      await store.close();
    });

    it('compareAndSet swaps only from the expected value', async () => {
      const { store } = await fresh();
      expect(await store.compareAndSet('s', undefined, 'closed')).toBe(true);
      expect(await store.compareAndSet('s', undefined, 'open')).toBe(false);
      expect(await store.compareAndSet('s', 'half-open', 'open')).toBe(false);
      expect(await store.compareAndSet('s', 'closed', 'open')).toBe(true);
      expect(await store.get('s')).toBe('open');
      await store.close();
    });

    it('increments, and refuses an increment past the limit without changing the value', async () => {
      const { store } = await fresh();
      expect(await store.increment('n', 3, { limit: 5 })).toEqual({ ok: true, value: 3 });
      expect(await store.increment('n', 3, { limit: 5 })).toEqual({ ok: false, value: 3 });
      expect(await store.increment('n', 2, { limit: 5 })).toEqual({ ok: true, value: 5 });
      // Releasing (a negative delta) is never refused.
      expect(await store.increment('n', -4, { limit: 5 })).toEqual({ ok: true, value: 1 });
      expect(await store.increment('other', 7)).toEqual({ ok: true, value: 7 });
      await store.close();
    });

    it('concurrent increments against a limit never overshoot it', async () => {
      const { store } = await fresh();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.increment('budget', 1, { limit: 20 })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      expect(Number(await store.get('budget'))).toBe(20);
      await store.close();
    });

    it('takes tokens from a bucket, refusing with the wait until enough refill', async () => {
      const { store } = await fresh();
      const take = (tokens: number, now: number) =>
        store.takeTokens('bucket', { tokens, capacity: 10, refillPerMs: 0.01, now });
      expect(await take(6, 0)).toEqual({ ok: true, remaining: 4, waitMs: 0 });
      const refused = await take(6, 0);
      expect(refused.ok).toBe(false);
      expect(refused.waitMs).toBe(200); // 2 tokens at 0.01 per ms
      expect((await take(6, 200)).ok).toBe(true);
      expect((await take(11, 10_000)).waitMs).toBe(Infinity); // more than the bucket can ever hold
      await store.close();
    });

    it('a bucket shared by processes with skewed clocks never admits more than capacity plus the refill of the time it saw', async () => {
      const { store } = await fresh();
      let run = 0;
      const capacity = 20;
      const refillPerMs = 0.002;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: -1_000, max: 1_000 }), { minLength: 2, maxLength: 4 }),
          // Mostly simultaneous calls: where clocks that disagree interleave most.
          fc.array(fc.record({ process: fc.nat({ max: 3 }), step: fc.constantFrom(0, 0, 0, 1, 10, 50) }), {
            minLength: 40,
            maxLength: 120,
          }),
          async (skews, takes) => {
            const key = `skew${++run}`;
            let t = 10_000;
            let admitted = 0;
            const seen: number[] = [];
            for (const { process, step } of takes) {
              t += step;
              const now = t + (skews[process % skews.length] as number);
              seen.push(now);
              const answer = await store.takeTokens(key, { tokens: 1, capacity, refillPerMs, now });
              if (answer.ok) admitted++;
            }
            // The bucket refills only over the span of clocks it was shown, however they interleave.
            const span = Math.max(...seen) - (seen[0] as number);
            expect(admitted).toBeLessThanOrEqual(capacity + Math.floor(span * refillPerMs));
          },
        ),
        { numRuns: 40 },
      );
      await store.close();
    });

    it('two processes 500 ms apart at one instant share one bucket, not two refills', async () => {
      const { store } = await fresh();
      const take = (now: number) =>
        store.takeTokens('fleet', { tokens: 1, capacity: 60, refillPerMs: 0.001, now });
      let admitted = 0;
      for (let i = 0; i < 200; i++) if ((await take(i % 2 === 0 ? 100_500 : 100_000)).ok) admitted++;
      expect(admitted).toBe(60); // 0.5 s at 1 per second refills nothing whole
      await store.close();
    });

    it('a pause holds the bucket empty for its duration, then refills', async () => {
      const { store } = await fresh();
      const shape = { capacity: 10, refillPerMs: 0.01 };
      expect(await store.takeTokens('paused', { ...shape, tokens: 0, now: 0, pauseMs: 4_000 })).toEqual({
        ok: true,
        remaining: -40,
        waitMs: 0,
      });
      const refused = await store.takeTokens('paused', { ...shape, tokens: 1, now: 1_000 });
      expect(refused).toEqual({ ok: false, remaining: -30, waitMs: 3_100 });
      expect((await store.takeTokens('paused', { ...shape, tokens: 1, now: 4_100 })).ok).toBe(true);
      await store.close();
    });

    it('appends to lists in order and lists keys by prefix', async () => {
      const { store } = await fresh();
      await store.append('log', 'a');
      await store.append('log', 'b');
      expect(await store.list('log')).toEqual(['a', 'b']);
      expect(await store.list('none')).toEqual([]);
      await store.set('p:1', 'x');
      await store.set('p:2', 'y');
      await store.set('q:1', 'z');
      expect([...(await store.keys('p:'))].sort()).toEqual(['p:1', 'p:2']);
      await store.close();
    });
  });
}
