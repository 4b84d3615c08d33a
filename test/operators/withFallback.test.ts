import { map, of, type SchedulerLike, take, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createCatalog, type ModelSpec } from '../../src/core/catalog.js';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { withPrefill } from '../../src/operators/internal/prefill.js';
import { type Script, scriptedModel } from '../../src/testing/scriptedModel.js';
import { errorOf, finish, pulledSource, start, testScheduler, text, usage } from './support.js';

const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };

function spec(provider: string, model: string, contextWindow: number, prefill = false): ModelSpec {
  return {
    provider,
    model,
    pricing: { input: 0, output: 0 },
    contextWindow,
    maxOutputTokens: 1_000,
    capabilities: prefill ? ['streaming', 'prefill'] : ['streaming'],
    quality: 0.5,
    local: false,
  };
}
const catalog = createCatalog([spec('A', 'a', 1_000), spec('B', 'b', 500, true), spec('C', 'c', 8_000)]);

function trio(
  a: readonly Script[] | Script,
  b: readonly Script[] | Script = {},
  c: readonly Script[] | Script = {},
  scheduler?: SchedulerLike,
) {
  const list = (s: readonly Script[] | Script): readonly Script[] => (Array.isArray(s) ? s : [s as Script]);
  const A = scriptedModel({ provider: 'A', model: 'a', scripts: list(a), ...(scheduler && { scheduler }) });
  const B = scriptedModel({ provider: 'B', model: 'b', scripts: list(b), ...(scheduler && { scheduler }) });
  const C = scriptedModel({ provider: 'C', model: 'c', scripts: list(c), ...(scheduler && { scheduler }) });
  return { A, B, C, all: () => [A, B, C].every((m) => m.active() === 0) };
}

const v = {
  a: start('A', 'a'),
  b: start('B', 'b'),
  c: start('C', 'c'),
  x: text('x'),
  y: text('y'),
  z: text('z'),
  u: usage(1),
  v: usage(2),
  f: finish(1),
  g: finish(2),
};
const overloadedA = new LLMError('overloaded', 'A: scripted overloaded', { provider: 'A', model: 'a' });
const fallbackFromA = { type: 'fallback', from: { provider: 'A', model: 'a' }, error: overloadedA };

