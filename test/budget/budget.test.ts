import { Observable, pipe, take, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import {
  budget,
  type BudgetAlert,
  type BudgetConfig,
  type BudgetLineStatus,
  createBudget,
} from '../../src/operators/budget.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { route } from '../../src/routing/route.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { type Script, scriptedModel } from '../../src/testing/scriptedModel.js';
import { drain } from '../routing/support.js';
import { A, advance, asyncStore, B, chunks, clock, hi, wordEstimator } from './support.js';

const MONDAY_NOON_UTC = Date.UTC(2025, 10, 3, 12);

function setup(config: BudgetConfig = {}, base = MONDAY_NOON_UTC) {
  const vts = new VirtualTimeScheduler();
  const scheduler = clock(vts, base);
  const spend = createBudget({ specs: [A, B], estimator: wordEstimator(), scheduler, ...config });
  const alerts: BudgetAlert[] = [];
  spend.alerts$.subscribe((a) => alerts.push(a));
  const model = (scripts: readonly Script[], spec = A) =>
    scriptedModel({
      provider: spec.provider,
      model: spec.model,
      pricing: spec.pricing,
      scheduler: vts,
      scripts,
    });
  // Over the memory store, status() answers synchronously.
  const line = (scope = 'global', period = 'day') =>
    (spend.status() as readonly BudgetLineStatus[]).find((l) => l.scope === scope && l.period === period)!;
  return { vts, scheduler, spend, alerts, model, line };
}

/** A finished call of `n` output tokens on A: 8 prompt tokens at $0.001 + n at $0.002. */
const costA = (n: number) => 0.008 + 0.002 * n;
const answer = (n: number, extra: Script = {}): Script => ({
  text: chunks(n),
  usage: { inputTokens: 8, outputTokens: n },
  ...extra,
});

describe('budget()', () => {
  it('reserves the worst case before the call and settles to the finish cost', () => {
    const { vts, spend, model, line } = setup({ limits: { day: 1 } });
    const m = model([answer(5, { tokenDelayMs: 10 })]);
    const events: TokenEvent[] = [];
    m.pipe(spend.policy())
      .stream(hi(10))
      .subscribe((e) => events.push(e));
    // Worst case: 8 prompt tokens + maxTokens 10 → $0.028 held while the call streams.
    expect(line()).toMatchObject({ limit: 1, spent: 0 });
    expect(line().reserved).toBeCloseTo(costA(10), 12);
    expect(spend.outstanding()).toBe(1);
    vts.flush();
    expect(events.map((e) => e.type)).toEqual([
      'start',
      'text',
      'text',
      'text',
      'text',
      'text',
      'usage',
      'finish',
    ]);
    expect(line().spent).toBeCloseTo(costA(5), 12);
    expect(line().reserved).toBe(0);
    expect(line().remaining).toBeCloseTo(1 - costA(5), 12);
    expect(spend.outstanding()).toBe(0);
  });

  it('fails with a budget error before anything is sent when the call cannot be afforded', () => {
    const { spend, model, line } = setup({ limits: { day: 0.03 } });
    const m = model([answer(5)]);
    // Capped calls must afford the prompt and 16 output tokens: 0.008 + 0.032 > 0.03.
    expect(spend.canAfford(m, hi(100))).toBe(false);
    const { error } = drain(m.pipe(spend.policy()).stream(hi(100)));
    expect(error).toMatchObject({ kind: 'budget', retryable: false, provider: 'sim', model: 'a' });
    expect((error as LLMError).message).toContain('needs at least $0.04, $0.03 left');
    expect(m.calls()).toBe(0);
    expect(line()).toMatchObject({ spent: 0, reserved: 0 });
    expect(spend.outstanding()).toBe(0);
  });

  it('caps a call that does not fit in full: stops with a budget finish near the limit and aborts upstream', () => {
    const { vts, spend, model, line } = setup({ limits: { day: 0.05 } });
    const m = model([answer(100, { tokenDelayMs: 1 })]);
    const { events, completed } = drain(m.pipe(spend.policy()).stream(hi(100)), vts);
    // Allowance $0.05; it stops once fewer than 8 tokens ($0.016) are left: after 14 tokens ($0.036).
    const texts = events.filter((e) => e.type === 'text');
    expect(texts).toHaveLength(14);
    expect(events.at(-1)).toEqual({
      type: 'finish',
      reason: 'budget',
      raw: 'budget',
      usage: { inputTokens: 8, outputTokens: 14 },
      cost: { input: 0.008, output: 0.028, total: expect.closeTo(0.036, 12) },
    });
    expect(completed).toBe(true);
    expect(m.active()).toBe(0);
    expect(line().spent).toBeCloseTo(costA(14), 12);
    expect(spend.outstanding()).toBe(0);
  });

  it("onShortfall 'reject' refuses a call whose worst case does not fit", () => {
    const { spend, model } = setup({ limits: { day: 0.05 }, onShortfall: 'reject' });
    const m = model([answer(5)]);
    expect(spend.canAfford(m, hi(20))).toBe(true); // 0.008 + 0.04
    expect(spend.canAfford(m, hi(100))).toBe(false);
    expect(drain(m.pipe(spend.policy()).stream(hi(100))).error).toMatchObject({ kind: 'budget' });
    expect(m.calls()).toBe(0);
  });

  it('a per-request cap (config or hints.maxCost) caps each call without any window limit', () => {
    const { vts, spend, model } = setup({ perRequest: 0.1 });
    const m = model([answer(100, { tokenDelayMs: 1 })]);
    const capped = drain(m.pipe(spend.policy()).stream(hi(100)), vts);
    // $0.1 allowance: stops once over 0.1 - 0.016 → after 39 tokens ($0.086).
    expect(capped.events.filter((e) => e.type === 'text')).toHaveLength(39);
    expect(capped.events.at(-1)).toMatchObject({ type: 'finish', reason: 'budget' });
    const hinted = drain(m.pipe(spend.policy()).stream(hi(100, { hints: { maxCost: 0.05 } })), vts);
    expect(hinted.events.filter((e) => e.type === 'text')).toHaveLength(14);
    const tooSmall = drain(m.pipe(spend.policy()).stream(hi(100, { hints: { maxCost: 0.01 } })), vts);
    expect(tooSmall.error).toMatchObject({ kind: 'budget' });
  });

  it('a subscriber that abandons mid-stream is charged for what was generated', () => {
    const { vts, spend, model, line } = setup({ limits: { day: 1 } });
    const m = model([answer(20, { tokenDelayMs: 10 })]);
    const seen: TokenEvent[] = [];
    const subscription = m
      .pipe(spend.policy())
      .stream(hi(50))
      .subscribe((e) => seen.push(e));
    advance(vts, 25); // tokens at 0, 10, 20
    subscription.unsubscribe();
    expect(seen.filter((e) => e.type === 'text')).toHaveLength(3);
    expect(m.active()).toBe(0);
    expect(line().spent).toBeCloseTo(costA(3), 12);
    expect(line().reserved).toBe(0);
    expect(spend.outstanding()).toBe(0);

    // Cut by take(3) (start and two tokens): the synchronous source stops there, and two tokens are charged.
    const sync = model([answer(20)]);
    drain(sync.pipe(spend.policy()).stream(hi(50)).pipe(take(3)));
    expect(sync.active()).toBe(0);
    expect(line().spent).toBeCloseTo(costA(3) + costA(2), 12);
  });

  it('an abandoned long answer is charged for every streamed piece', () => {
    const { vts, spend, model, line } = setup({ limits: { day: 10 } });
    const m = model([{ text: Array.from({ length: 1000 }, () => ' word'), tokenDelayMs: 1 }]);
    const subscription = m.pipe(spend.policy()).stream(hi(1000)).subscribe();
    advance(vts, 899.5); // tokens at 0..899
    subscription.unsubscribe();
    expect(line().spent).toBeCloseTo(costA(900), 12);
    expect(line().reserved).toBe(0);
  });

  it('a failure before any content costs nothing; a failure after content is charged', () => {
    const { spend, model, line } = setup({ limits: { day: 1 } });
    const early = drain(
      model([answer(5, { fail: 'overloaded' })])
        .pipe(spend.policy())
        .stream(hi(10)),
    );
    expect(early.error).toMatchObject({ kind: 'overloaded' });
    expect(line()).toMatchObject({ spent: 0, reserved: 0 });
    const late = drain(
      model([answer(5, { fail: 'network', failAfter: 3 })])
        .pipe(spend.policy())
        .stream(hi(10)),
    );
    expect(late.error).toMatchObject({ kind: 'network' });
    expect(line().spent).toBeCloseTo(costA(3), 12);
    expect(spend.outstanding()).toBe(0);
  });

  it('emits each alert threshold once per window, again in the next window of its time zone', () => {
    // 23:00 in New York on Monday 3 November 2025 (04:00 UTC Tuesday).
    const base = Date.UTC(2025, 10, 4, 4);
    const { vts, spend, model, alerts } = setup(
      { limits: { day: 0.1 }, thresholds: [0.8, 0.5], timeZone: 'America/New_York' },
      base,
    );
    const m = model([answer(6)]); // $0.02 a call
    const call = () => drain(m.pipe(spend.policy()).stream(hi(6)), vts);
    for (let i = 0; i < 5; i++) call();
    expect(alerts.map((a) => [a.window.key, a.threshold, a.spent])).toEqual([
      ['2025-11-03', 0.5, 0.06],
      ['2025-11-03', 0.8, 0.08],
    ]);
    expect(alerts[0]).toMatchObject({ scope: 'global', period: 'day', limit: 0.1 });
    expect(alerts[0]!.window.start).toBe(Date.UTC(2025, 10, 3, 5));
    expect(drain(m.pipe(spend.policy()).stream(hi(6))).error).toMatchObject({ kind: 'budget' });
    advance(vts, 60 * 60_000); // midnight in New York: a new day, a fresh limit
    for (let i = 0; i < 3; i++) expect(call().error).toBeUndefined();
    expect(alerts.map((a) => [a.window.key, a.threshold])).toEqual([
      ['2025-11-03', 0.5],
      ['2025-11-03', 0.8],
      ['2025-11-04', 0.5],
    ]);
  });

  it('keeps week and month windows beside the day, and per-provider limits beside the global ones', () => {
    const { vts, spend, model, line } = setup({
      limits: { day: 1, week: 2, month: 3 },
      providers: { sim: { day: 0.05 } },
    });
    const a = model([answer(6)]);
    const b = model([answer(6)], B);
    drain(a.pipe(spend.policy()).stream(hi(6)), vts);
    drain(b.pipe(spend.policy()).stream(hi(6)), vts);
    expect(line('global', 'week').spent).toBeCloseTo(0.02 + 0.01, 12);
    expect(line('global', 'month').window.key).toBe('2025-11');
    expect(line('sim', 'day').spent).toBeCloseTo(0.02, 12);
    expect(spend.canAfford(a, hi(6))).toBe(true); // 0.03 left of sim's 0.05
    drain(a.pipe(spend.policy()).stream(hi(6)), vts);
    expect(spend.canAfford(a, hi(6))).toBe(false);
    expect(spend.canAfford(b, hi(6))).toBe(true);
  });

  it('routing skips models the budget cannot afford; inside a budgeted call its own reservation counts as left', () => {
    const { vts, spend, model } = setup({ providers: { sim: { day: costA(6) } } });
    const a = model([answer(6)]);
    const b = model([answer(6)], B);
    const pipeline = route({ budget: spend, specs: [A, B] })([a, b]).pipe(spend.policy());
    // The call reserves all of sim's limit, and the router inside still sees sim/a as affordable.
    const first = drain(pipeline.stream(hi(6)), vts);
    expect(first.events[0]).toMatchObject({ type: 'route', chosen: { provider: 'sim', model: 'a' } });
    expect(first.events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    const second = drain(pipeline.stream(hi(6)), vts);
    expect(second.events[0]).toMatchObject({ type: 'route', chosen: { provider: 'other', model: 'b' } });
    expect([a.calls(), b.calls()]).toEqual([1, 1]);
  });

  it('a fallback outside the budget walks candidates that are each still budgeted', async () => {
    const { spend, model, line } = setup({ limits: { day: 1 } });
    const a = model([answer(5, { fail: 'overloaded' })]);
    const b = model([answer(5)], B);
    const pipeline = pipe(route({ budget: spend, specs: [A, B] }), spend.policy(), withFallback())([a, b]);
    const done = await collect(pipeline.stream(hi(10)));
    expect(done.provider).toBe('other');
    expect(done.failures.map((f) => f.error.kind)).toEqual(['overloaded']);
    // sim/a failed before content (charged nothing); other/b's finish is charged.
    expect(line().spent).toBeCloseTo(0.004 + 0.005, 12);
    expect(line().reserved).toBe(0);
    expect(spend.outstanding()).toBe(0);
  });

  it('a budgeted fallback walks the candidates it was priced by: the pool is ranked once per call', () => {
    const { vts, spend, model } = setup({ limits: { day: 1 } });
    const a = model([answer(5), answer(5)]);
    const b = model([answer(5), answer(5)], B);
    let rankings = 0;
    const counted = route({
      budget: spend,
      specs: [A, B],
      strategy: (candidates) => {
        rankings++;
        return candidates;
      },
    });
    const pipeline = pipe(counted, withFallback(), spend.policy())([a, b]);
    expect(drain(pipeline.stream(hi(10)), vts).events.at(-1)).toMatchObject({ type: 'finish' });
    expect(rankings).toBe(1);
    // A later call (another request object) ranks afresh.
    drain(pipeline.stream(hi(10)), vts);
    expect(rankings).toBe(2);
  });

  it('moves the reservation when another provider answers, or refuses when its limits cannot hold it', () => {
    const { spend, line } = setup({ providers: { other: { day: 0.01 } } });
    // A pipeline that names sim/a as its candidate but is answered by other/b (a fallback's doing).
    const switching = (events: TokenEvent[]) =>
      defineModel({
        provider: 'sim',
        model: 'a',
        stream: () =>
          new Observable<TokenEvent>((s) => {
            events.forEach((e) => s.next(e));
            s.complete();
          }),
      });
    const answered = switching([
      { type: 'start', provider: 'other', model: 'b' },
      { type: 'text', text: 'w' },
      {
        type: 'finish',
        reason: 'stop',
        usage: { inputTokens: 8, outputTokens: 1 },
        cost: { input: 0.004, output: 0.001, total: 0.005 },
      },
    ]);
    // Worst case on sim/a for maxTokens 1: 0.010 > other's 0.01 limit? No: exactly 0.01, it fits.
    expect(drain(answered.pipe(spend.policy()).stream(hi(1))).completed).toBe(true);
    expect(line('other').spent).toBeCloseTo(0.005, 12);
    expect(drain(answered.pipe(spend.policy()).stream(hi(1))).error).toMatchObject({
      kind: 'budget',
      provider: 'other',
    });
    expect(line('other').reserved).toBe(0);
    expect(spend.outstanding()).toBe(0);
  });

  it('prices by the model that answers when the pipeline hides its candidates', () => {
    const { vts, spend, model, line } = setup({ limits: { day: 0.05 } });
    const a = model([answer(100, { tokenDelayMs: 1 })]);
    // A wrapper that lists only itself (like a policy over a routed pool): unknown to the catalog.
    const opaque = defineModel({ provider: 'pipeline', model: 'x', stream: (r) => a.stream(r) });
    const first = drain(opaque.pipe(spend.policy()).stream(hi(100)), vts);
    // Nothing was reserved up front; at `start` the reservation grew to what was left ($0.05).
    expect(first.events.filter((e) => e.type === 'text')).toHaveLength(14);
    expect(first.events.at(-1)).toMatchObject({ type: 'finish', reason: 'budget' });
    expect(line().spent).toBeCloseTo(costA(14), 12);
    // $0.014 left: not even the prompt and 16 tokens. Refused at `start`, before any content.
    const second = drain(opaque.pipe(spend.policy()).stream(hi(100)), vts);
    expect(second.events).toEqual([]);
    expect(second.error).toMatchObject({ kind: 'budget', provider: 'sim', model: 'a' });
    expect(a.active()).toBe(0);
    expect(line()).toMatchObject({ reserved: 0 });
    expect(spend.outstanding()).toBe(0);
  });

  it('works over a store that answers with promises', async () => {
    const store = asyncStore(memoryStore(), (op) => Promise.resolve().then(op));
    const spend = createBudget({ specs: [A], estimator: wordEstimator(), store, limits: { day: 1 } });
    const m = scriptedModel({ provider: 'sim', model: 'a', pricing: A.pricing, scripts: [answer(5)] });
    const done = await collect(m.pipe(spend.policy()).stream(hi(10)));
    expect(done.cost.total).toBeCloseTo(costA(5), 12);
    const [day] = await spend.status();
    expect(day).toMatchObject({ reserved: 0 });
    expect(day!.spent).toBeCloseTo(costA(5), 12);
    expect(await spend.outstanding()).toBe(0);
    // canAfford answers from the last values read.
    expect(spend.canAfford(m, hi(10))).toBe(true);
  });

  it('holds events while an asynchronous store answers the re-pricing at start, then passes them in order', async () => {
    const inner = memoryStore();
    const store = asyncStore(inner, (op) => Promise.resolve().then(op));
    const spend = createBudget({ specs: [A], estimator: wordEstimator(), store, limits: { day: 0.05 } });
    const a = scriptedModel({ provider: 'sim', model: 'a', pricing: A.pricing, scripts: [answer(5)] });
    const opaque = defineModel({ provider: 'pipeline', model: 'x', stream: (r) => a.stream(r) });
    const done = await collect(opaque.pipe(spend.policy()).stream(hi(10)));
    expect(done.text).toBe('w w w w w');
    expect(done.finishReason).toBe('stop');
    expect((await spend.status())[0]).toMatchObject({ reserved: 0, spent: expect.closeTo(costA(5), 12) });
    // $0.032 left, less than this call's minimum: refused at start; what had streamed meanwhile is charged.
    const refused = collect(opaque.pipe(spend.policy()).stream(hi(100)));
    await expect(refused).rejects.toMatchObject({ kind: 'budget' });
    const [day] = await spend.status();
    expect(day!.spent).toBeCloseTo(costA(5) + costA(5), 12);
    expect(await spend.outstanding()).toBe(0);
  });

  it('budget(config) makes a private budget; budget(b) shares b', () => {
    const { spend, model, line } = setup({ limits: { day: 1 } });
    const m = model([answer(1)]);
    drain(m.pipe(budget(spend)).stream(hi(1)));
    expect(line().spent).toBeCloseTo(costA(1), 12);
    // sim/a is unknown to the default catalog: refused, unless unknown prices are free.
    const privateOne = drain(m.pipe(budget({ limits: { day: 1e-9 } })).stream(hi(1)));
    expect(privateOne.error).toMatchObject({ kind: 'budget', provider: 'sim', model: 'a' });
    expect(String((privateOne.error as Error).message)).toContain('no price is known for sim/a');
    const free = drain(m.pipe(budget({ limits: { day: 1e-9 }, unknownPrice: 'free' })).stream(hi(1)));
    expect(free.error).toBeUndefined();
  });
});
