import fc from 'fast-check';
import { lastValueFrom, merge, type Observable, of, type Subscription, switchMap, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { cache, createCache } from '../../src/operators/cache.js';
import { LLMError } from '../../src/core/errors.js';
import { type TokenEvent, ZERO_COST } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { collect } from '../../src/helpers/collect.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import type { StateStore } from '../../src/state/store.js';
import { type Script, scriptedModel } from '../../src/testing/scriptedModel.js';

const pricing = { input: 1, output: 2 };
const request: ChatRequest = { messages: [{ role: 'user', content: 'Capital of France?' }], temperature: 0 };
const asked = (content: string): ChatRequest => ({ messages: [{ role: 'user', content }], temperature: 0 });
const events = (stream: Observable<TokenEvent>): Promise<TokenEvent[]> =>
  lastValueFrom(stream.pipe(toArray()));

/** What a hit must be: the original events, `start` marked cached, `finish` at zero cost. */
const asHit = (original: readonly TokenEvent[]): TokenEvent[] =>
  original.map((event) =>
    event.type === 'start'
      ? { ...event, cached: true }
      : event.type === 'finish'
        ? { ...event, cost: ZERO_COST }
        : event,
  );

const scriptArb: fc.Arbitrary<Script> = fc.record(
  {
    text: fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), {
      minLength: 1,
      maxLength: 12,
    }),
    toolCalls: fc.array(
      fc.record({
        name: fc.constantFrom('search', 'lookup'),
        args: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      }),
      { maxLength: 2 },
    ),
    usage: fc.record({ inputTokens: fc.nat(5000), outputTokens: fc.nat(5000) }),
  },
  { requiredKeys: ['text'] },
);

