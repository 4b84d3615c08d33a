import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { costOf } from '../../src/core/catalog.js';
import type { TokenEvent } from '../../src/core/events.js';
import { createModelStats } from '../../src/routing/stats.js';

type Helpers = Parameters<Parameters<TestScheduler['run']>[0]>[0];
function withScheduler(body: (ts: TestScheduler, helpers: Helpers) => void): void {
  const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  ts.run((helpers) => body(ts, helpers));
}

const model = { provider: 'sim', model: 'a' };
const usage = { inputTokens: 8, outputTokens: 4 };
const values: Record<string, TokenEvent> = {
  s: { type: 'start', provider: 'sim', model: 'a' },
  a: { type: 'text', text: 'w' },
  f: { type: 'finish', reason: 'stop', usage, cost: costOf(usage, undefined) },
};

describe('createModelStats', () => {
  it('track: in flight from subscribe to the end, TTFT to the first content, tokens/s after it', () => {
    withScheduler((ts, { cold, expectObservable, flush }) => {
      const stats = createModelStats({ scheduler: ts });
      const source = cold('10ms s 9ms a 99ms a 99ms a 99ms (f|)', values);
      expectObservable(source.pipe(stats.track(model))).toBe('10ms s 9ms a 99ms a 99ms a 99ms (f|)', values);
      ts.schedule(() => expect(stats.get(model)).toMatchObject({ inFlight: 1, waitingMs: 15 }), 15);
      flush();
      // First content at 20 ms, the finish at 320 ms (each marble takes a frame): 4 tokens in 0.3 s.
      expect(stats.get(model)).toMatchObject({ ttftMs: 20, inFlight: 0, waitingMs: 0, samples: 1 });
      expect(stats.get(model).tokensPerSecond).toBeCloseTo(4 / 0.3);
    });
  });

  it('track: a failure counts, and an unsubscribe ends the call without a failure', () => {
    withScheduler((ts, { cold, expectObservable, flush }) => {
      const stats = createModelStats({ scheduler: ts });
      expectObservable(cold('5ms s #', values).pipe(stats.track(model))).toBe('5ms s #', values);
      expectObservable(cold('5ms s 10ms a', values).pipe(stats.track(model)), '^ 10ms !').toBe(
        '5ms s',
        values,
      );
      flush();
      expect(stats.get(model)).toMatchObject({ failures: 1, inFlight: 0, samples: 0 });
    });
  });

  it('begin: the same measurements by hand; a second end does not count twice', () => {
    withScheduler((ts, { flush }) => {
      const stats = createModelStats({ scheduler: ts });
      const first = stats.begin(model);
      const second = stats.begin(model);
      expect(stats.get(model).inFlight).toBe(2);
      ts.schedule(() => first.event(values.s as TokenEvent), 5);
      ts.schedule(() => first.event(values.a as TokenEvent), 30);
      ts.schedule(() => first.event(values.f as TokenEvent), 230);
      ts.schedule(() => {
        first.end();
        first.end();
        second.fail();
        second.end();
      }, 231);
      flush();
      expect(stats.get(model)).toMatchObject({ ttftMs: 30, samples: 1, failures: 1, inFlight: 0 });
      expect(stats.get(model).tokensPerSecond).toBeCloseTo(20);
    });
  });
});
