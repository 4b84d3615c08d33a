import fc from 'fast-check';
import { filter, from, lastValueFrom, map, type Observable, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { type TokenEvent, ZERO_COST } from '../../src/core/events.js';
import { defineModel, type LanguageModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { collect } from '../../src/helpers/collect.js';
import { cache } from '../../src/operators/cache.js';
import { type FusionEvent, type FusionResult, fuse, fusion } from '../../src/operators/fuse.js';
import { type Script, type ScriptedModel, scriptedModel } from '../../src/testing/scriptedModel.js';

const request: ChatRequest = { messages: [{ role: 'user', content: 'Capital of France?' }], temperature: 0 };
const pricing = { input: 1, output: 2 };
const resultOf = (events: Observable<FusionEvent>): Promise<FusionResult> =>
  lastValueFrom(
    events.pipe(
      filter((e): e is Extract<FusionEvent, { type: 'result' }> => e.type === 'result'),
      map((e) => e.result),
    ),
  );
const member = (name: string, script: Script, scheduler?: TestScheduler): ScriptedModel =>
  scriptedModel({ provider: name, model: `${name}-1`, pricing, scheduler, scripts: [script] });

/** Wraps a member so the test sees the cost it actually reported (its `finish`), if it got that far. */
const metered = (model: LanguageModel, spent: number[], index: number): LanguageModel =>
  defineModel({
    provider: model.provider,
    model: model.model,
    stream: (r) => model.stream(r).pipe(tap((e) => e.type === 'finish' && (spent[index] = e.cost.total))),
  });

describe('fuse: early quorum (virtual time)', () => {
  it('decides when two agree, cancels the third, and streams the chosen answer with the total cost', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ expectObservable }) => {
      const a = member('a', { text: 'Paris', firstTokenDelayMs: 10 }, scheduler);
      const b = member('b', { text: 'Paris.', firstTokenDelayMs: 20 }, scheduler);
      const c = member('c', { text: 'Lyon', firstTokenDelayMs: 50 }, scheduler);
      const jury = fuse({ quorum: 2, scheduler })([a, b, c]);
      const letters = jury.stream(request).pipe(map((e) => (e.type === 'text' ? 't' : e.type.slice(0, 1))));
      expectObservable(letters).toBe('20ms (stuf|)');
      scheduler.schedule(() => {
        expect(c.active()).toBe(0);
        expect(c.calls()).toBe(1);
      }, 21);
    });
  });

  it('reports progress: member events and statuses, then the result', async () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const a = member('a', { text: 'Paris', firstTokenDelayMs: 10 }, scheduler);
    const b = member('b', { text: 'Paris', firstTokenDelayMs: 20 }, scheduler);
    const c = member('c', { text: 'Lyon', firstTokenDelayMs: 50 }, scheduler);
    const events: FusionEvent[] = [];
    fusion([a, b, c], { scheduler })
      .run(request)
      .subscribe((e) => events.push(e));
    scheduler.flush();
    const statuses = events
      .filter((e) => e.type === 'member-status')
      .map((e) => (e.type === 'member-status' ? `${e.index}:${e.status}` : ''));
    expect(statuses).toEqual([
      '0:streaming',
      '1:streaming',
      '2:streaming',
      '0:done',
      '1:done',
      '2:cancelled',
    ]);
    const result = (events.at(-1) as Extract<FusionEvent, { type: 'result' }>).result;
    expect(result).toMatchObject({
      text: 'Paris',
      group: [0, 1],
      support: 2,
      quorum: 2,
      quorumReached: true,
      early: true,
      strategy: 'majority',
      latencyMs: 20,
    });
    expect(result.agreement).toBeCloseTo(2 / 3, 12);
    expect(result.confidence).toBe(1);
    expect(result.members.map((m) => [m.status, m.latencyMs, m.timeToFirstTokenMs])).toEqual([
      ['done', 10, 10],
      ['done', 20, 20],
      ['cancelled', 20, undefined],
    ]);
    expect(result.cost.total).toBeCloseTo(result.members[0]!.cost.total + result.members[1]!.cost.total, 12);
    expect(events.filter((e) => e.type === 'member-event').length).toBe(4 + 4 + 1);
  });

  it('with synchronous members, never starts the ones after the quorum', async () => {
    const models = ['Paris', 'Paris', 'Lyon', 'Rome'].map((text, i) => member(`m${i}`, { text }));
    const result = await resultOf(fusion(models, { quorum: 2 }).run(request));
    expect(result.text).toBe('Paris');
    expect(models.map((m) => m.calls())).toEqual([1, 1, 0, 0]);
    expect(result.members.map((m) => m.status)).toEqual(['done', 'done', 'cancelled', 'cancelled']);
  });

  it('without earlyQuorum, waits for every member', async () => {
    const models = ['Paris', 'Paris', 'Lyon'].map((text, i) => member(`m${i}`, { text, tokenDelayMs: i }));
    const result = await resultOf(fusion(models, { earlyQuorum: false }).run(request));
    expect(result).toMatchObject({ text: 'Paris', early: false, support: 2 });
    expect(result.members.every((m) => m.status === 'done')).toBe(true);
    expect(result.confidence).toBeCloseTo(2 / 3, 12);
  });
});