describe('cache: hits', () => {
  it('a hit replays exactly the events of the original call, marked cached and at zero cost (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.nat(400), async (script, compressAboveBytes) => {
        const model = scriptedModel({ scripts: [script], pricing });
        const responses = createCache({ compressAboveBytes });
        const cached = model.pipe(responses.policy());
        const original = await events(cached.stream(request));
        const hit = await events(cached.stream(request));
        expect(model.calls()).toBe(1);
        expect(hit).toEqual(asHit(original));
        const finish = original[original.length - 1];
        expect(responses.stats()).toMatchObject({
          hits: 1,
          misses: 1,
          entries: 1,
          writes: 1,
          savings: finish?.type === 'finish' ? finish.cost.total : NaN,
        });
      }),
      { numRuns: 100 },
    );
  });

  it('collect() of a hit reports cached, zero cost and the original usage', async () => {
    const model = scriptedModel({
      scripts: [{ text: 'Paris.', usage: { inputTokens: 7, outputTokens: 2 } }],
      pricing,
    });
    const cached = model.pipe(cache());
    const first = await collect(cached.stream(request));
    const second = await collect(cached.stream(request));
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ text: 'Paris.', cached: true, cost: ZERO_COST, usage: first.usage });
  });

  it('revives the LLMError of fallback events', async () => {
    const error = new LLMError('overloaded', 'busy', { provider: 'a', model: 'm' });
    const source: TokenEvent[] = [
      { type: 'fallback', from: { provider: 'a', model: 'm' }, error },
      { type: 'start', provider: 'b', model: 'n' },
      { type: 'text', text: 'hi' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 1, outputTokens: 1 }, cost: ZERO_COST },
    ];
    const model = defineModel({ provider: 'p', model: 'q', stream: () => of(...source) });
    const cached = model.pipe(cache());
    await events(cached.stream(request));
    const hit = await events(cached.stream(request));
    const fallback = hit[0];
    expect(fallback?.type === 'fallback' && LLMError.isInstance(fallback.error)).toBe(true);
    expect(fallback?.type === 'fallback' && fallback.error.toJSON()).toEqual(error.toJSON());
  });

  it('compresses large entries in the store', async () => {
    const store = memoryStore();
    const text = 'the same words again and again '.repeat(100);
    const cached = scriptedModel({ scripts: [{ text }] }).pipe(cache({ store, compressAboveBytes: 1024 }));
    await collect(cached.stream(request));
    const [key] = store.keys('rxllm:cache:') as string[];
    const stored = store.get(key as string) as string;
    expect(stored.startsWith('z:')).toBe(true);
    expect(stored.length).toBeLessThan(text.length);
    expect((await collect(cached.stream(request))).text).toBe(text);
  });

  it('treats an entry stored for another canonical request (a hash collision) as a miss', async () => {
    const store = memoryStore();
    const model = scriptedModel({ scripts: [{ text: 'one' }, { text: 'two' }] });
    const cached = model.pipe(cache({ store }));
    await collect(cached.stream(request));
    const [key] = store.keys('rxllm:cache:') as string[];
    const entry = JSON.parse((store.get(key as string) as string).slice(2)) as { key: string };
    store.set(key as string, `j:${JSON.stringify({ ...entry, key: '{"another":"request"}' })}`);
    expect((await collect(cached.stream(request))).text).toBe('two');
    expect(model.calls()).toBe(2);
  });

  it('treats an entry in another version of the format (a fleet mid-upgrade) as a miss', async () => {
    const store = memoryStore();
    const model = scriptedModel({ scripts: [{ text: ['o', 'ne'] }, { text: 'two' }] });
    const cached = model.pipe(cache({ store }));
    await collect(cached.stream(request));
    const [key] = store.keys('rxllm:cache:') as string[];
    const entry = JSON.parse((store.get(key as string) as string).slice(2)) as { events: unknown[] };
    // A run of text events is stored as its text and the pieces' lengths; every other event as itself.
    expect(entry.events.filter((e) => Array.isArray(e))).toEqual([['one', [1, 2]]]);
    store.set(key as string, `j:${JSON.stringify({ ...entry, v: 1 })}`);
    expect((await collect(cached.stream(request))).text).toBe('two');
    expect(model.calls()).toBe(2);
  });

  it('still answers from an entry of version 2 (text events as bare strings), event for event', async () => {
    const store = memoryStore();
    const model = scriptedModel({ scripts: [{ text: ['o', 'ne'] }] });
    const cached = model.pipe(cache({ store }));
    const texts = (events: TokenEvent[]) => events.filter((e) => e.type === 'text');
    const first = await lastValueFrom(cached.stream(request).pipe(toArray()));
    const [key] = store.keys('rxllm:cache:') as string[];
    const entry = JSON.parse((store.get(key as string) as string).slice(2)) as { events: unknown[] };
    const v2 = entry.events.flatMap((e) =>
      Array.isArray(e) ? [(e[0] as string).slice(0, 1), (e[0] as string).slice(1)] : [e],
    );
    store.set(key as string, `j:${JSON.stringify({ ...entry, v: 2, events: v2 })}`);
    const hit = await lastValueFrom(cached.stream(request).pipe(toArray()));
    expect(hit[0]).toMatchObject({ type: 'start', cached: true });
    expect(texts(hit)).toEqual(texts(first));
    expect(texts(hit)).toHaveLength(2);
    expect(model.calls()).toBe(1);
  });

  it('with ignoreModel, answers any model from one cache', async () => {
    const shared = createCache({ ignoreModel: true });
    const a = scriptedModel({ provider: 'a', scripts: [{ text: 'from a' }] });
    const b = scriptedModel({ provider: 'b', scripts: [{ text: 'from b' }] });
    await collect(a.pipe(shared.policy()).stream(request));
    const hit = await collect(b.pipe(shared.policy()).stream(request));
    expect(hit).toMatchObject({ text: 'from a', provider: 'a', cached: true });
    expect(b.calls()).toBe(0);
    const separate = createCache();
    await collect(a.pipe(separate.policy()).stream(request));
    expect((await collect(b.pipe(separate.policy()).stream(request))).text).toBe('from b');
  });

  it('works over an asynchronous store, and passes calls through a store that fails', async () => {
    const inner = memoryStore();
    const asyncStore = new Proxy(inner, {
      get:
        (target, name: keyof StateStore) =>
        (...args: unknown[]) =>
          Promise.resolve((target[name] as (...a: unknown[]) => unknown)(...args)),
    }) as StateStore;
    const model = scriptedModel({ scripts: [{ text: 'Paris.' }] });
    const cached = model.pipe(cache({ store: asyncStore }));
    await collect(cached.stream(request));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await collect(cached.stream(request))).toMatchObject({ text: 'Paris.', cached: true });
    expect(model.calls()).toBe(1);

    const broken = new Proxy(inner, {
      get: () => () => Promise.reject(new Error('store down')),
    }) as StateStore;
    const direct = scriptedModel({ scripts: [{ text: 'Lyon.' }] });
    const through = direct.pipe(cache({ store: broken }));
    expect((await collect(through.stream(request))).text).toBe('Lyon.');
    expect((await collect(through.stream(request))).text).toBe('Lyon.');
    expect(direct.calls()).toBe(2);

    // A store that throws instead of rejecting, and a codec that throws on what it reads: misses too.
    const throwing = new Proxy(inner, {
      get: () => () => {
        throw new Error('store down');
      },
    }) as StateStore;
    const plain = scriptedModel({ scripts: [{ text: 'Nice.' }] });
    expect((await collect(plain.pipe(cache({ store: throwing })).stream(request))).text).toBe('Nice.');
    const badCodec = {
      encode: (text: string) => text,
      decode: (): string => {
        throw new Error('corrupt');
      },
    };
    const twice = scriptedModel({ scripts: [{ text: 'Metz.' }] });
    const decoding = twice.pipe(cache({ codec: badCodec }));
    await collect(decoding.stream(request));
    expect((await collect(decoding.stream(request))).text).toBe('Metz.');
    expect(twice.calls()).toBe(2);
  });
});

