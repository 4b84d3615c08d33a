import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createLedger, type LedgerEntry, type LedgerRecord } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { createBudget } from '../../src/operators/budget.js';
import type { StateStore } from '../../src/state/store.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { type Script, scriptedModel } from '../../src/testing/scriptedModel.js';
import { A, advance, chunks, clock, hi, wordEstimator } from '../budget/support.js';
import { drain } from '../routing/support.js';

const DAY = 86_400_000;
/** Monday 10 November 2025, 09:00 in Berlin. */
const BASE = Date.UTC(2025, 10, 10, 8);

function setup() {
  const vts = new VirtualTimeScheduler();
  const scheduler = clock(vts, BASE);
  const ledger = createLedger({
    scheduler,
    timeZone: 'Europe/Berlin',
    specs: [A],
    estimator: wordEstimator(),
  });
  return { vts, scheduler, ledger };
}

const entry = (over: Partial<LedgerRecord> = {}): LedgerRecord => ({
  provider: 'openai',
  model: 'gpt-4o-mini',
  inputTokens: 100,
  outputTokens: 50,
  cost: 0.01,
  latencyMs: 900,
  outcome: 'success',
  estimated: false,
  ...over,
});

describe('ledger', () => {
  it('answers cost by provider, model and day, top models and success rates', () => {
    const { ledger } = setup();
    ledger.record(entry({ at: BASE }));
    ledger.record(entry({ at: BASE + 1000, cost: 0.02, outcome: 'error', errorKind: 'overloaded' }));
    ledger.record(entry({ at: BASE + 2000, provider: 'anthropic', model: 'claude-haiku-4-5', cost: 0.05 }));
    // 23:30 UTC on the 10th is already the 11th in Berlin.
    ledger.record(
      entry({ at: Date.UTC(2025, 10, 10, 23, 30), cost: 0.001, outcome: 'aborted', estimated: true }),
    );
    ledger.record(entry({ at: BASE + DAY + 5000, model: 'gpt-4o', cost: 0.1, outcome: 'budget' }));

    const byProvider = ledger.costBy('provider') as Awaited<ReturnType<typeof ledger.costBy>>;
    expect(byProvider.map((g) => [g.key, g.calls, g.cost])).toEqual([
      ['openai', 4, 0.131],
      ['anthropic', 1, 0.05],
    ]);
    const byModel = ledger.costBy('model') as Awaited<ReturnType<typeof ledger.costBy>>;
    expect(byModel.map((g) => g.key)).toEqual([
      'openai/gpt-4o',
      'anthropic/claude-haiku-4-5',
      'openai/gpt-4o-mini',
    ]);
    const byDay = ledger.costBy('day') as Awaited<ReturnType<typeof ledger.costBy>>;
    expect(byDay.map((g) => [g.key, g.calls, g.cost])).toEqual([
      ['2025-11-10', 3, 0.08],
      ['2025-11-11', 2, 0.101],
    ]);
    const top = ledger.topModels({ limit: 2, by: 'calls' }) as Awaited<ReturnType<typeof ledger.topModels>>;
    expect(top.map((g) => [g.key, g.calls])).toEqual([
      ['openai/gpt-4o-mini', 3],
      ['anthropic/claude-haiku-4-5', 1],
    ]);
    expect(ledger.successRate()).toEqual({ calls: 5, successes: 2, errors: 1, rate: 2 / 3 });
    expect(ledger.successRate({ provider: 'anthropic' })).toMatchObject({ rate: 1 });
    expect(ledger.successRate({ model: 'nothing' })).toEqual({ calls: 0, successes: 0, errors: 0, rate: 1 });
    expect(ledger.totals({ since: BASE + 1000, until: BASE + 3000 })).toMatchObject({ calls: 2, cost: 0.07 });
    const listed = ledger.entries({ since: BASE + DAY }) as LedgerEntry[];
    expect(listed.map((e) => e.model)).toEqual(['gpt-4o']);
    expect(listed[0]).toMatchObject({ cost: 0.1, outcome: 'budget' });
  });

  it('projects the month from the recent daily rate', () => {
    const { vts, ledger } = setup();
    // $1 a day on each of the last 4 days (the 7th to the 10th): a $1/day rate measured over 4 days.
    for (let d = 3; d >= 0; d--) ledger.record(entry({ at: BASE - d * DAY, cost: 1 }));
    const p = ledger.projectMonth() as Awaited<ReturnType<typeof ledger.projectMonth>>;
    expect(p.month.key).toBe('2025-11');
    expect(p.spent).toBe(4);
    // Earliest entry 3 days ago: the rate is over 3 days.
    expect(p.dailyRate).toBeCloseTo(4 / 3, 9);
    const left = (p.month.end - BASE) / DAY;
    expect(p.projected).toBeCloseTo(4 + (4 / 3) * left, 9);
    // A lookback of one day sees one dollar in it.
    advance(vts, 1000);
    const recent = ledger.projectMonth({ lookbackDays: 1 }) as Awaited<
      ReturnType<typeof ledger.projectMonth>
    >;
    expect(recent.dailyRate).toBe(1);
    const empty = createLedger().projectMonth() as Awaited<ReturnType<typeof ledger.projectMonth>>;
    expect(empty).toMatchObject({ spent: 0, dailyRate: 0, projected: 0 });
  });

  it('keeps a day per list and drops days past the retention', () => {
    const vts = new VirtualTimeScheduler();
    const scheduler = clock(vts, BASE);
    const store = memoryStore({ now: () => scheduler.now() });
    const ledger = createLedger({ scheduler, store, retentionDays: 2 });
    ledger.record(entry());
    expect(store.keys('ledger:day:')).toEqual(['ledger:day:2025-11-10']);
    advance(vts, 2 * DAY + 1);
    expect(ledger.entries()).toEqual([]);
  });
});

