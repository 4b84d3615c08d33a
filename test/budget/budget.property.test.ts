import fc from 'fast-check';
import { Observable, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { costOf } from '../../src/core/catalog.js';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent, Usage } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { createBudget } from '../../src/operators/budget.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { A, asyncStore, wordEstimator } from './support.js';

/** One call: its prompt, its maxTokens, what the model does, and when (if) the subscriber leaves. */
interface Call {
  readonly promptWords: number;
  readonly maxTokens: number;
  /** Output tokens the model would produce (at most maxTokens, as vendors honour it). */
  readonly output: number;
  /** Fail after this many chunks instead of finishing. */
  readonly failAfter: number | undefined;
  /** The subscriber unsubscribes after this many events. */
  readonly leaveAfter: number | undefined;
}

/** Mostly `undefined`, sometimes a number. */
const sometimes = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max }) },
  );

const callArb: fc.Arbitrary<Call> = fc
  .record({
    promptWords: fc.integer({ min: 1, max: 30 }),
    maxTokens: fc.integer({ min: 1, max: 60 }),
    // Most answers run to maxTokens, the worst case the budget reserves for.
    share: fc.oneof(
      { weight: 4, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    ),
    failAfter: sometimes(60),
    leaveAfter: sometimes(70),
  })
  .map(({ share, ...c }) => ({ ...c, output: Math.round(share * c.maxTokens) }));

const PRICE = A.pricing;

describe('budget() property', () => {
  it('under any interleaving of up to 50 concurrent calls, spend never exceeds the limit and no reservation is left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(callArb, { minLength: 1, maxLength: 50, size: 'max' }),
        // From less than one call's worst case to about half of what 50 calls would spend.
        fc.integer({ min: 20_000, max: 2_000_000 }).map((micro) => micro / 1e6),
        fc.constantFrom<'cap' | 'reject'>('cap', 'reject'),
        // Opaque: the pipeline lists only itself, so the budget prices it at its `start`.
        fc.boolean(),
        async (s, calls, limit, onShortfall, opaque) => {
          // Every store answer, and every step of every model, waits for the scheduler's say-so.
          const inner = memoryStore();
          // An opaque pipeline is priced at its `start`, after the request went out: only a store that
          // answers at once can hold it to the limit (a slow one lets tokens stream while it answers).
          // Priced up front, the limit holds over any store.
          const store = opaque
            ? inner
            : asyncStore(inner, (op) => s.schedule(Promise.resolve('store')).then(op));
          // Reads the same keys synchronously, once the scheduler has nothing left to release.
          const auditor = createBudget({ store: inner, limits: { day: limit } });
          const spend = createBudget({
            store,
            specs: [A],
            estimator: wordEstimator(),
            limits: { day: limit },
            onShortfall,
          });
          /** What each model really generated, priced: the truth the budget is checked against. */
          const generated: number[] = calls.map(() => 0);
          const subscriptions: Subscription[] = [];
          const outcomes: string[] = [];

          calls.forEach((call, i) => {
            const prompt = 3 + 4 + call.promptWords;
            const model = defineModel({
              provider: 'sim',
              model: 'a',
              stream: () =>
                new Observable<TokenEvent>((subscriber) => {
                  let cancelled = false;
                  const emitted = { chunks: 0 };
                  const charge = (usage: Usage) => (generated[i] = costOf(usage, PRICE).total);
                  void (async () => {
                    const step = async () => {
                      await s.schedule(Promise.resolve(`call ${i}`));
                      return !cancelled;
                    };
                    if (!(await step())) return;
                    subscriber.next({ type: 'start', provider: 'sim', model: 'a' });
                    for (let k = 0; k < call.output; k++) {
                      if (call.failAfter === k) {
                        if (k > 0) charge({ inputTokens: prompt, outputTokens: k });
                        return subscriber.error(new LLMError('network', 'reset'));
                      }
                      if (!(await step())) return;
                      emitted.chunks++;
                      charge({ inputTokens: prompt, outputTokens: emitted.chunks });
                      subscriber.next({ type: 'text', text: k === 0 ? 'w' : ' w' });
                    }
                    if (!(await step())) return;
                    const usage = { inputTokens: prompt, outputTokens: call.output };
                    charge(usage);
                    subscriber.next({ type: 'usage', usage });
                    subscriber.next({ type: 'finish', reason: 'stop', usage, cost: costOf(usage, PRICE) });
                    subscriber.complete();
                  })();
                  return () => {
                    cancelled = true;
                  };
                }),
            });
            const request: ChatRequest = {
              messages: [{ role: 'user', content: Array(call.promptWords).fill('w').join(' ') }],
              maxTokens: call.maxTokens,
            };
            const budgeted = opaque
              ? defineModel({ provider: 'pipeline', model: 'opaque', stream: (r) => model.stream(r) })
              : model;
            let seen = 0;
            const subscription = budgeted
              .pipe(spend.policy())
              .stream(request)
              .subscribe({
                next: () => {
                  seen++;
                  if (call.leaveAfter !== undefined && seen >= call.leaveAfter) subscription.unsubscribe();
                },
                error: (e: LLMError) => outcomes.push(e.kind),
                complete: () => outcomes.push('done'),
              });
            subscriptions.push(subscription);
          });

          await s.waitIdle();
          for (const subscription of subscriptions) subscription.unsubscribe();
          await s.waitIdle();

          const [day] = auditor.status() as Awaited<ReturnType<typeof auditor.status>>;
          const truth = generated.reduce((a, b) => a + b, 0);
          expect(truth).toBeLessThanOrEqual(limit + 1e-12);
          expect(day!.spent).toBeLessThanOrEqual(limit + 1e-12);
          // The budget charged exactly what was generated (estimates are exact with the word counter).
          expect(day!.spent).toBeCloseTo(truth, 9);
          expect(day!.reserved).toBe(0);
          expect(auditor.outstanding()).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });
});