describe('cache: what is stored and what bypasses', () => {
  it.each<[string, Script]>([
    ['a failure', { text: 'a b c', fail: 'overloaded', failAfter: 2 }],
    ['a stream that ends without finish', { text: 'a b c', truncateAfter: 1 }],
  ])('does not store %s', async (_name, script) => {
    const model = scriptedModel({ scripts: [script, { text: 'fine' }] });
    const responses = createCache();
    const cached = model.pipe(responses.policy());
    await expect(collect(cached.stream(request))).rejects.toBeInstanceOf(LLMError);
    expect((await collect(cached.stream(request))).text).toBe('fine');
    expect(model.calls()).toBe(2);
    expect(responses.stats()).toMatchObject({ writes: 1, entries: 1 });
  });

  it('does not store a call its subscriber left (a synchronous source cut by take)', async () => {
    const model = scriptedModel({ scripts: [{ text: 'a b c' }] });
    const cached = model.pipe(cache());
    await lastValueFrom(cached.stream(request).pipe(take(2)));
    expect(model.active()).toBe(0);
    await collect(cached.stream(request));
    expect(model.calls()).toBe(2);
  });

  it('bypasses calls with temperature above zero or unset, unless opted in', async () => {
    const model = scriptedModel();
    const responses = createCache();
    const cached = model.pipe(responses.policy());
    const warm: ChatRequest = { ...request, temperature: 0.7 };
    const unset: ChatRequest = { messages: request.messages };
    for (const r of [warm, warm, unset, unset]) await collect(cached.stream(r));
    expect(model.calls()).toBe(4);
    expect(responses.stats()).toMatchObject({ bypassed: 4, hits: 0, misses: 0, hitRate: 0 });

    const optedIn = scriptedModel();
    const all = optedIn.pipe(cache({ cacheNonDeterministic: true }));
    for (const r of [warm, warm, unset, unset]) await collect(all.stream(r));
    expect(optedIn.calls()).toBe(2);

    const custom = scriptedModel();
    const some = custom.pipe(cache({ cacheable: (r) => r.maxTokens === 5 }));
    for (const r of [request, request, { ...warm, maxTokens: 5 }, { ...warm, maxTokens: 5 }])
      await collect(some.stream(r));
    expect(custom.calls()).toBe(3);
  });
});

describe('cache: edge cases', () => {
  it('an empty upstream completes empty and is not stored', async () => {
    let calls = 0;
    const empty = defineModel({ provider: 'e', model: 'm', stream: () => (calls++, of<TokenEvent>()) });
    const cached = empty.pipe(cache());
    expect(await events(cached.stream(request))).toEqual([]);
    expect(await events(cached.stream(request))).toEqual([]);
    expect(calls).toBe(2);
  });

  it('a throwing cacheable() fails the call on subscribe, not when stream() is called', async () => {
    const model = scriptedModel();
    const cached = model.pipe(
      cache({
        cacheable: () => {
          throw new Error('boom');
        },
      }),
    );
    const stream = cached.stream(request);
    await expect(events(stream)).rejects.toThrow('boom');
    expect(model.calls()).toBe(0);
  });

  it('a never-ending upstream keeps its coalesced subscribers until they leave', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const model = scriptedModel({ scheduler, scripts: [{ text: 'a b c', stallAfter: 1 }] });
    const cached = model.pipe(cache({ scheduler }));
    const a = cached.stream(request).subscribe();
    const b = cached.stream(request).subscribe();
    scheduler.flush();
    expect([model.calls(), model.active()]).toEqual([1, 1]);
    a.unsubscribe();
    expect(model.active()).toBe(1);
    b.unsubscribe();
    expect(model.active()).toBe(0);
  });
});

