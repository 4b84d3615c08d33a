import { type Observable, take } from 'rxjs';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel, type LanguageModel } from '../../src/core/model.js';
import { describe, expect, it } from 'vitest';
import { collect } from '../../src/helpers/collect.js';
import { hedge } from '../../src/operators/hedge.js';
import { type Script, scriptedModel } from '../../src/testing/scriptedModel.js';
import { errorOf, finish, pulledSource, start, testScheduler, text, usage } from './support.js';

const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const v = {
  a: start('A', 'a'),
  b: start('B', 'b'),
  c: start('C', 'c'),
  x: text('x'),
  y: text('y'),
  z: text('z'),
  u: usage(1),
  f: finish(1),
};

const overloaded = (provider: string): LLMError =>
  new LLMError('overloaded', 'busy', { provider, model: provider.toLowerCase() });

function coldModel(provider: string, stream: () => Observable<TokenEvent>): LanguageModel {
  return defineModel({ provider, model: provider.toLowerCase(), stream });
}

function setup(scheduler: ReturnType<typeof testScheduler>, a: Script, b: Script = {}, c: Script = {}) {
  const A = scriptedModel({ provider: 'A', model: 'a', scripts: [a], scheduler });
  const B = scriptedModel({ provider: 'B', model: 'b', scripts: [b], scheduler });
  const C = scriptedModel({ provider: 'C', model: 'c', scripts: [c], scheduler });
  return { A, B, C, idle: () => [A, B, C].every((m) => m.active() === 0) };
}

