import { firstValueFrom, identity, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { StreamTimeoutError, timeoutEvents } from '../../src/operators/timeoutEvents.js';
import { withTimeout } from '../../src/operators/withTimeout.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { errorOf, finish, pulledSource, start, testScheduler, text, usage } from './support.js';

const values: Record<string, TokenEvent> = {
  s: start('acme', 'm1'),
  a: text('a'),
  b: text('b'),
  c: text('c'),
  u: usage(2),
  f: finish(2),
};
const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const timeout = (phase: string, limitMs: number): unknown =>
  errorOf('timeout', { phase, limitMs, retryable: true, provider: 'acme', model: 'm1' });

describe('timeoutEvents (marbles)', () => {
  it('empty: a completion passes through', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<TokenEvent>('|').pipe(timeoutEvents({ firstTokenMs: 5 }))).toBe('|');
    });
  });

  it('one answer within every limit passes through unchanged', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-f|', values);
      const result = source.pipe(timeoutEvents({ firstTokenMs: 5, idleMs: 3, totalMs: 10 }));
      expectObservable(result).toBe('s-a-f|', values);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('many: the idle limit ends a stream that falls silent, and unsubscribes upstream', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b---c-f|', values);
      expectObservable(source.pipe(timeoutEvents({ idleMs: 3 }))).toBe(
        's-a-b--#',
        values,
        timeout('idle', 3),
      );
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('first token: a start alone does not count', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-u-----a|', values);
      expectObservable(source.pipe(timeoutEvents({ firstTokenMs: 5 }))).toBe(
        's-u--#',
        values,
        timeout('first-token', 5),
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('with firstTokenMs set, idle applies only once content flows', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s-----a-b-f|', values);
      expectObservable(source.pipe(timeoutEvents({ firstTokenMs: 8, idleMs: 2 }))).toBe(
        's-----a-b-f|',
        values,
      );
    });
  });

  it('without firstTokenMs, idle applies from the subscription', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s----a|', values);
      expectObservable(source.pipe(timeoutEvents({ idleMs: 2 }))).toBe('s-#', values, timeout('idle', 2));
    });
  });

  it('total bounds the whole stream', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b-c-f|', values);
      expectObservable(source.pipe(timeoutEvents({ totalMs: 5, idleMs: 3 }))).toBe(
        's-a-b#',
        values,
        timeout('total', 5),
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('after the finish the idle limit is off', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s-a-f-----|', values);
      expectObservable(source.pipe(timeoutEvents({ idleMs: 2 }))).toBe('s-a-f-----|', values);
    });
  });

  it('an error passes through', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new LLMError('overloaded', 'busy');
      expectObservable(cold('s-#', values, boom).pipe(timeoutEvents({ idleMs: 5 }))).toBe(
        's-#',
        values,
        boom,
      );
    });
  });

  it('never-ending: the first-token limit ends it', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TokenEvent>('-');
      expectObservable(source.pipe(timeoutEvents({ firstTokenMs: 4 }))).toBe(
        '----#',
        undefined,
        errorOf('timeout', { phase: 'first-token' }),
      );
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('early unsubscribe cancels the timers: no error afterwards', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-------a|', values);
      expectObservable(source.pipe(timeoutEvents({ firstTokenMs: 5, totalMs: 6 })), '^-!').toBe('s', values);
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('a synchronous source cut by take', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(sabf|)', values);
      expectObservable(source.pipe(timeoutEvents({ idleMs: 1 }), take(2))).toBe('(sa|)', values);
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('a truly synchronous source cut by take is stopped at once', () => {
    const { source, pulled } = pulledSource([start(), text('a'), text('b'), usage(2), finish(2)]);
    const got: TokenEvent[] = [];
    source.pipe(timeoutEvents({ idleMs: 5 }), take(2)).subscribe((e) => got.push(e));
    expect(got).toEqual([start(), text('a')]);
    expect(pulled).toEqual([start(), text('a')]);
  });

  // No user callback to throw: timeoutEvents takes only numbers and a scheduler.

  it('no limit: identity', () => {
    expect(timeoutEvents({})).toBe(identity);
  });

  it('StreamTimeoutError carries its phase and limit', () => {
    const e = new StreamTimeoutError('idle', 250, { provider: 'acme', model: 'm1' });
    expect(LLMError.isInstance(e)).toBe(true);
    expect(StreamTimeoutError.isTimeout(e)).toBe(true);
    expect(StreamTimeoutError.isTimeout(new LLMError('timeout', 'x'))).toBe(false);
    expect(e).toMatchObject({ kind: 'timeout', phase: 'idle', limitMs: 250, retryable: true });
  });
});

describe('withTimeout', () => {
  it('ends a stalled model with a timeout and closes its stream', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const stalled = scriptedModel({
        provider: 'acme',
        model: 'm1',
        scripts: [{ text: 'a b c', stallAfter: 1 }],
      });
      const bounded = stalled.pipe(withTimeout({ idleMs: 4 }));
      expect(bounded.provider).toBe('acme');
      expectObservable(bounded.stream(request)).toBe(
        '(sa)#',
        { s: start('acme', 'm1'), a: text('a') },
        timeout('idle', 4),
      );
      flush();
      expect(stalled.active()).toBe(0);
    });
  });

  it('names the model in a timeout before any event', async () => {
    const silent = scriptedModel({ provider: 'acme', model: 'm1', scripts: [{ firstTokenDelayMs: 1_000 }] });
    const stream = silent.pipe(withTimeout({ firstTokenMs: 5 })).stream(request);
    await expect(firstValueFrom(stream.pipe(toArray()))).rejects.toMatchObject({
      kind: 'timeout',
      provider: 'acme',
    });
    expect(silent.active()).toBe(0);
  });

  it('no limit returns the model itself', () => {
    const model = scriptedModel();
    expect(model.pipe(withTimeout({}))).toBe(model);
  });
});