describe('cache: bounds', () => {
  it('evicts the least recently used entry beyond maxEntries, from the store too', async () => {
    const store = memoryStore();
    const model = scriptedModel({ scripts: (r) => ({ text: `answer to ${JSON.stringify(r.messages)}` }) });
    const responses = createCache({ store, maxEntries: 2 });
    const cached = model.pipe(responses.policy());
    await collect(cached.stream(asked('a')));
    await collect(cached.stream(asked('b')));
    await collect(cached.stream(asked('a'))); // hit: a is now the most recent
    await collect(cached.stream(asked('c'))); // evicts b
    expect(store.keys('rxllm:cache:')).toHaveLength(2);
    expect(responses.stats()).toMatchObject({ entries: 2, evictions: 1, hits: 1, misses: 3 });
    await collect(cached.stream(asked('a')));
    await collect(cached.stream(asked('b')));
    expect(model.calls()).toBe(4);
    expect(responses.stats().bytes).toBe(
      (store.keys('rxllm:cache:') as string[]).reduce((n, k) => n + (store.get(k) as string).length, 0),
    );
  });

  it('keeps the stored bytes within maxBytes and does not store an entry larger than it', async () => {
    const store = memoryStore();
    const responses = createCache({ store, maxBytes: 2000, compressAboveBytes: Infinity });
    const model = scriptedModel({
      scripts: (r) => ({ text: JSON.stringify(r.messages).length > 40 ? 'x '.repeat(2000) : 'short' }),
    });
    const cached = model.pipe(responses.policy());
    for (const q of ['a', 'b', 'c', 'd', 'e', 'f']) await collect(cached.stream(asked(q)));
    expect(responses.stats().bytes).toBeLessThanOrEqual(2000);
    expect(responses.stats().entries).toBeLessThan(6);
    await collect(cached.stream(asked('a much longer question that gets a huge answer')));
    expect(store.keys('rxllm:cache:')).toHaveLength(responses.stats().entries);
    expect(responses.stats().bytes).toBeLessThanOrEqual(2000);
  });

  it('clear() empties the store and the index', async () => {
    const store = memoryStore();
    const responses = createCache({ store });
    const model = scriptedModel();
    const cached = model.pipe(responses.policy());
    await collect(cached.stream(request));
    await responses.clear();
    expect(store.keys('rxllm:cache:')).toEqual([]);
    expect(responses.stats()).toMatchObject({ entries: 0, bytes: 0 });
    await collect(cached.stream(request));
    expect(model.calls()).toBe(2);
  });
});

describe('cache: virtual time', () => {
  const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('an entry answers until its TTL, then the call goes upstream again', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const model = scriptedModel({ scripts: [{ text: 'one' }, { text: 'two' }] });
      const cached = model.pipe(cache({ ttlMs: 100 }));
      const textAt = (ms: number) =>
        cold(`${ms}ms (a|)`).pipe(
          switchMap(() => cached.stream(request)),
          switchMap((e) =>
            e.type === 'text' ? of(`${e.text}`) : e.type === 'start' ? of(e.cached ? 'hit' : 'miss') : [],
          ),
        );
      expectObservable(textAt(0)).toBe('(mo|)', { m: 'miss', o: 'one' });
      expectObservable(textAt(99)).toBe('99ms (ho|)', { h: 'hit', o: 'one' });
      expectObservable(textAt(100)).toBe('100ms (mt|)', { m: 'miss', t: 'two' });
      expectObservable(textAt(150)).toBe('150ms (ht|)', { h: 'hit', t: 'two' });
    });
  });

  it('a paced replay keeps the original offsets; an instant one emits at once', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const script: Script = {
        text: ['a', 'b', 'c'],
        firstTokenDelayMs: 10,
        tokenDelayMs: 5,
        usage: { inputTokens: 1, outputTokens: 3 },
      };
      const model = scriptedModel({ scripts: [script], scheduler });
      const paced = createCache({ replay: 'paced', scheduler });
      const instant = createCache({ replay: 'instant', scheduler });
      const letter = (e: TokenEvent): string => (e.type === 'text' ? e.text : e.type.slice(0, 1));
      const at = (ms: number, responses: typeof paced) =>
        cold(`${ms}ms (x|)`).pipe(
          switchMap(() => model.pipe(responses.policy()).stream(request)),
          switchMap((e) => of(letter(e))),
        );
      expectObservable(at(0, paced)).toBe('s 9ms a 4ms b 4ms (cuf|)');
      expectObservable(at(100, paced)).toBe('100ms s 9ms a 4ms b 4ms (cuf|)');
      expectObservable(at(0, instant)).toBe('s 9ms a 4ms b 4ms (cuf|)');
      expectObservable(at(100, instant)).toBe('100ms (sabcuf|)');
    });
  });

  it('unsubscribing a paced replay cancels its timer', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const model = scriptedModel({
        scripts: [{ text: ['a', 'b'], firstTokenDelayMs: 10, tokenDelayMs: 10 }],
        scheduler,
      });
      const cached = model.pipe(cache({ replay: 'paced', scheduler }));
      const texts = (ms: number) =>
        cold(`${ms}ms (x|)`).pipe(
          switchMap(() => cached.stream(request)),
          switchMap((e) => (e.type === 'text' ? of(e.text) : [])),
        );
      expectObservable(texts(0)).toBe('10ms a 9ms (b|)');
      expectObservable(texts(100), '^ 114ms !').toBe('110ms a');
    });
    expect(scheduler.actions.length).toBe(0);
  });
});

