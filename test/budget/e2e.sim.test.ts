import { asyncScheduler, lastValueFrom, type SchedulerLike, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { createLedger, type LedgerEntry } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { type BudgetLineStatus, createBudget } from '../../src/operators/budget.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { createRouter } from '../../src/routing/route.js';
import type { RouteDecision } from '../../src/routing/types.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { wordEstimator } from './support.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol] });
});
afterAll(() => sim.close());

/** A fixed clock: every call falls on the same day. */
const scheduler: SchedulerLike = {
  now: () => Date.UTC(2025, 10, 12, 9),
  schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'],
};
const words = (n: number) => Array.from({ length: n }, () => 'w').join(' ');
/** 'Tell me a story': 3 + 4 + 4 = 11 prompt tokens with the word counter. */
const request = { messages: [{ role: 'user' as const, content: 'Tell me a story' }], maxTokens: 100 };
const usage = (outputTokens: number) => ({ inputTokens: 11, outputTokens });
/** Default catalog prices: gpt-4o-mini $0.15/$0.60, claude-haiku-4-5 $1/$5, gpt-4o $2.5/$10 per million. */
const micro = (usd: number) => usd * 1e6;

describe('pipe(route(), withFallback(), budget()) over the simulator', () => {
  it('routes by cost, falls back on failure, stops mid-stream at the budget, and the ledger adds up', async () => {
    const estimator = wordEstimator();
    const spend = createBudget({ limits: { day: 0.0001 }, estimator, scheduler });
    const ledger = createLedger({ estimator, scheduler });
    const router = createRouter({ strategy: 'cost', budget: spend, estimator });
    const decisions: RouteDecision[] = [];
    router.decisions$.subscribe((d) => decisions.push(d));
    const pool = [
      openai({ apiKey: 'sk-test-e2e-budget-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o' }),
      anthropic({ apiKey: 'sk-ant-test-e2e-budget-0001', baseURL: sim.url, model: 'claude-haiku-4-5' }),
      openai({ apiKey: 'sk-test-e2e-budget-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' }),
    ];
    const model = router.route()(pool).pipe(withFallback(), spend.policy(), withLedger(ledger));
    const run = (scenarios: Partial<Record<'openai' | 'anthropic', Scenario>>) => {
      sim.handle((r) => scenarios[r.protocol as 'openai' | 'anthropic']);
      return lastValueFrom(model.stream(request).pipe(toArray()));
    };
    const day = () => (spend.status() as readonly BudgetLineStatus[])[0]!;
    const types = (events: TokenEvent[]) => events.map((e) => e.type).filter((t) => t !== 'text');

    // 1. By cost: gpt-4o-mini, then haiku; gpt-4o's minimum ($0.0001875) is over the $0.0001 budget.
    const first = await run({ openai: { text: words(5), usage: usage(5) } });
    expect(first[0]).toMatchObject({
      type: 'route',
      chosen: { provider: 'openai', model: 'gpt-4o-mini' },
      fallbacks: [{ provider: 'anthropic', model: 'claude-haiku-4-5' }],
      estimatedCost: expect.closeTo((11 * 0.15 + 100 * 0.6) / 1e6, 15),
    });
    expect(decisions[0]?.rejected).toEqual([
      { model: { provider: 'openai', model: 'gpt-4o' }, reasons: ['over budget'] },
    ]);
    expect(types(first)).toEqual(['route', 'start', 'usage', 'finish']);
    expect(micro(day().spent)).toBeCloseTo(11 * 0.15 + 5 * 0.6, 9); // $4.65e-6

    // 2. gpt-4o-mini answers 503: a fallback event, then haiku answers.
    const second = await run({
      openai: { fault: { type: 'status', status: 503 } },
      anthropic: { text: words(5), usage: usage(5) },
    });
    // The decision comes first, then the candidate it led to failing, then the next one answering.
    expect(types(second)).toEqual(['route', 'fallback', 'start', 'usage', 'finish']);
    expect(second[1]).toMatchObject({
      from: { provider: 'openai', model: 'gpt-4o-mini' },
      error: { kind: 'unavailable' },
    });
    expect(second[2]).toMatchObject({ type: 'start', provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(micro(day().spent)).toBeCloseTo(4.65 + (11 * 1 + 5 * 5), 9); // + $36e-6

    // 3. $59.35e-6 left, less than gpt-4o-mini's worst case ($61.65e-6): the call is capped, and stopped once
    //    fewer than 8 output tokens ($4.8e-6) are left: after 89 tokens. The request is aborted.
    const before = sim.requests.length;
    const third = await run({ openai: { text: words(300), usage: usage(300), tokenDelayMs: 1 } });
    expect(third.filter((e) => e.type === 'text')).toHaveLength(89);
    expect(third.at(-1)).toMatchObject({ type: 'finish', reason: 'budget', usage: usage(89) });
    const aborted = sim.requests[before]!;
    await aborted.closed;
    expect(aborted.abortedByClient()).toBe(true);
    const expectedTotal = 4.65 + 36 + (11 * 0.15 + 89 * 0.6); // $95.7e-6
    expect(micro(day().spent)).toBeCloseTo(expectedTotal, 9);
    expect(day().reserved).toBe(0);
    expect(spend.outstanding()).toBe(0);

    // 4. $4.3e-6 left: no model is affordable, and nothing is sent.
    const sent = sim.requests.length;
    const refused = await run({}).catch((e: unknown) => e);
    // The router refuses with `budget`; withFallback, finding its ranking empty, lets the router say why.
    expect(LLMError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ kind: 'budget', retryable: false });
    expect((refused as LLMError).message).toContain('openai/gpt-4o-mini: over budget');
    expect(sim.requests.length).toBe(sent);

    // The ledger holds every call, and its totals are the budget's spend to the nano-dollar.
    const entries = ledger.entries() as LedgerEntry[];
    expect(entries.map((e) => [e.provider, e.model, e.outcome, e.inputTokens, e.outputTokens])).toEqual([
      ['openai', 'gpt-4o-mini', 'success', 11, 5],
      ['anthropic', 'claude-haiku-4-5', 'success', 11, 5],
      ['openai', 'gpt-4o-mini', 'budget', 11, 89],
      ['route', 'cost', expect.stringMatching(/^(budget|error)$/), 0, 0],
    ]);
    const total = ledger.totals() as Awaited<ReturnType<typeof ledger.totals>>;
    expect(micro(total.cost)).toBeCloseTo(expectedTotal, 9);
    expect(total.cost).toBe(day().spent);
    const byProvider = ledger.costBy('provider') as Awaited<ReturnType<typeof ledger.costBy>>;
    expect(byProvider.map((g) => [g.key, micro(g.cost)])).toEqual([
      ['openai', expect.closeTo(4.65 + 1.65 + 53.4, 9)],
      ['anthropic', expect.closeTo(36, 9)],
      // The refused call, recorded under the pipeline's label at no cost.
      ['route', 0],
    ]);
    expect(ledger.successRate({ provider: 'anthropic' })).toMatchObject({ rate: 1 });
    expect(decisions.map((d) => d.chosen.model)).toEqual(['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini']);
  });
});
