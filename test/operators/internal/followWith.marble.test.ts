import { of, Subject, switchMap, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { followWith } from '../../../src/operators/internal/followWith.js';
import { testScheduler } from '../support.js';

describe('followWith', () => {
  it("streams the follow-up of first's first value, as take(1) + switchMap does", () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const first = hot('  --a--b--|');
      const inner = cold('   x-y-z|');
      const expected = '  --x-y-z|';
      expectObservable(followWith(first, () => inner)).toBe(expected);
      expectObservable(
        first.pipe(
          take(1),
          switchMap(() => inner),
        ),
      ).toBe(expected);
      expectSubscriptions(first.subscriptions).toBe(['^-!', '^-!']);
    });
  });

  it('passes the value to next, completes when first is empty, fails with its error or a throw', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(followWith(cold('-a|', { a: 2 }), (n) => cold('v|', { v: n * 21 }))).toBe('-v|', {
        v: 42,
      });
      expectObservable(followWith(cold('---|'), () => cold('x|'))).toBe('---|');
      expectObservable(followWith(cold('--#', undefined, 'nope'), () => cold('x|'))).toBe(
        '--#',
        undefined,
        'nope',
      );
      const thrower = () => {
        throw new Error('bad');
      };
      expectObservable(followWith(cold('-a|'), thrower)).toBe('-#', undefined, new Error('bad'));
    });
  });

  it('unsubscribing stops the follow-up; its error reaches the subscriber', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('x-y-z-|');
      expectObservable(
        followWith(cold('a'), () => inner),
        '^--!',
      ).toBe('x-y');
      expectSubscriptions(inner.subscriptions).toBe('^--!');
      expectObservable(followWith(cold('a'), () => cold('x-#'))).toBe('x-#');
    });
  });

  it('hands the subscriber over: a subscriber that leaves (take) unsubscribes the follow-up at once', () => {
    const produced: number[] = [];
    const source = new Subject<number>();
    const seen: number[] = [];
    followWith(of(1), () => source)
      .pipe(take(2))
      .subscribe((n) => seen.push(n));
    for (let i = 0; i < 5; i++) {
      if (source.observed) produced.push(i);
      source.next(i);
    }
    expect(seen).toEqual([0, 1]);
    expect(produced).toEqual([0, 1]);
    expect(source.observed).toBe(false);
  });
});