describe('hedge (marbles)', () => {
  it('empty: no candidate fails with all_failed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable }) => {
      const { A } = setup(scheduler, {});
      const model = A.pipe(hedge({ delayMs: 5, candidates: () => [], scheduler }));
      expectObservable(model.stream(request)).toBe('#', undefined, errorOf('all_failed'));
    });
  });

  it('a model that lists no candidate answers with its own stream', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable }) => {
      const { A } = setup(scheduler, { text: ['x'] });
      const lonely = defineModel({
        provider: 'A',
        model: 'a',
        candidates: () => [],
        stream: (r) => A.stream(r),
      });
      expectObservable(lonely.pipe(hedge({ delayMs: 5, scheduler })).stream(request)).toBe('(axuf|)', v);
    });
  });

  it('one: a candidate that answers within the delay is never hedged', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B } = setup(scheduler, { text: ['x'], firstTokenDelayMs: 3 });
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request)).toBe('3ms (axuf|)', v);
      flush();
      expect(B.calls()).toBe(0);
    });
  });

  it('many: a slow first token starts the next candidate; the first token wins and the loser is cancelled', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, C, idle } = setup(
        scheduler,
        { text: ['x'], firstTokenDelayMs: 20 },
        { text: ['y'], firstTokenDelayMs: 10 },
        { text: ['z'], firstTokenDelayMs: 1 },
      );
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B, C], scheduler }));
      // A at 0, B at 5, C at 10 answers at 11: C wins, A and B are cancelled.
      expectObservable(model.stream(request)).toBe('11ms (czuf|)', v);
      flush();
      expect([A.calls(), B.calls(), C.calls()]).toEqual([1, 1, 1]);
      expect(idle()).toBe(true);
    });
  });

  it('error before content: the next candidate starts at once, with a fallback event', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const A = coldModel('A', () => cold('a-#', v, overloaded('A')));
      const { B } = setup(scheduler, {}, { text: ['y'] });
      const model = A.pipe(hedge({ delayMs: 50, candidates: [B], scheduler }));
      expectObservable(model.stream(request)).toBe('2ms (Fbyuf|)', {
        ...v,
        F: { type: 'fallback', from: { provider: 'A', model: 'a' }, error: overloaded('A') },
      });
    });
  });

  it('every candidate failing gives all_failed with every cause', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const A = coldModel('A', () => cold('a-------#', v, overloaded('A')));
      const B = coldModel('B', () => cold('b#', v, overloaded('B')));
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request)).toBe(
        '6ms F-#',
        { F: { type: 'fallback', from: { provider: 'B', model: 'b' }, error: overloaded('B') } },
        errorOf('all_failed', { causes: [overloaded('B'), overloaded('A')] }),
      );
    });
  });

  it("the winner's failure after content is passed on", () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable }) => {
      const { A, B } = setup(scheduler, { text: ['x', 'y'], fail: 'network', failAfter: 1 });
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request)).toBe('(ax#)', v, errorOf('network'));
    });
  });

  it('never-ending: every candidate started, nothing emitted', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B } = setup(scheduler, { stallAfter: 0 }, { stallAfter: 0 });
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request)).toBe('');
      flush();
      expect(B.calls()).toBe(1);
    });
  });

  it('early unsubscribe cancels every candidate and the pending hedge', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, idle } = setup(scheduler, { stallAfter: 0 }, {});
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request), '^--!').toBe('');
      flush();
      expect(B.calls()).toBe(0);
      expect(idle()).toBe(true);
    });
  });

  it('a synchronous stream cut by take', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, idle } = setup(scheduler, { text: ['x', 'y'] });
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B], scheduler }));
      expectObservable(model.stream(request).pipe(take(2))).toBe('(ax|)', v);
      flush();
      expect(idle()).toBe(true);
    });
  });

  it('a truly synchronous candidate cut by take is stopped at once', () => {
    const { source, pulled } = pulledSource([start('A', 'a'), text('x'), text('y'), usage(2), finish(2)]);
    const sync = coldModel('A', () => source);
    const got: TokenEvent[] = [];
    sync
      .pipe(hedge({ delayMs: 5 }))
      .stream(request)
      .pipe(take(2))
      .subscribe((e) => got.push(e));
    expect(got).toEqual([start('A', 'a'), text('x')]);
    expect(pulled).toEqual([start('A', 'a'), text('x')]);
  });

  it('a shouldFallback that throws fails the call and cancels the others', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, idle } = setup(scheduler, { stallAfter: 0 }, { fail: 'overloaded' });
      const model = A.pipe(
        hedge({
          delayMs: 5,
          candidates: [B],
          scheduler,
          shouldFallback: () => {
            throw new Error('predicate broke');
          },
        }),
      );
      expectObservable(model.stream(request)).toBe(
        '5ms #',
        undefined,
        errorOf('unknown', { message: 'predicate broke' }),
      );
      flush();
      expect(idle()).toBe(true);
    });
  });

  it('isHealthy skips unhealthy candidates', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B } = setup(scheduler, { text: ['x'] }, { text: ['y'] });
      const model = A.pipe(
        hedge({ delayMs: 5, candidates: [B], isHealthy: (m) => m.provider === 'B', scheduler }),
      );
      expectObservable(model.stream(request)).toBe('(byuf|)', v);
      flush();
      expect(A.calls()).toBe(0);
    });
  });

  it('maxAttempts bounds how many candidates start', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, C } = setup(
        scheduler,
        { text: ['x'], firstTokenDelayMs: 30 },
        { text: ['y'], firstTokenDelayMs: 30 },
      );
      const model = A.pipe(hedge({ delayMs: 5, candidates: [B, C], maxAttempts: 2, scheduler }));
      expectObservable(model.stream(request)).toBe('30ms (axuf|)', v);
      flush();
      expect(C.calls()).toBe(0);
    });
  });

  it('hedges a model against itself on real time', async () => {
    const slowThenFast = scriptedModel({
      provider: 'A',
      model: 'a',
      scripts: [{ text: 'slow', firstTokenDelayMs: 2_000 }, { text: 'fast' }],
    });
    const model = slowThenFast.pipe(hedge({ delayMs: 10, candidates: [slowThenFast] }));
    const done = await collect(model.stream(request));
    expect(done.text).toBe('fast');
    expect(slowThenFast.calls()).toBe(2);
    expect(slowThenFast.active()).toBe(0);
  });
});

describe('hedge candidates', () => {
  it('lists the models it races, so a budget outside prices the real models', () => {
    const a = scriptedModel({ provider: 'a', model: 'm1' });
    const b = scriptedModel({ provider: 'b', model: 'm2' });
    const hedged = a.pipe(hedge({ delayMs: 100, candidates: [b] }));
    const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
    expect(hedged.candidates(request).map((m) => `${m.provider}/${m.model}`)).toEqual(['a/m1', 'b/m2']);
    const healthy = a.pipe(hedge({ delayMs: 100, candidates: [b], isHealthy: (m) => m.provider === 'a' }));
    expect(healthy.candidates(request).map((m) => m.provider)).toEqual(['a']);
  });
});
