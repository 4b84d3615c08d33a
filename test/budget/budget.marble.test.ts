import type { Observable } from 'rxjs';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { costOf } from '../../src/core/catalog.js';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { createEstimator } from '../../src/routing/estimate.js';
import { type BudgetConfig, type BudgetLineStatus, createBudget } from '../../src/operators/budget.js';
import { pulledSource } from '../operators/support.js';
import { A, hi, wordEstimator } from './support.js';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
/** Runs `body` in a TestScheduler's run mode, handing it the scheduler (the budget's clock). */
function withScheduler(
  body: (ts: TestScheduler, helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void,
): void {
  const ts = testScheduler();
  ts.run((helpers) => body(ts, helpers));
}
const u = { inputTokens: 8, outputTokens: 2 };
const values: Record<string, TokenEvent> = {
  s: { type: 'start', provider: 'sim', model: 'a' },
  a: { type: 'text', text: 'w' },
  b: { type: 'text', text: ' w' },
  f: { type: 'finish', reason: 'stop', usage: u, cost: costOf(u, A.pricing) },
};

function budgeted(
  source: Observable<TokenEvent>,
  scheduler: TestScheduler,
  config: BudgetConfig = {},
  maxTokens = 10,
) {
  const spend = createBudget({
    specs: [A],
    estimator: wordEstimator(),
    scheduler,
    limits: { day: 1 },
    ...config,
  });
  const model = defineModel({ provider: 'sim', model: 'a', stream: () => source });
  const spent = () => (spend.status() as readonly BudgetLineStatus[])[0]?.spent ?? 0;
  return { stream: model.pipe(spend.policy()).stream(hi(maxTokens)), spend, spent };
}

describe('budget() (marbles)', () => {
  it('empty: a source that completes at once completes, charging nothing', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold<TokenEvent>('|');
      const { stream, spent, spend } = budgeted(source, ts);
      expectObservable(stream).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      flush();
      expect(spent()).toBe(0);
      expect(spend.outstanding()).toBe(0);
    });
  });

  it('one and many events pass through unchanged; the finish cost is charged', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('s-a--b-f|', values);
      const { stream, spent } = budgeted(source, ts);
      expectObservable(stream).toBe('s-a--b-f|', values);
      expectSubscriptions(source.subscriptions).toBe('^-------!');
      flush();
      expect(spent()).toBeCloseTo(0.012, 12);
    });
  });

  it('an error passes through, after charging what streamed', () => {
    withScheduler((ts, { cold, expectObservable, flush }) => {
      const error = new LLMError('network', 'reset');
      const source = cold('s-a-#', values, error);
      const { stream, spent } = budgeted(source, ts);
      expectObservable(stream).toBe('s-a-#', values, error);
      flush();
      expect(spent()).toBeCloseTo(0.008 + 0.002, 12);
    });
  });

  it('never-ending: unsubscribing stops upstream at once and charges what streamed', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('s-a-b---', values);
      const { stream, spent, spend } = budgeted(source, ts);
      expectObservable(stream, '^------!').toBe('s-a-b--', values);
      expectSubscriptions(source.subscriptions).toBe('^------!');
      flush();
      expect(spent()).toBeCloseTo(0.008 + 0.004, 12);
      expect(spend.outstanding()).toBe(0);
    });
  });

  it('a capped stream ends with a budget finish in the frame it runs out, and upstream is unsubscribed then', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions }) => {
      // Allowance $0.03 (the worst case for maxTokens 100 is $0.208). With a headroom of 8 tokens ($0.016)
      // it stops once the running cost passes $0.014: after the 4th token ($0.016).
      const source = cold('s-a-b-a-b-a-b-f|', values);
      const { stream } = budgeted(source, ts, { limits: { day: 0.03 }, minOutputTokens: 1 }, 100);
      const cut: TokenEvent = {
        type: 'finish',
        reason: 'budget',
        raw: 'budget',
        usage: { inputTokens: 8, outputTokens: 4 },
        cost: { input: 0.008, output: 0.008, total: 0.016 },
      };
      expectObservable(stream).toBe('s-a-b-a-(bc|)', { ...values, c: cut });
      expectSubscriptions(source.subscriptions).toBe('^-------!');
    });
  });

  it('a synchronous source cut by take() stops where the subscriber stops', () => {
    const { source, pulled } = pulledSource([...'sababf'].map((key) => values[key]!));
    const sync = defineModel({ provider: 'sim', model: 'a', stream: () => source });
    const spend = createBudget({
      specs: [A],
      estimator: wordEstimator(),
      scheduler: testScheduler(),
      limits: { day: 1 },
    });
    const seen: TokenEvent[] = [];
    sync
      .pipe(spend.policy())
      .stream(hi(10))
      .pipe(take(2))
      .subscribe((e) => seen.push(e));
    expect(seen).toEqual([values.s, values.a]);
    expect(pulled).toHaveLength(2);
    expect((spend.status() as readonly BudgetLineStatus[])[0]!.spent).toBeCloseTo(0.008 + 0.002, 12);
    expect(spend.outstanding()).toBe(0);
  });

  it('a user callback that throws (a tokenizer) fails the stream with an LLMError, sending nothing', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-f|', values);
      const estimator = createEstimator({
        tokenizers: () => () => {
          throw new Error('tokenizer broke');
        },
      });
      const { stream } = budgeted(source, ts, { estimator });
      expectObservable(stream).toBe(
        '#',
        undefined,
        expect.objectContaining({ kind: 'unknown', message: 'tokenizer broke' }),
      );
      expectSubscriptions(source.subscriptions).toBe([]);
    });
  });
});
