import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { LLMError } from '../../src/core/errors.js';
import type { RouteEvent, TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import { createRouter, route } from '../../src/routing/route.js';
import type { RouteDecision, RoutingStrategy } from '../../src/routing/types.js';
import { ask, drain, keyOf, simPool, SPECS } from './support.js';

const order = (models: readonly { provider: string; model: string }[]) => models.map(keyOf);

describe('route()', () => {
  it('candidates() is the ranked, filtered pool; stream() emits a route event then streams the first', async () => {
    const pool = simPool();
    const routed = route({ strategy: 'cost', specs: SPECS })(pool);
    const request = ask('Hello there', { hints: { minQuality: 0.7 } });
    expect(order(routed.candidates(request))).toEqual(['sim/mid', 'sim/premium']);

    const events = await firstValueFrom(routed.stream(request).pipe(toArray()));
    const head = events[0] as RouteEvent;
    expect(head).toMatchObject({
      type: 'route',
      chosen: { provider: 'sim', model: 'mid' },
      fallbacks: [{ provider: 'sim', model: 'premium' }],
    });
    expect(head.estimatedCost).toBeGreaterThan(0);
    expect(head.reason).toMatch(
      /^cost: sim\/mid \(est\. \$[\d.e-]+, quality 0.8\), first of 2 eligible; excluded /,
    );
    expect(head.reason).toContain('sim/cheap: quality 0.6 < 0.7');
    expect(events[1]).toMatchObject({ type: 'start', provider: 'sim', model: 'mid' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(pool.map((m) => m.calls())).toEqual([1, 0, 0, 0]);
  });

  it('publishes each committed decision once on decisions$ and onDecision; ranking alone commits nothing', async () => {
    const seen: RouteDecision[] = [];
    const router = createRouter({ strategy: 'round-robin', specs: SPECS, onDecision: (d) => seen.push(d) });
    const published: RouteDecision[] = [];
    router.decisions$.subscribe((d) => published.push(d));
    const routed = router.route()(simPool());
    routed.candidates(ask());
    routed.candidates(ask());
    expect(published).toHaveLength(0);

    const [first] = routed.candidates(ask());
    await collect(first!.stream(ask()));
    await collect(routed.stream(ask()));
    expect(published.map((d) => [d.sequence, keyOf(d.chosen)])).toEqual([
      [0, 'sim/mid'],
      [1, 'sim/cheap'],
    ]);
    expect(seen).toEqual(published);
  });

  it("the route event leads the decision's first stream, once, even when that candidate fails", () => {
    const pool = simPool(undefined, { 'sim/cheap': [{ fail: 'overloaded' }] });
    const routed = route({ strategy: 'cost', specs: SPECS, expectedOutputTokens: 10 })(pool.slice(1, 3));
    const [cheap, premium] = routed.candidates(ask());
    const a = drain(cheap!.stream(ask()));
    expect(a.events.map((e) => e.type)).toEqual(['route', 'start']);
    expect(a.error).toMatchObject({ kind: 'overloaded' });
    const b = drain(premium!.stream(ask()));
    expect(b.events.map((e) => e.type)).toEqual(['start', 'text', 'text', 'usage', 'finish']);
    const c = drain(premium!.stream(ask()));
    expect(c.events[0]?.type).toBe('start');
  });

  it('applies hints: excluded and preferred providers, task tags, maxCost, required capabilities', () => {
    const routed = route({ strategy: 'cost', specs: SPECS })(simPool());
    expect(order(routed.candidates(ask('hi', { hints: { excludeProviders: ['local'] } })))).toEqual([
      'sim/cheap',
      'sim/mid',
      'sim/premium',
    ]);
    expect(order(routed.candidates(ask('hi', { hints: { preferProviders: ['sim'] } })))).toEqual([
      'sim/cheap',
      'sim/mid',
      'sim/premium',
      'local/llama',
    ]);
    expect(order(routed.candidates(ask('hi', { hints: { task: 'code' } })))[0]).toBe('sim/premium');
    // 500 expected output tokens at $20/M is $0.01: the premium model is over a $0.005 cap.
    expect(order(routed.candidates(ask('hi', { hints: { maxCost: 0.005 } })))).toEqual([
      'local/llama',
      'sim/cheap',
      'sim/mid',
    ]);
    expect(order(routed.candidates(ask('hi', { hints: { requiredCapabilities: ['vision'] } })))).toEqual([
      'sim/mid',
      'sim/premium',
    ]);
    expect(order(routed.candidates(ask('hi', { hints: { complexity: 'high' } })))).toEqual(['sim/premium']);
  });

  it('skips unhealthy models and models the budget cannot afford', () => {
    const routed = route({
      strategy: 'cost',
      specs: SPECS,
      isHealthy: (m) => m.provider !== 'local',
      budget: { canAfford: (m) => m.model !== 'cheap' },
    })(simPool());
    const plan = routed.explain(ask());
    expect(order(plan.ranked.map((c) => c.model))).toEqual(['sim/mid', 'sim/premium']);
    expect(plan.rejected).toEqual([
      { model: { provider: 'sim', model: 'cheap' }, reasons: ['over budget'] },
      { model: { provider: 'local', model: 'llama' }, reasons: ['unhealthy'] },
    ]);
  });

  it('fails before sending when nothing qualifies: budget, unavailable or invalid_request', () => {
    const pool = simPool();
    const fails = (options: Parameters<typeof route>[0], hints = {}) => {
      const routed = route({ specs: SPECS, ...options })(pool);
      expect(routed.candidates(ask('hi', { hints }))).toEqual([]);
      return drain(routed.stream(ask('hi', { hints }))).error as LLMError;
    };
    const budget = fails({ budget: { canAfford: () => false } }, { minQuality: 0.7 });
    expect(budget).toMatchObject({ kind: 'budget', retryable: false });
    expect(budget.message).toContain('sim/cheap: quality 0.6 < 0.7');
    expect(budget.message).toContain('sim/mid: over budget');
    expect(fails({ isHealthy: () => false })).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(fails({}, { minQuality: 0.99 })).toMatchObject({ kind: 'invalid_request', retryable: false });
    expect(drain(route()([]).stream(ask())).error).toMatchObject({ kind: 'invalid_request' });
    expect(pool.map((m) => m.calls())).toEqual([0, 0, 0, 0]);
  });

  it('a user strategy is a function; one that throws fails the stream, not the caller', () => {
    const longestName: RoutingStrategy = (candidates) =>
      [...candidates].sort((a, b) => b.key.length - a.key.length);
    const routed = route({ strategy: longestName, specs: SPECS })(simPool());
    expect(order(routed.candidates(ask()))).toEqual(['sim/premium', 'local/llama', 'sim/cheap', 'sim/mid']);
    expect(routed.model).toBe('longestName');

    const broken = route({
      strategy: () => {
        throw new Error('boom');
      },
    })(simPool());
    expect(broken.candidates(ask())).toEqual([]);
    expect(drain(broken.stream(ask())).error).toMatchObject({
      kind: 'unknown',
      message: expect.stringContaining('boom'),
    });
  });

  it('a strategy may drop candidates but never add or repeat one', () => {
    const routed = route({ strategy: (c) => [c[1]!, c[1]!, c[0]!], specs: SPECS })(simPool());
    expect(order(routed.candidates(ask()))).toEqual(['sim/cheap', 'sim/mid']);
    const none = route({ strategy: () => [] })(simPool());
    expect(drain(none.stream(ask())).error).toMatchObject({ kind: 'invalid_request' });
  });

  it('models without a spec pass capability checks, fail maxCost, and have the default quality', () => {
    const routed = route({ strategy: 'quality' })(simPool());
    const plan = routed.explain(ask('hi', { tools: [{ name: 't', parameters: {} }] }));
    expect(plan.ranked.every((c) => c.quality === 0.5 && c.spec === undefined)).toBe(true);
    expect(routed.candidates(ask('hi', { hints: { maxCost: 1 } }))).toEqual([]);
  });

  it('measures every call: in-flight counts while streaming, and calibrates the estimator from usage', () => {
    const pool = simPool(undefined, { 'sim/mid': [{ text: 'a b c', stallAfter: 1 }] });
    const router = createRouter({ specs: SPECS });
    const routed = router.route()(pool);
    const events: TokenEvent[] = [];
    const subscription = routed.stream(ask()).subscribe((e) => events.push(e));
    expect(router.stats.get(pool[0]!).inFlight).toBe(1);
    subscription.unsubscribe();
    expect(router.stats.get(pool[0]!).inFlight).toBe(0);
    expect(pool[0]!.active()).toBe(0);

    const before = router.estimator.promptTokens(ask(), pool[1]!);
    drain(routed.candidates(ask('Hello there', { hints: { excludeProviders: [] } }))[1]!.stream(ask()));
    // scriptedModel reports 10 input tokens: the factor moves from 1 toward 10 / estimate.
    expect(router.estimator.factor(pool[1]!)).toBeCloseTo(Math.min(2, Math.max(0.5, 10 / before)));
  });
});
