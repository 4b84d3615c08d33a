import fc from 'fast-check';
import { defer, type Observable, of, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError, type LLMErrorKind } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import { exponentialBackoff, fixedBackoff, type Jitter, retryDelay } from '../../src/operators/backoff.js';
import { retryEvents } from '../../src/operators/retryEvents.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { errorOf, finish, pulledSource, start, testScheduler, text, usage } from './support.js';

const values: Record<string, TokenEvent> = {
  s: start(),
  a: text('a'),
  b: text('b'),
  u: usage(2),
  f: finish(2),
};
const overloaded = new LLMError('overloaded', 'busy', { provider: 'scripted', model: 'scripted-1' });
const invalid = new LLMError('invalid_request', 'bad', { provider: 'scripted', model: 'scripted-1' });
const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const fixed5 = fixedBackoff({ delayMs: 5 });

/** A source whose n-th subscription gets the n-th observable (the last repeats). */
function attempts(...sources: Observable<TokenEvent>[]): Observable<TokenEvent> {
  let n = 0;
  return defer(() => sources[Math.min(n++, sources.length - 1)] as Observable<TokenEvent>);
}

describe('retryEvents (marbles)', () => {
  it('empty: a source that completes with nothing is incomplete, retried up to maxAttempts', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TokenEvent>('|');
      expectObservable(source.pipe(retryEvents({ backoff: fixed5 }))).toBe(
        '10ms #',
        undefined,
        errorOf('incomplete'),
      );
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '5ms (^!)', '10ms (^!)']);
    });
  });

  it('one answer passes through, its start held until the first content', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-----f|', values);
      expectObservable(source.pipe(retryEvents({ backoff: fixed5 }))).toBe('--(sa)--f|', values);
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('many events pass through unchanged', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s-a----b-u-f|', values);
      expectObservable(source.pipe(retryEvents())).toBe('--(sa)-b-u-f|', values);
    });
  });

  it('a failure before content is invisible: the held start is dropped and the call retried after the backoff', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('s-#', values, overloaded);
      const second = cold('s-a-----f|', values);
      expectObservable(attempts(first, second).pipe(retryEvents({ backoff: fixed5 }))).toBe(
        '9ms (sa)--f|',
        values,
      );
      expectSubscriptions(first.subscriptions).toBe('^-!');
      expectSubscriptions(second.subscriptions).toBe('7ms ^--------!');
    });
  });

  it('an error after content is passed on, never resubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a----#', values, overloaded);
      expectObservable(source.pipe(retryEvents({ backoff: fixed5 }))).toBe('--(sa)-#', values, overloaded);
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('a non-retryable error is passed on at once', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-#', values, invalid);
      expectObservable(source.pipe(retryEvents({ backoff: fixed5 }))).toBe('--#', undefined, invalid);
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('gives up after maxAttempts with the last error', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-#', values, overloaded);
      expectObservable(source.pipe(retryEvents({ maxAttempts: 2, backoff: fixed5 }))).toBe(
        '7ms #',
        undefined,
        overloaded,
      );
      expectSubscriptions(source.subscriptions).toBe(['^!', '6ms ^!']);
    });
  });

  it('a completion without finish after the start is incomplete, and retried', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = attempts(cold('s|', values), cold('s-a-----f|', values));
      expectObservable(source.pipe(retryEvents({ backoff: fixed5 }))).toBe('8ms (sa)--f|', values);
    });
  });

  it("the server's retryAfterMs wins over the schedule, capped by maxRetryAfterMs", () => {
    testScheduler().run(({ cold, expectSubscriptions }) => {
      const hinted = new LLMError('rate_limit', 'slow down', { retryAfterMs: 20 });
      const first = cold('#', values, hinted);
      const second = cold('s-a-f|', values);
      attempts(first, second)
        .pipe(retryEvents({ backoff: fixed5 }))
        .subscribe();
      expectSubscriptions(second.subscriptions).toBe('20ms ^----!');
    });
    testScheduler().run(({ cold, expectSubscriptions }) => {
      const hinted = new LLMError('rate_limit', 'slow down', { retryAfterMs: 20_000 });
      const first = cold('#', values, hinted);
      const second = cold('s-a-f|', values);
      attempts(first, second)
        .pipe(retryEvents({ backoff: fixed5, maxRetryAfterMs: 15 }))
        .subscribe();
      expectSubscriptions(second.subscriptions).toBe('15ms ^----!');
    });
  });

  it('never-ending: waits with the source, no timer of its own', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-', values);
      expectObservable(source.pipe(retryEvents())).toBe('');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('unsubscribing during the backoff cancels the wait: no resubscription, nothing sent', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('s-#', values, overloaded);
      const second = cold('s-a-f|', values);
      const result = attempts(first, second).pipe(retryEvents({ backoff: fixed5 }));
      expectObservable(result, '^---!').toBe('');
      expectSubscriptions(first.subscriptions).toBe('^-!');
      expectSubscriptions(second.subscriptions).toBe([]);
    });
  });

  it('early unsubscribe mid-stream unsubscribes the source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a----b-f|', values);
      expectObservable(source.pipe(retryEvents()), '^------!').toBe('--(sa)-', values);
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('a synchronous source cut by take', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(sabuf|)', values);
      expectObservable(source.pipe(retryEvents(), take(2))).toBe('(sa|)', values);
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('a truly synchronous source cut by take is stopped at once', () => {
    const { source, pulled } = pulledSource([start(), text('a'), text('b'), usage(2), finish(2)]);
    const got: TokenEvent[] = [];
    source.pipe(retryEvents(), take(2)).subscribe((e) => got.push(e));
    expect(got).toEqual([start(), text('a')]);
    expect(pulled).toEqual([start(), text('a')]);
  });

  it('a shouldRetry that throws fails the stream with that error', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-#', values, overloaded);
      const result = source.pipe(
        retryEvents({
          shouldRetry: () => {
            throw new Error('predicate broke');
          },
        }),
      );
      expectObservable(result).toBe('--#', undefined, errorOf('unknown', { message: 'predicate broke' }));
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('shouldRetry sees the error and the attempts so far', () => {
    const seen: [LLMErrorKind, number][] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('#', values, overloaded);
      const result = source.pipe(
        retryEvents({
          maxAttempts: 5,
          backoff: fixed5,
          shouldRetry: (e, n) => {
            seen.push([e.kind, n]);
            return n < 3;
          },
        }),
      );
      expectObservable(result).toBe('10ms #', undefined, overloaded);
    });
    expect(seen).toEqual([
      ['overloaded', 1],
      ['overloaded', 2],
      ['overloaded', 3],
    ]);
  });

  it('maxAttempts 1 is identity', () => {
    const op = retryEvents({ maxAttempts: 1 });
    const source = of<TokenEvent>(start());
    expect(source.pipe(op)).toBe(source);
  });
});