describe('cache: in-flight coalescing', () => {
  /** A scripted stream of `tokens` words, one every 10 ms after a 10 ms wait, on a virtual clock. */
  const setup = (tokens: number) => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const text = Array.from({ length: tokens }, (_, i) => `w${i} `);
    const model = scriptedModel({
      scheduler,
      pricing,
      scripts: [
        { text, firstTokenDelayMs: 10, tokenDelayMs: 10, usage: { inputTokens: 100, outputTokens: tokens } },
      ],
    });
    const responses = createCache({ scheduler });
    return { scheduler, model, responses, cached: model.pipe(responses.policy()) };
  };
  const withoutCost = (list: readonly TokenEvent[]) =>
    list.map((e) => (e.type === 'finish' ? { ...e, cost: ZERO_COST } : e));

  it('N identical concurrent calls reach upstream once; every subscriber gets the whole stream (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 45 }), { minLength: 1, maxLength: 8 }), (joins) => {
        const { scheduler, model, responses, cached } = setup(5);
        const solo = scriptedModel({
          pricing,
          scripts: [
            {
              text: Array.from({ length: 5 }, (_, i) => `w${i} `),
              usage: { inputTokens: 100, outputTokens: 5 },
            },
          ],
        });
        let expected: TokenEvent[] = [];
        solo.stream(request).subscribe((e) => expected.push(e));
        expected = withoutCost(expected);
        const received = joins.map(() => [] as TokenEvent[]);
        const completed = joins.map(() => false);
        joins.forEach((at, i) =>
          scheduler.schedule(() => {
            cached.stream(request).subscribe({
              next: (e) => received[i]?.push(e),
              complete: () => (completed[i] = true),
            });
          }, at),
        );
        scheduler.flush();
        expect(model.calls()).toBe(1);
        expect(completed.every(Boolean)).toBe(true);
        for (const list of received) expect(withoutCost(list)).toEqual(expected);
        // The call's cost is reported once.
        const costs = received
          .map((list) => list.find((e) => e.type === 'finish'))
          .map((e) => (e?.type === 'finish' ? e.cost.total : 0));
        const paid = Math.max(...costs);
        expect(paid).toBeGreaterThan(0);
        expect(costs.filter((c) => c > 0)).toHaveLength(1);
        expect(responses.stats()).toMatchObject({ misses: 1, coalesced: joins.length - 1 });
        expect(responses.stats().savings).toBeCloseTo(paid * (joins.length - 1), 12);
      }),
      { numRuns: 100 },
    );
  });

  it('unsubscribing any subset never ends the others; unsubscribing all aborts upstream (property)', () => {
    // Six tokens, one every 10 ms: an upstream call lasts 60 ms, so whoever leaves before 55 left early.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            join: fc.integer({ min: 0, max: 40 }),
            leave: fc.option(fc.integer({ min: 0, max: 54 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (subs) => {
          const { scheduler, model, cached } = setup(6);
          const expected = withoutCost(
            (() => {
              const list: TokenEvent[] = [];
              const solo = scriptedModel({
                pricing,
                scripts: [
                  {
                    text: Array.from({ length: 6 }, (_, i) => `w${i} `),
                    usage: { inputTokens: 100, outputTokens: 6 },
                  },
                ],
              });
              solo.stream(request).subscribe((e) => list.push(e));
              return list;
            })(),
          );
          const received = subs.map(() => [] as TokenEvent[]);
          const completed = subs.map(() => false);
          const handles: (Subscription | undefined)[] = [];
          const leaveAt = subs.map(({ join, leave }) =>
            leave === undefined ? Infinity : Math.max(join, leave),
          );
          subs.forEach(({ join }, i) => {
            scheduler.schedule(() => {
              handles[i] = cached.stream(request).subscribe({
                next: (e) => received[i]?.push(e),
                complete: () => (completed[i] = true),
              });
            }, join);
            const at = leaveAt[i] as number;
            if (at !== Infinity) scheduler.schedule(() => handles[i]?.unsubscribe(), at);
          });
          const lastLeave = Math.max(...leaveAt);
          let activeAfterAllLeft: number | undefined;
          if (lastLeave !== Infinity)
            scheduler.schedule(() => (activeAfterAllLeft = model.active()), lastLeave);
          scheduler.flush();
          subs.forEach((_, i) => {
            if (leaveAt[i] === Infinity) {
              // Whoever stayed got the whole stream, whatever the others did.
              expect(completed[i]).toBe(true);
              expect(withoutCost(received[i] ?? [])).toEqual(expected);
            } else {
              expect(completed[i]).toBe(false);
            }
          });
          if (lastLeave !== Infinity) {
            expect(activeAfterAllLeft).toBe(0);
            expect(completed.some(Boolean)).toBe(false);
          }
          expect(model.active()).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a late joiner gets the events so far, then the live ones; leaving does not stop the others', () => {
    const { scheduler, model, cached } = setup(4);
    const early: string[] = [];
    const late: string[] = [];
    const label = (e: TokenEvent) => (e.type === 'text' ? e.text.trim() : e.type);
    const first = cached.stream(request).subscribe((e) => early.push(`${scheduler.now()}:${label(e)}`));
    scheduler.schedule(
      () => cached.stream(request).subscribe((e) => late.push(`${scheduler.now()}:${label(e)}`)),
      25,
    );
    scheduler.schedule(() => first.unsubscribe(), 30);
    scheduler.flush();
    expect(early).toEqual(['0:start', '10:w0', '20:w1']);
    expect(late).toEqual(['25:start', '25:w0', '25:w1', '30:w2', '40:w3', '40:usage', '40:finish']);
    expect(model.calls()).toBe(1);
    expect(model.active()).toBe(0);
  });

  it('the last subscriber leaving aborts upstream, and the next call starts afresh', () => {
    const { scheduler, model, cached } = setup(4);
    const a = cached.stream(request).subscribe();
    const b = cached.stream(request).subscribe();
    scheduler.schedule(() => a.unsubscribe(), 15);
    scheduler.schedule(() => {
      expect(model.active()).toBe(1);
      b.unsubscribe();
      expect(model.active()).toBe(0);
    }, 16);
    scheduler.flush();
    let finished = false;
    cached.stream(request).subscribe({ complete: () => (finished = true) });
    scheduler.flush();
    expect(finished).toBe(true);
    expect(model.calls()).toBe(2);
  });

  it('an upstream failure reaches every coalesced subscriber, and nothing is stored', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const model = scriptedModel({
      scheduler,
      scripts: [{ text: 'a b c', tokenDelayMs: 10, fail: 'overloaded', failAfter: 2 }, { text: 'ok' }],
    });
    const cached = model.pipe(cache({ scheduler }));
    const errors: unknown[] = [];
    for (let i = 0; i < 3; i++) cached.stream(request).subscribe({ error: (e) => errors.push(e) });
    scheduler.flush();
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => LLMError.isInstance(e) && e.kind === 'overloaded')).toBe(true);
    expect(model.calls()).toBe(1);
  });

  it('merged identical calls, one cut by take, keep the rest whole', async () => {
    const model = scriptedModel({ scripts: [{ text: 'a b c d', tokenDelayMs: 1 }] });
    const cached = model.pipe(cache());
    const [whole, cut] = await Promise.all([
      lastValueFrom(merge(cached.stream(request)).pipe(toArray())),
      lastValueFrom(cached.stream(request).pipe(take(2), toArray())),
    ]);
    expect(cut.map((e) => e.type)).toEqual(['start', 'text']);
    expect(whole.map((e) => e.type)).toEqual(['start', 'text', 'text', 'text', 'text', 'usage', 'finish']);
    expect(model.calls()).toBe(1);
    expect(model.active()).toBe(0);
  });
});