describe('withLedger()', () => {
  it('records a finished call with its usage, cost, latency and time to first token', () => {
    const { vts, ledger } = setup();
    const m = scriptedModel({
      provider: 'sim',
      model: 'a',
      pricing: A.pricing,
      scheduler: vts,
      scripts: [
        {
          text: chunks(4),
          usage: { inputTokens: 8, outputTokens: 4 },
          firstTokenDelayMs: 300,
          tokenDelayMs: 50,
        },
      ],
    });
    drain(m.pipe(withLedger(ledger)).stream(hi(10)), vts);
    expect(ledger.entries()).toEqual([
      {
        at: BASE + 450,
        provider: 'sim',
        model: 'a',
        inputTokens: 8,
        outputTokens: 4,
        cost: 0.016,
        latencyMs: 450,
        ttftMs: 300,
        outcome: 'success',
        finishReason: 'stop',
        estimated: false,
      },
    ]);
  });

  it('records failures, abandoned calls (usage estimated from the streamed text) and budget stops', () => {
    const { vts, scheduler, ledger } = setup();
    const model = (script: readonly Script[]) =>
      scriptedModel({ provider: 'sim', model: 'a', pricing: A.pricing, scheduler: vts, scripts: script });
    drain(
      model([{ fail: 'rate_limit' }])
        .pipe(withLedger(ledger))
        .stream(hi(10)),
      vts,
    );
    const slow = model([{ text: chunks(10), tokenDelayMs: 10 }]);
    const abandoned = slow.pipe(withLedger(ledger)).stream(hi(10)).subscribe();
    advance(vts, 25);
    abandoned.unsubscribe();
    const spend = createBudget({ scheduler, specs: [A], estimator: wordEstimator(), limits: { day: 0.05 } });
    drain(
      model([{ text: chunks(100) }])
        .pipe(spend.policy(), withLedger(ledger))
        .stream(hi(100)),
      vts,
    );
    drain(
      model([{ text: chunks(1) }])
        .pipe(spend.policy(), withLedger(ledger))
        .stream(hi(100)),
      vts,
    );
    drain(
      model([{ text: chunks(3), truncateAfter: 2 }])
        .pipe(withLedger(ledger))
        .stream(hi(10)),
      vts,
    );

    const entries = ledger.entries() as LedgerEntry[];
    expect(entries.map((e) => [e.outcome, e.errorKind, e.inputTokens, e.outputTokens, e.estimated])).toEqual([
      ['error', 'rate_limit', 0, 0, false],
      ['aborted', undefined, 8, 3, true],
      ['budget', undefined, 8, 14, false],
      ['budget', 'budget', 0, 0, false],
      ['error', 'incomplete', 8, 2, true],
    ]);
    expect(entries[1]!.cost).toBeCloseTo(0.014, 12);
    expect(entries[2]!.cost).toBeCloseTo(0.036, 12);
    expect(entries[2]!.finishReason).toBe('budget');
    // The ledger's total of the budgeted calls is exactly what the budget charged.
    const [day] = spend.status() as Awaited<ReturnType<typeof spend.status>>;
    expect(day!.spent).toBeCloseTo(entries[2]!.cost + entries[3]!.cost, 12);
  });

  it('a store that cannot write never fails the call', async () => {
    const broken = {
      ...memoryStore(),
      append: () => Promise.reject(new Error('store down')),
    } as StateStore;
    const ledger = createLedger({ store: broken });
    const m = scriptedModel({ scripts: [{ text: 'ok' }] });
    const { completed } = drain(m.pipe(withLedger(ledger)).stream(hi()));
    await Promise.resolve();
    expect(completed).toBe(true);
    const throwing = createLedger({
      store: {
        ...memoryStore(),
        append: () => {
          throw new Error('sync failure');
        },
      } as StateStore,
    });
    expect(drain(m.pipe(withLedger(throwing)).stream(hi())).completed).toBe(true);
  });
});