describe('fuse: properties', () => {
  const answerArb = fc.array(
    fc.record({
      label: fc.constantFrom('Paris', 'Lyon', 'Rome'),
      delay: fc.integer({ min: 0, max: 50 }),
      fails: fc.boolean(),
      out: fc.integer({ min: 1, max: 500 }),
    }),
    { minLength: 1, maxLength: 7 },
  );

  it('majority vote always returns a member of a largest group of the answers it had (property)', () => {
    fc.assert(
      fc.property(answerArb, fc.boolean(), fc.integer({ min: 1, max: 4 }), (answers, early, quorum) => {
        const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
        const models = answers.map(({ label, delay, fails }, i) =>
          member(
            `m${i}`,
            {
              text: label,
              firstTokenDelayMs: delay,
              ...(fails && { fail: 'overloaded' as const, failAfter: 1 }),
            },
            scheduler,
          ),
        );
        let result: FusionResult | undefined;
        let error: unknown;
        fusion(models, { scheduler, earlyQuorum: early, quorum })
          .run(request)
          .subscribe({ next: (e) => e.type === 'result' && (result = e.result), error: (e) => (error = e) });
        scheduler.flush();
        if (answers.every((a) => a.fails)) {
          expect(LLMError.isInstance(error) && error.kind).toBe('all_failed');
          return;
        }
        const done = result!.members.filter((m) => m.status === 'done');
        const counts = new Map<string, number>();
        for (const m of done) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
        const largest = Math.max(...counts.values());
        expect(counts.get(result!.text)).toBe(largest);
        expect(result!.support).toBe(largest);
        expect(result!.group.every((i) => result!.members[i]!.text === result!.text)).toBe(true);
        expect(result!.quorumReached).toBe(largest >= quorum);
        if (result!.early) expect(result!.quorumReached).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('members cancelled by early quorum have no open subscription; cost equals the sum of what members reported (property)', () => {
    fc.assert(
      fc.property(answerArb, (answers) => {
        const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
        const models = answers.map(({ label, delay, fails, out }, i) =>
          member(
            `m${i}`,
            {
              text: `${label} is the answer`,
              firstTokenDelayMs: delay,
              tokenDelayMs: 3,
              usage: { inputTokens: 100, outputTokens: out },
              ...(fails && { fail: 'unavailable' as const, failAfter: 2 }),
            },
            scheduler,
          ),
        );
        const spent = answers.map(() => 0);
        const jury = fusion(
          models.map((m, i) => metered(m, spent, i)),
          { scheduler, onNoQuorum: 'best' },
        );
        let result: FusionResult | undefined;
        let finish: TokenEvent | undefined;
        const stillOpen: number[] = [];
        jury.run(request).subscribe({
          next: (e) => {
            if (e.type !== 'result') return;
            result = e.result;
            // At the decision, every cancelled member is already closed.
            result.members.forEach((m, i) => {
              if (m.status === 'cancelled' && models[i]!.active() !== 0) stillOpen.push(i);
            });
          },
          error: () => undefined,
        });
        scheduler.flush();
        expect(stillOpen).toEqual([]);
        jury
          .stream(request)
          .subscribe({ next: (e) => e.type === 'finish' && (finish = e), error: () => undefined });
        scheduler.flush();
        expect(models.every((m) => m.active() === 0)).toBe(true);
        if (!result) return; // every member failed
        const actual = spent.reduce((a, b) => a + b, 0);
        expect(result.cost.total).toBeCloseTo(actual, 12);
        expect(finish?.type === 'finish' && finish.cost.total).toBeCloseTo(actual, 12);
        expect(result.usage.outputTokens).toBe(result.members.reduce((n, m) => n + m.usage.outputTokens, 0));
      }),
      { numRuns: 150 },
    );
  });
});

describe('fuse: as a LanguageModel', () => {
  it('emits start, the chosen content, usage and finish with the total usage and cost', async () => {
    const models = [
      member('a', { text: 'Paris', usage: { inputTokens: 10, outputTokens: 1 } }),
      member('b', { text: 'Paris', usage: { inputTokens: 20, outputTokens: 2 } }),
    ];
    const events = await lastValueFrom(fuse()(models).stream(request).pipe(toArray()));
    expect(events).toEqual([
      { type: 'start', provider: 'a', model: 'a-1' },
      { type: 'text', text: 'Paris' },
      { type: 'usage', usage: { inputTokens: 30, outputTokens: 3 } },
      {
        type: 'finish',
        reason: 'stop',
        usage: { inputTokens: 30, outputTokens: 3 },
        cost: {
          input: expect.closeTo(30e-6, 15),
          output: expect.closeTo(6e-6, 15),
          total: expect.closeTo(36e-6, 15),
        },
      },
    ]);
  });

  it('nests in pipelines: a cached fusion answers the second time without calling the members', async () => {
    const models = ['Paris', 'Paris', 'Lyon'].map((text, i) => member(`m${i}`, { text }));
    const cachedJury = fusion(models).pipe(cache());
    const first = await collect(cachedJury.stream(request));
    const second = await collect(cachedJury.stream(request));
    expect(first).toMatchObject({ text: 'Paris', cached: false });
    expect(second).toMatchObject({ text: 'Paris', cached: true });
    expect(models.map((m) => m.calls())).toEqual([1, 1, 0]);
  });

  it('fails with all_failed when no group reaches the quorum, unless onNoQuorum is best', async () => {
    const models = () => ['Paris', 'Lyon', 'Rome'].map((text, i) => member(`m${i}`, { text }));
    const error = await collect(fusion(models()).stream(request)).catch((e: unknown) => e);
    expect(LLMError.isInstance(error) && error.kind).toBe('all_failed');
    expect(await collect(fusion(models(), { onNoQuorum: 'best' }).stream(request))).toMatchObject({
      text: 'Paris',
    });
    const report = await resultOf(fusion(models()).run(request));
    expect(report).toMatchObject({ quorumReached: false, support: 1, quorum: 2 });
  });

  it('fails with all_failed carrying every cause when every member fails; survives some failures', async () => {
    const failing = [member('a', { fail: 'overloaded' }), member('b', { fail: 'rate_limit' })];
    const error = await collect(fusion(failing).stream(request)).catch((e: unknown) => e);
    expect(LLMError.isInstance(error) && error.causes?.map((c) => c.kind)).toEqual([
      'overloaded',
      'rate_limit',
    ]);
    const mixed = [
      member('a', { fail: 'overloaded' }),
      member('b', { text: 'Paris' }),
      member('c', { text: 'Paris' }),
    ];
    const result = await resultOf(fusion(mixed).run(request));
    expect(result).toMatchObject({ text: 'Paris', quorumReached: true });
    expect(result.members[0]).toMatchObject({ status: 'failed', error: { kind: 'overloaded' } });
    const truncated = [member('a', { text: 'x y', truncateAfter: 1 }), member('b', { text: 'x y' })];
    const r2 = await resultOf(fusion(truncated, { onNoQuorum: 'best' }).run(request));
    expect(r2.members[0]).toMatchObject({ status: 'failed', error: { kind: 'incomplete' } });
  });

  it('unsubscribing closes every member', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const models = [1, 2, 3].map((i) =>
      member(`m${i}`, { text: 'a b c', firstTokenDelayMs: 10 * i }, scheduler),
    );
    const subscription = fusion(models, { scheduler }).stream(request).subscribe();
    scheduler.schedule(() => subscription.unsubscribe(), 5);
    scheduler.flush();
    expect(models.map((m) => [m.calls(), m.active()])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
  });

  it('an empty pool is an invalid request', async () => {
    const error = await collect(fusion([]).stream(request)).catch((e: unknown) => e);
    expect(LLMError.isInstance(error) && error.kind).toBe('invalid_request');
  });
});

describe('fuse: edge cases', () => {
  it('a throwing normalize() or strategy fails the fusion with an LLMError and closes the members', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const models = [5, 10, 50].map((d, i) =>
      member(`m${i}`, { text: 'Paris', firstTokenDelayMs: d }, scheduler),
    );
    const errors: unknown[] = [];
    fusion(models, {
      scheduler,
      normalize: () => {
        throw new Error('bad normalize');
      },
    })
      .stream(request)
      .subscribe({ error: (e) => errors.push(e) });
    const strategy = {
      name: 'broken',
      decide: () => {
        throw new Error('bad strategy');
      },
    };
    fusion(models, { scheduler, strategy })
      .run(request)
      .subscribe({ error: (e) => errors.push(e) });
    scheduler.flush();
    expect(errors.map((e) => LLMError.isInstance(e) && e.message)).toEqual(['bad normalize', 'bad strategy']);
    expect(models.map((m) => m.active())).toEqual([0, 0, 0]);
  });

  it('a member that restarts (reset) is judged on what it said after the reset', async () => {
    const restarted = defineModel({
      provider: 'r',
      model: 'r-1',
      stream: () =>
        from<TokenEvent[]>([
          { type: 'start', provider: 'x', model: 'x-1' },
          { type: 'text', text: 'Lyon' },
          { type: 'reset', from: { provider: 'x', model: 'x-1' }, error: new LLMError('network', 'cut') },
          { type: 'start', provider: 'y', model: 'y-1' },
          { type: 'text', text: 'Paris' },
          { type: 'finish', reason: 'stop', usage: { inputTokens: 1, outputTokens: 1 }, cost: ZERO_COST },
        ]),
    });
    const answer = await collect(fusion([restarted, member('b', { text: 'Paris' })]).stream(request));
    expect(answer).toMatchObject({ text: 'Paris', provider: 'y', model: 'y-1' });
  });

  it('members that never end hold the fusion until quorum, then are closed', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const stuck = member('s', { text: 'a b', stallAfter: 1 }, scheduler);
    const models = [
      stuck,
      member('a', { text: 'Paris', firstTokenDelayMs: 10 }, scheduler),
      member('b', { text: 'Paris', firstTokenDelayMs: 20 }, scheduler),
    ];
    let text = '';
    fusion(models, { scheduler })
      .stream(request)
      .subscribe((e) => e.type === 'text' && (text += e.text));
    scheduler.flush();
    expect(text).toBe('Paris');
    expect(stuck.active()).toBe(0);
  });
});

describe('fuse: strategies, similarity, metrics', () => {
  it('weighted consensus: weights decide, and the default quorum is more than half the weight', async () => {
    const models = () => [
      member('big', { text: 'Lyon' }),
      member('s1', { text: 'Paris' }),
      member('s2', { text: 'Paris' }),
    ];
    const heavy = await resultOf(fusion(models(), { weights: [3, 1, 1] }).run(request));
    expect(heavy).toMatchObject({
      text: 'Lyon',
      strategy: 'weighted',
      support: 3,
      quorum: 2.5,
      quorumReached: true,
    });
    expect(heavy.agreement).toBeCloseTo(3 / 5, 12);
    const even = await resultOf(fusion(models(), { weights: [2, 1, 1], onNoQuorum: 'best' }).run(request));
    expect(even.quorumReached).toBe(false);
  });

  it('compares tool-call answers by their calls', async () => {
    const call = (args: unknown) => ({ toolCalls: [{ name: 'search', args }] });
    const models = [
      member('a', call({ q: 'paris', n: 1 })),
      member('b', call({ n: 1, q: 'paris' })),
      member('c', call({ q: 'lyon' })),
    ];
    const result = await resultOf(fusion(models, { similarity: 'edit', threshold: 1 }).run(request));
    expect(result.group).toEqual([0, 1]);
    const events = await lastValueFrom(fusion(models, { threshold: 1 }).stream(request).pipe(toArray()));
    expect(events.filter((e) => e.type === 'tool-call')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' });
  });

  it('groups by embeddings from an asynchronous embed()', async () => {
    const vectors: Record<string, number[]> = {
      'the capital of france is paris': [1, 0.05],
      'paris is the capital': [0.98, 0.1],
      'lyon, i think': [0, 1],
    };
    const embed = async (texts: string[]) => texts.map((t) => vectors[t] ?? [0, 0]);
    const models = ['The capital of France is Paris.', 'Lyon, I think', 'Paris is the capital'].map(
      (text, i) => member(`m${i}`, { text: [text], tokenDelayMs: 1 }),
    );
    const result = await resultOf(fusion(models, { embed, threshold: 0.95 }).run(request));
    expect(result.group).toEqual([0, 2]);
    expect(models[1]!.active()).toBe(0);
  });

  it('an embed() failure fails the fusion', async () => {
    const models = ['a', 'a'].map((text, i) => member(`m${i}`, { text }));
    const embed = async (): Promise<number[][]> => {
      throw new Error('embeddings down');
    };
    const error = await resultOf(fusion(models, { embed }).run(request)).catch((e: unknown) => e);
    expect(LLMError.isInstance(error) && error.message).toMatch(/embeddings down/);
  });

  it('metrics: agreement distribution, cost per fusion, early decisions', async () => {
    const models = ['Paris', 'Paris', 'Lyon'].map((text, i) =>
      member(`m${i}`, { text, usage: { inputTokens: 0, outputTokens: 1e6 } }),
    );
    const jury = fusion(models, { onNoQuorum: 'best' });
    const seen: number[] = [];
    jury.metrics$.subscribe((m) => seen.push(m.fusions));
    await collect(jury.stream(request));
    await resultOf(jury.run(request));
    const metrics = jury.metrics();
    expect(metrics).toMatchObject({ fusions: 2, early: 2, cancelledMembers: 2, failures: 0, noQuorum: 0 });
    expect(metrics.agreement[6]).toBe(2);
    expect(metrics.costPerFusion).toBeCloseTo(4, 12);
    expect(metrics.totalCost).toBeCloseTo(8, 12);
    expect(seen).toEqual([0, 1, 2]);
  });
});