describe('withRetry (scripted model)', () => {
  it('retries a scripted overload and closes every attempt', async () => {
    const flaky = scriptedModel({ scripts: [{ fail: 'overloaded' }, { text: 'Hello there' }] });
    const sturdy = flaky.pipe(withRetry({ backoff: fixedBackoff({ delayMs: 1 }) }));
    expect(sturdy.provider).toBe('scripted');
    const done = await collect(sturdy.stream(request));
    expect(done.text).toBe('Hello there');
    expect(flaky.calls()).toBe(2);
    expect(flaky.active()).toBe(0);
  });

  it('on virtual time: waits the backoff, and never retries after a token', () => {
    testScheduler().run(({ expectObservable }) => {
      const flaky = scriptedModel({
        scripts: [{ fail: 'network' }, { text: ['a', 'b'], fail: 'network', failAfter: 1 }],
      });
      const stream = flaky.pipe(withRetry({ backoff: fixed5 })).stream(request);
      expectObservable(stream).toBe('5ms (sa#)', values, errorOf('network'));
    });
  });

  it('an error thrown by the model names the model', () => {
    const broken = scriptedModel({ scripts: [{ fail: 'auth' }] });
    return expect(collect(broken.pipe(withRetry()).stream(request))).rejects.toMatchObject({
      kind: 'auth',
      provider: 'scripted',
    });
  });

  it('maxAttempts 1 returns the model itself', () => {
    const model = scriptedModel();
    expect(model.pipe(withRetry({ maxAttempts: 1 }))).toBe(model);
  });
});

describe('withRetry (properties)', () => {
  it('attempts never exceed the limit, and each wait is inside its schedule bounds (or the capped hint)', () => {
    const kinds = fc.constantFrom<LLMErrorKind>('overloaded', 'rate_limit', 'invalid_request', 'timeout');
    const failure = fc.record({
      kind: kinds,
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
      afterContent: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(failure, { maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom<Jitter>('none', 'full', 'equal'),
        fc.integer({ min: 0, max: 300 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failures, maxAttempts, jitter, maxRetryAfterMs, r) => {
          const subscribedAt: number[] = [];
          const scheduler = testScheduler();
          const initialDelayMs = 10;
          const maxDelayMs = 200;
          scheduler.run(({ cold }) => {
            let n = 0;
            const source = defer(() => {
              const i = n++;
              subscribedAt.push(scheduler.now());
              const f = failures[i];
              if (!f) return cold('s-a-f|', values);
              const error = new LLMError(f.kind, 'scripted', {
                ...(f.retryAfterMs !== undefined && { retryAfterMs: f.retryAfterMs }),
              });
              return cold(f.afterContent ? 's-a-#' : 's-#', values, error);
            });
            const result = source.pipe(
              retryEvents({
                maxAttempts,
                maxRetryAfterMs,
                backoff: exponentialBackoff({ initialDelayMs, maxDelayMs, jitter, random: () => r }),
                scheduler,
              }),
            );
            result.subscribe({ error: () => undefined });
          });
          expect(subscribedAt.length).toBeLessThanOrEqual(maxAttempts);
          // Each retry follows a pre-content, retryable failure; the wait fits the schedule or the hint.
          for (let i = 1; i < subscribedAt.length; i++) {
            const f = failures[i - 1];
            expect(f).toBeDefined();
            expect(f?.afterContent).toBe(false);
            expect(['overloaded', 'rate_limit', 'timeout']).toContain(f?.kind);
            const wait = (subscribedAt[i] as number) - ((subscribedAt[i - 1] as number) + 2);
            const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (i - 1));
            if (f?.retryAfterMs !== undefined) {
              expect(wait).toBeCloseTo(retryDelay(0, f.retryAfterMs, maxRetryAfterMs), 6);
            } else {
              const floor = jitter === 'none' ? ceiling : jitter === 'equal' ? ceiling / 2 : 0;
              expect(wait).toBeGreaterThanOrEqual(floor - 1e-6);
              expect(wait).toBeLessThanOrEqual(ceiling + 1e-6);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
