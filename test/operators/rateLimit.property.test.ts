import fc from 'fast-check';
import { type Subscription, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/core/request.js';
import { createRateLimiter } from '../../src/operators/rateLimiter.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import type { StateStore } from '../../src/state/store.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { byMaxTokens, pendingActions } from './rateLimitSupport.js';

/** One call in a generated run: when it arrives, its size, its provider, and when (if ever) it is cancelled. */
interface Arrival {
  readonly at: number;
  readonly tokens: number;
  readonly lane: number;
  readonly cancelAfter: number | undefined;
}

const limits = fc.record({
  requestsPerMinute: fc.integer({ min: 1, max: 600 }),
  requestBurst: fc.integer({ min: 1, max: 5 }),
  tokensPerMinute: fc.integer({ min: 100, max: 60_000 }),
  tokenBurst: fc.integer({ min: 10, max: 500 }),
});

const arrivals = (lanes: number, cancels: boolean): fc.Arbitrary<Arrival[]> =>
  fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 5_000 }),
      tokens: fc.integer({ min: 1, max: 10_000 }),
      lane: fc.integer({ min: 0, max: lanes - 1 }),
      cancelAfter: cancels
        ? fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined })
        : fc.constant(undefined),
    }),
    { minLength: 1, maxLength: 25 },
  );

const request = (id: number, tokens: number): ChatRequest => ({
  messages: [{ role: 'user', content: String(id) }],
  maxTokens: tokens,
});
const idOf = (r: ChatRequest): number => Number(r.messages[0]?.content);

/** Arrival order: by time, then by the order they were scheduled (the virtual scheduler's tie rule). */
const arrivalOrder = (list: readonly Arrival[]): number[] =>
  list.map((_, i) => i).sort((a, b) => (list[a] as Arrival).at - (list[b] as Arrival).at || a - b);