describe('withFallback (marbles)', () => {
  it('empty: no candidate at all fails with all_failed and no causes', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A } = trio({});
      const model = A.pipe(withFallback({ candidates: () => [] }));
      expectObservable(model.stream(request)).toBe('#', undefined, errorOf('all_failed', { causes: [] }));
    });
  });

  it('a model that lists no candidate answers with its own stream (a router says why nothing is eligible)', () => {
    testScheduler().run(({ expectObservable }) => {
      const nothing = new LLMError('budget', 'no model fits the budget', { retryable: false });
      const router = defineModel({
        provider: 'route',
        model: 'cost',
        candidates: () => [],
        stream: () => throwError(() => nothing),
      });
      expectObservable(router.pipe(withFallback()).stream(request)).toBe('#', undefined, nothing);
    });
  });

  it('one: the first candidate answers; the others are never called', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio({ text: ['x'] });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe('(axuf|)', v);
    });
  });

  it('many: failures before content are invisible but for fallback events', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B, C, all } = trio({ fail: 'overloaded' }, { fail: 'rate_limit' }, { text: ['x', 'y'] });
      const model = A.pipe(withFallback({ candidates: [B, C], catalog }));
      expectObservable(model.stream(request)).toBe('(FGcxyvg|)', {
        ...v,
        F: fallbackFromA,
        G: { type: 'fallback', from: { provider: 'B', model: 'b' }, error: errorOf('rate_limit') },
      });
      flush();
      expect([A.calls(), B.calls(), C.calls()]).toEqual([1, 1, 1]);
      expect(all()).toBe(true);
    });
  });

  it('error: every candidate failing gives all_failed with every cause in order', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio({ fail: 'overloaded' }, { fail: 'unavailable' });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe(
        '(F#)',
        { F: fallbackFromA },
        errorOf('all_failed', {
          causes: [errorOf('overloaded', { provider: 'A' }), errorOf('unavailable', { provider: 'B' })],
          retryable: true,
        }),
      );
    });
  });

  it('an error that does not move on is passed at once', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B } = trio({ fail: 'invalid_request' });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe(
        '#',
        undefined,
        errorOf('invalid_request', { provider: 'A' }),
      );
      flush();
      expect(B.calls()).toBe(0);
    });
  });

  it('context_length moves only to a candidate with a larger window', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B, C } = trio({ fail: 'context_length' }, {}, { text: ['z'] });
      const model = A.pipe(withFallback({ candidates: [B, C], catalog }));
      expectObservable(model.stream(request)).toBe('(Fczuf|)', {
        ...v,
        F: { type: 'fallback', from: { provider: 'A', model: 'a' }, error: errorOf('context_length') },
      });
      flush();
      expect(B.calls()).toBe(0);
    });
  });

  it("onMidStream 'error' (default): content was shown, the error is passed on as is", () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B } = trio({ text: ['x', 'y'], fail: 'network', failAfter: 1 });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe('(ax#)', v, errorOf('network', { provider: 'A' }));
      flush();
      expect(B.calls()).toBe(0);
    });
  });

  it("onMidStream 'error': the last candidate's error after content is passed on as is (not all_failed)", () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio({ fail: 'overloaded' }, { text: ['y', 'z'], fail: 'network', failAfter: 1 });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe(
        '(Fby#)',
        { ...v, F: fallbackFromA },
        errorOf('network', { provider: 'B' }),
      );
    });
  });

  it("onMidStream 'restart': a reset event, then the next candidate afresh", () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B } = trio({ text: ['x', 'y'], fail: 'network', failAfter: 1 }, { text: ['z'] });
      const model = A.pipe(withFallback({ candidates: [B], onMidStream: 'restart' }));
      expectObservable(model.stream(request)).toBe('(axRbzuf|)', {
        ...v,
        R: { type: 'reset', from: { provider: 'A', model: 'a' }, error: errorOf('network') },
      });
      flush();
      expect(B.requests[0]).toEqual(request);
    });
  });

  it("onMidStream 'continue': the partial text becomes the next candidate's prefill", async () => {
    const A = scriptedModel({
      provider: 'A',
      model: 'a',
      scripts: [{ text: ['Hello', ' there '], fail: 'overloaded', failAfter: 2 }],
    });
    const B = scriptedModel({ provider: 'B', model: 'b', scripts: [{ text: [' friend', '.'] }] });
    const events: TokenEvent[] = [];
    const model = A.pipe(withFallback({ candidates: [B], onMidStream: 'continue', catalog }));
    const done = await collect(model.stream(request).pipe(map((e) => (events.push(e), e))));
    expect(done.text).toBe('Hello there friend.');
    expect(done.provider).toBe('B');
    expect(events.map((e) => e.type)).toEqual([
      'start',
      'text',
      'text',
      'fallback',
      'start',
      'text',
      'text',
      'usage',
      'finish',
    ]);
    expect(events[5]).toEqual(text('friend'));
    expect(B.requests[0]?.messages).toEqual([
      ...request.messages,
      { role: 'assistant', content: 'Hello there' },
    ]);
  });

  it("'continue' restarts when the next candidate does not accept a prefill", () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B, C } = trio({ text: ['x', 'y'], fail: 'network', failAfter: 1 }, {}, { text: ['z'] });
      const model = A.pipe(withFallback({ candidates: [C], onMidStream: 'continue', catalog }));
      void B;
      expectObservable(model.stream(request)).toBe('(axRczuf|)', {
        ...v,
        R: { type: 'reset', from: { provider: 'A', model: 'a' }, error: errorOf('network') },
      });
    });
  });

  it("'continue' restarts after a tool call started (never continues inside one)", () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio(
        { text: ['x'], toolCalls: [{ name: 'lookup', args: { q: 1 } }], fail: 'network', failAfter: 2 },
        { text: ['z'] },
      );
      const model = A.pipe(withFallback({ candidates: [B], onMidStream: 'continue', catalog }));
      expectObservable(model.stream(request)).toBe('(axDRbzuf|)', {
        ...v,
        D: { type: 'tool-call-delta', index: 0, id: 'call_0', name: 'lookup', argsDelta: '{"q":1}' },
        R: { type: 'reset', from: { provider: 'A', model: 'a' }, error: errorOf('network') },
      });
    });
  });

  it('a candidate that completes without finish has failed (incomplete), before or after content', () => {
    const cut = (events: TokenEvent[]) =>
      defineModel({ provider: 'T', model: 't', stream: () => of(...events) });
    testScheduler().run(({ expectObservable }) => {
      const { B } = trio({}, { text: ['z'] });
      const before = cut([start('T', 't')]).pipe(withFallback({ candidates: [B] }));
      expectObservable(before.stream(request)).toBe('(Fbzuf|)', {
        ...v,
        F: { type: 'fallback', from: { provider: 'T', model: 't' }, error: errorOf('incomplete') },
      });
      const after = cut([start('T', 't'), text('x')]).pipe(withFallback({ candidates: [B] }));
      expectObservable(after.stream(request)).toBe(
        '(Tx#)',
        { ...v, T: start('T', 't') },
        errorOf('incomplete'),
      );
    });
  });

  it('never-ending: a stalled candidate keeps the stream open (bound it with withTimeout)', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio({ stallAfter: 0 });
      expectObservable(A.pipe(withFallback({ candidates: [B] })).stream(request)).toBe('');
    });
  });

  it('early unsubscribe stops the candidate in flight', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const { A, B, all } = trio(
        { fail: 'overloaded' },
        { text: ['x', 'y', 'z'], tokenDelayMs: 5 },
        {},
        scheduler,
      );
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request), '^--!').toBe('(Fbx)', { ...v, F: fallbackFromA });
      flush();
      expect(all()).toBe(true);
    });
  });

  it('a synchronous stream cut by take closes every candidate', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B, all } = trio({ fail: 'overloaded' }, { text: ['x', 'y'] });
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request).pipe(take(3))).toBe('(Fbx|)', { ...v, F: fallbackFromA });
      flush();
      expect(all()).toBe(true);
    });
  });

  it('a truly synchronous candidate cut by take is stopped at once', () => {
    const { source, pulled } = pulledSource([start('B', 'b'), text('x'), text('y'), usage(2), finish(2)]);
    const failing = defineModel({ provider: 'A', model: 'a', stream: () => throwError(() => overloadedA) });
    const sync = defineModel({ provider: 'B', model: 'b', stream: () => source });
    const got: TokenEvent[] = [];
    failing
      .pipe(withFallback({ candidates: [sync] }))
      .stream(request)
      .pipe(take(3))
      .subscribe((e) => got.push(e));
    expect(got.map((e) => e.type)).toEqual(['fallback', 'start', 'text']);
    expect(pulled).toEqual([start('B', 'b'), text('x')]);
  });

  it('a shouldFallback that throws fails the stream with that error', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio({ fail: 'overloaded' });
      const model = A.pipe(
        withFallback({
          candidates: [B],
          shouldFallback: () => {
            throw new Error('predicate broke');
          },
        }),
      );
      expectObservable(model.stream(request)).toBe(
        '#',
        undefined,
        errorOf('unknown', { message: 'predicate broke' }),
      );
    });
  });

  it('isHealthy skips unhealthy candidates, unless none is healthy', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B, C } = trio({ text: ['x'] }, { text: ['y'] }, { text: ['z'] });
      const skipA = A.pipe(withFallback({ candidates: [B, C], isHealthy: (m) => m.provider !== 'A' }));
      expectObservable(skipA.stream(request)).toBe('(byuf|)', v);
      const none = A.pipe(withFallback({ candidates: [B, C], isHealthy: () => false }));
      expectObservable(none.stream(request)).toBe('(axuf|)', v);
      flush();
      expect([A.calls(), B.calls(), C.calls()]).toEqual([1, 1, 0]);
    });
  });

  it('a candidates function gives the whole list', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { A, B, C } = trio({}, { fail: 'overloaded' }, { text: ['z'] });
      const model = A.pipe(withFallback({ candidates: () => [B, C] }));
      expectObservable(model.stream(request)).toBe('(Fczuf|)', {
        ...v,
        F: { type: 'fallback', from: { provider: 'B', model: 'b' }, error: errorOf('overloaded') },
      });
      flush();
      expect(A.calls()).toBe(0);
    });
  });

  it('all_failed carries the soonest retryAfterMs when every cause had one', () => {
    testScheduler().run(({ expectObservable }) => {
      const { A, B } = trio(
        { fail: new LLMError('rate_limit', 'slow', { retryAfterMs: 900 }) },
        { fail: new LLMError('rate_limit', 'slow', { retryAfterMs: 300 }) },
      );
      const model = A.pipe(withFallback({ candidates: [B] }));
      expectObservable(model.stream(request)).toBe(
        '(F#)',
        { F: expect.objectContaining({ type: 'fallback' }) },
        errorOf('all_failed', { retryAfterMs: 300 }),
      );
    });
  });
});

describe('withPrefill', () => {
  it('appends a trailing assistant message, or extends the caller’s own prefill; trailing space is cut', () => {
    expect(withPrefill(request, 'Hello ')).toEqual({
      request: { messages: [...request.messages, { role: 'assistant', content: 'Hello' }] },
      trimmed: true,
    });
    const own = { messages: [...request.messages, { role: 'assistant' as const, content: '{' }] };
    expect(withPrefill(own, '"a": 1')).toEqual({
      request: { messages: [...request.messages, { role: 'assistant', content: '{"a": 1' }] },
      trimmed: false,
    });
  });
});