describe('rateLimit properties', () => {
  it('never admits more than the buckets allow in any window, serves everyone, in arrival order', () => {
    fc.assert(
      fc.property(limits, arrivals(1, false), (cfg, list) => {
        const scheduler = new VirtualTimeScheduler();
        const admitted: { id: number; at: number; tokens: number }[] = [];
        const model = scriptedModel({
          scripts: (r) => {
            admitted.push({ id: idOf(r), at: scheduler.now(), tokens: r.maxTokens ?? 0 });
            return { usage: { inputTokens: r.maxTokens ?? 0, outputTokens: 0 } };
          },
        });
        const limited = model.pipe(
          createRateLimiter({
            requestsPerMinute: cfg.requestsPerMinute,
            tokensPerMinute: cfg.tokensPerMinute,
            burst: { requests: cfg.requestBurst, tokens: cfg.tokenBurst },
            estimateTokens: byMaxTokens,
            maxQueue: 1_000,
            scheduler,
          }).policy(),
        );
        list.forEach((a, id) => {
          // Sizes stay within the bucket so usage equals the reservation.
          const tokens = Math.min(a.tokens, cfg.tokenBurst);
          scheduler.schedule(() => limited.stream(request(id, tokens)).subscribe(), a.at);
        });
        scheduler.flush();

        expect(admitted.map((a) => a.id)).toEqual(arrivalOrder(list));
        const requestRate = cfg.requestsPerMinute / 60_000;
        const tokenRate = cfg.tokensPerMinute / 60_000;
        for (let i = 0; i < admitted.length; i++) {
          let calls = 0;
          let tokens = 0;
          for (let j = i; j < admitted.length; j++) {
            const first = admitted[i] as (typeof admitted)[number];
            const last = admitted[j] as (typeof admitted)[number];
            calls++;
            tokens += last.tokens;
            const elapsed = last.at - first.at;
            expect(calls).toBeLessThanOrEqual(cfg.requestBurst + requestRate * elapsed + 1e-9);
            expect(tokens).toBeLessThanOrEqual(cfg.tokenBurst + tokenRate * elapsed + 1e-9);
          }
        }
        expect(pendingActions(scheduler)).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps FIFO per provider under random arrivals, cancellations and store answer orders', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), limits, arrivals(2, true), async (s, cfg, list) => {
        const scheduler = new VirtualTimeScheduler();
        const inner = memoryStore();
        // A networked store: each answer comes back whenever fast-check decides.
        const store: StateStore = {
          ...inner,
          takeTokens: (key, t) => s.schedule(Promise.resolve(inner.takeTokens(key, t))),
        };
        const limiter = createRateLimiter({
          requestsPerMinute: cfg.requestsPerMinute,
          tokensPerMinute: cfg.tokensPerMinute,
          burst: { requests: cfg.requestBurst, tokens: cfg.tokenBurst },
          estimateTokens: byMaxTokens,
          maxQueue: 1_000,
          store,
          scheduler,
        });
        const cancelled = new Set<number>();
        const admitted: number[][] = [[], []];
        const models = [0, 1].map((lane) =>
          scriptedModel({
            provider: `p${lane}`,
            scripts: (r) => {
              const id = idOf(r);
              expect(cancelled.has(id)).toBe(false);
              admitted[lane]?.push(id);
              return { usage: { inputTokens: r.maxTokens ?? 0, outputTokens: 0 } };
            },
          }),
        );
        const limited = models.map((m) => m.pipe(limiter.policy()));
        const subscriptions: Subscription[] = [];
        list.forEach((a, id) => {
          scheduler.schedule(() => {
            const tokens = Math.min(a.tokens, cfg.tokenBurst);
            const sub = (limited[a.lane] as (typeof limited)[number]).stream(request(id, tokens)).subscribe();
            subscriptions.push(sub);
            if (a.cancelAfter !== undefined) {
              scheduler.schedule(() => {
                if (!sub.closed) cancelled.add(id);
                sub.unsubscribe();
              }, a.cancelAfter);
            }
          }, a.at);
        });

        for (let guard = 0; guard < 10_000; guard++) {
          await s.waitIdle();
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (s.count() > 0) continue;
          const next = scheduler.actions[0];
          if (!next) break;
          scheduler.maxFrames = next.delay;
          scheduler.flush();
        }

        for (const lane of [0, 1]) {
          const expected = arrivalOrder(list).filter((id) => list[id]?.lane === lane && !cancelled.has(id));
          expect(admitted[lane]).toEqual(expected);
        }
        expect(pendingActions(scheduler)).toBe(0);
        expect(models.map((m) => m.active())).toEqual([0, 0]);
        for (const lane of Object.values(limiter.snapshot().lanes)) expect(lane.queued).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('leaves no upstream subscription or timer once every call is done or unsubscribed', () => {
    fc.assert(
      fc.property(
        limits,
        arrivals(2, true),
        fc.integer({ min: 0, max: 5 }),
        fc.option(fc.integer({ min: 0, max: 4_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 8_000 }),
        (cfg, list, maxQueue, maxWaitMs, endAt) => {
          const scheduler = new VirtualTimeScheduler();
          const models = [0, 1].map((lane) =>
            scriptedModel({
              provider: `p${lane}`,
              scheduler,
              scripts: (r, call) => ({
                text: 'a b c',
                firstTokenDelayMs: (call * 37) % 300,
                tokenDelayMs: 50,
                usage: { inputTokens: (r.maxTokens ?? 0) + (call % 3) * 10, outputTokens: 3 },
                ...(call % 4 === 3 && { fail: 'overloaded' as const, failAfter: 1 }),
              }),
            }),
          );
          const limiter = createRateLimiter({
            requestsPerMinute: cfg.requestsPerMinute,
            tokensPerMinute: cfg.tokensPerMinute,
            burst: { requests: cfg.requestBurst, tokens: cfg.tokenBurst },
            estimateTokens: byMaxTokens,
            maxQueue,
            ...(maxWaitMs !== undefined && { maxWaitMs }),
            scheduler,
          });
          const limited = models.map((m) => m.pipe(limiter.policy()));
          // Calls, and the test's own scheduled arrivals and cancellations.
          const subscriptions: Subscription[] = [];
          list.forEach((a, id) => {
            const arrival = scheduler.schedule(() => {
              const sub = (limited[a.lane] as (typeof limited)[number])
                .stream(request(id, a.tokens))
                .subscribe({ error: () => undefined });
              subscriptions.push(sub);
              if (a.cancelAfter !== undefined) {
                subscriptions.push(scheduler.schedule(() => sub.unsubscribe(), a.cancelAfter));
              }
            }, a.at);
            subscriptions.push(arrival);
          });
          let leftover = -1;
          scheduler.schedule(() => {
            for (const sub of subscriptions) sub.unsubscribe();
            leftover = pendingActions(scheduler);
            expect(models.map((m) => m.active())).toEqual([0, 0]);
          }, endAt);
          scheduler.flush();
          expect(leftover).toBe(0);
          for (const sub of subscriptions) sub.unsubscribe();
          expect(models.map((m) => m.active())).toEqual([0, 0]);
          for (const lane of Object.values(limiter.snapshot().lanes)) expect(lane.queued).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
