import { describe, expect, it } from 'vitest';
import type { RouteEvent } from '../../src/core/events.js';
import { createRouter, route } from '../../src/routing/route.js';
import {
  balancedStrategy,
  capabilityStrategy,
  costStrategy,
  leastBusyStrategy,
  performanceStrategy,
  priorityStrategy,
  qualityStrategy,
  roundRobinStrategy,
  weightedRandomStrategy,
} from '../../src/routing/strategies/index.js';
import type { Script } from '../../src/testing/scriptedModel.js';
import { ask, drain, keyOf, simPool, spec, SPECS, virtual } from './support.js';

const order = (models: readonly { provider: string; model: string }[]) => models.map(keyOf);
const request = ask('Summarize the plot of Hamlet in two sentences.', { maxTokens: 200 });

/** The chosen model and fallbacks, as the stream's route event names them. */
function decided(routed: ReturnType<ReturnType<typeof route>>, r = request): string[] {
  const { events } = drain(routed.stream(r));
  const event = events[0] as RouteEvent;
  return [keyOf(event.chosen), ...event.fallbacks.map(keyOf)];
}

describe('strategies on a pool of simulated models (mid $1/$4 q.8, cheap $0.1/$0.4 q.6, premium $5/$20 q.95, local llama free q.5)', () => {
  it('cost: cheapest estimate first, quality breaks ties', () => {
    const routed = route({ strategy: costStrategy(), specs: SPECS })(simPool());
    expect(decided(routed)).toEqual(['local/llama', 'sim/cheap', 'sim/mid', 'sim/premium']);
    const twins = [...SPECS, spec('sim', 'cheap', 0, 0, 0.6)];
    expect(decided(route({ strategy: 'cost', specs: twins })(simPool()))).toEqual([
      'sim/cheap',
      'local/llama',
      'sim/mid',
      'sim/premium',
    ]);
  });

  it('quality: best first, then cheaper', () => {
    const routed = route({ strategy: qualityStrategy(), specs: SPECS })(simPool());
    expect(decided(routed)).toEqual(['sim/premium', 'sim/mid', 'sim/cheap', 'local/llama']);
  });

  it('priority: the explicit order (model, provider or provider/model), the rest in pool order', () => {
    const routed = route({ strategy: priorityStrategy(['sim/premium', 'local', 'cheap']), specs: SPECS })(
      simPool(),
    );
    expect(decided(routed)).toEqual(['sim/premium', 'local/llama', 'sim/cheap', 'sim/mid']);
    expect(decided(route({ specs: SPECS })(simPool()))).toEqual([
      'sim/mid',
      'sim/cheap',
      'sim/premium',
      'local/llama',
    ]);
  });

  it('round-robin: each decision starts one further along, fallbacks wrap around', () => {
    const routed = route({ strategy: roundRobinStrategy(), specs: SPECS })(simPool());
    expect([1, 2, 3, 4, 5].map(() => decided(routed))).toEqual([
      ['sim/mid', 'sim/cheap', 'sim/premium', 'local/llama'],
      ['sim/cheap', 'sim/premium', 'local/llama', 'sim/mid'],
      ['sim/premium', 'local/llama', 'sim/mid', 'sim/cheap'],
      ['local/llama', 'sim/mid', 'sim/cheap', 'sim/premium'],
      ['sim/mid', 'sim/cheap', 'sim/premium', 'local/llama'],
    ]);
  });

  it('weighted random: reproducible with a seed, shares follow the weights, fallbacks are random too', () => {
    const weights = { 'sim/mid': 6, cheap: 3, premium: 1, local: 0 };
    const run = (seed: number, length: number) => {
      const routed = route({ strategy: weightedRandomStrategy({ weights }), seed, specs: SPECS })(simPool());
      return Array.from({ length }, () => decided(routed));
    };
    const a = run(42, 1000);
    expect(run(42, 50)).toEqual(a.slice(0, 50));
    expect(run(7, 50)).not.toEqual(a.slice(0, 50));
    const share = (key: string) => a.filter((d) => d[0] === key).length / a.length;
    expect(share('sim/mid')).toBeCloseTo(0.6, 1);
    expect(share('sim/cheap')).toBeCloseTo(0.3, 1);
    expect(share('sim/premium')).toBeCloseTo(0.1, 1);
    expect(share('local/llama')).toBe(0);
    expect(a.every((d) => d[3] === 'local/llama' && d.length === 4)).toBe(true);
    // The strategy's own seed wins over the router's.
    const own = (routerSeed: number) =>
      decided(route({ strategy: weightedRandomStrategy({ weights, seed: 1 }), seed: routerSeed })(simPool()));
    expect(own(5)).toEqual(own(6));
  });

  it('least-busy: fewest calls in flight first, pool order among equals', () => {
    const stall: Script[] = [{ text: 'a b', stallAfter: 1 }];
    const pool = simPool(undefined, { 'sim/mid': stall, 'sim/cheap': stall });
    const routed = route({ strategy: leastBusyStrategy(), specs: SPECS })(pool);
    const held = routed.stream(request).subscribe();
    expect(order(routed.candidates(request))).toEqual(['sim/cheap', 'sim/premium', 'local/llama', 'sim/mid']);
    const held2 = routed.stream(request).subscribe();
    expect(order(routed.candidates(request))).toEqual(['sim/premium', 'local/llama', 'sim/mid', 'sim/cheap']);
    held.unsubscribe();
    held2.unsubscribe();
    expect(order(routed.candidates(request))).toEqual(['sim/mid', 'sim/cheap', 'sim/premium', 'local/llama']);
  });

  it('capability: drops models that cannot serve the request, then prefers the tightest fit', () => {
    const routed = route({ strategy: capabilityStrategy(), specs: SPECS })(simPool());
    expect(decided(routed)).toEqual(['local/llama', 'sim/cheap', 'sim/mid', 'sim/premium']);
    const tools = ask('weather?', { tools: [{ name: 'weather', parameters: { type: 'object' } }] });
    expect(decided(routed, tools)).toEqual(['sim/cheap', 'sim/mid', 'sim/premium']);
    const image = {
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'image' as const, url: 'https://x/y.png' },
            { type: 'text' as const, text: 'what is it?' },
          ],
        },
      ],
    };
    expect(decided(routed, image)).toEqual(['sim/mid', 'sim/premium']);
    const json = ask('list', { responseFormat: { type: 'json' } });
    expect(decided(routed, json)).toEqual(['sim/cheap', 'sim/mid', 'sim/premium']);
    // A prompt of ~12k tokens fits neither llama's 8k nor (with maxTokens) cheap's 16k window.
    // (A fresh router: the scripted models' fixed usage of 10 input tokens has calibrated this one's estimates.)
    const long = ask('word '.repeat(12_000), { maxTokens: 5_000 });
    const plan = route({ strategy: capabilityStrategy(), specs: SPECS })(simPool()).explain(long);
    expect(order(plan.ranked.map((c) => c.model))).toEqual(['sim/mid', 'sim/premium']);
    expect(plan.rejected.map((r) => r.reasons[0])).toEqual([
      expect.stringMatching(/^context \d+ > 16000$/),
      expect.stringMatching(/^context \d+ > 8000$/),
    ]);
  });

  it('balanced: weights move the choice between the cheapest and the best', () => {
    const only = (weights: { cost?: number; quality?: number; speed?: number }) =>
      decided(route({ strategy: balancedStrategy({ weights }), specs: SPECS })(simPool()));
    expect(only({ cost: 1, quality: 0, speed: 0 })).toEqual([
      'local/llama',
      'sim/cheap',
      'sim/mid',
      'sim/premium',
    ]);
    expect(only({ cost: 0, quality: 1, speed: 0 })).toEqual([
      'sim/premium',
      'sim/mid',
      'sim/cheap',
      'local/llama',
    ]);
    // Even weights, speed unknown (0.5 for all): mid (cost .8 + quality .8) edges out cheap (.98 + .6)
    // and llama (1 + .5); premium (0 + .95) pays for its price.
    expect(only({})).toEqual(['sim/mid', 'sim/cheap', 'local/llama', 'sim/premium']);
  });

  it('performance: measures each model once, then the fastest; adapts when a provider slows down', () => {
    const scheduler = virtual();
    let slow = false;
    const pool = simPool(scheduler, {
      'sim/mid': () => ({ text: 'one two three', firstTokenDelayMs: slow ? 400 : 20, tokenDelayMs: 10 }),
      'sim/cheap': [{ text: 'one two three', firstTokenDelayMs: 100, tokenDelayMs: 10 }],
    }).slice(0, 2);
    const router = createRouter({ strategy: performanceStrategy(), specs: SPECS, scheduler });
    const routed = router.route()(pool);
    const chosen = () => {
      const { events } = drain(routed.stream(ask('hi', { maxTokens: 3 })), scheduler);
      return keyOf((events[0] as RouteEvent).chosen);
    };
    expect([chosen(), chosen(), chosen(), chosen()]).toEqual(['sim/mid', 'sim/cheap', 'sim/mid', 'sim/mid']);
    expect(router.stats.get(pool[0]!)).toMatchObject({ ttftMs: 20, samples: 3 });
    expect(router.stats.get(pool[1]!)).toMatchObject({ ttftMs: 100, samples: 1 });
    expect(router.stats.get(pool[0]!).tokensPerSecond).toBeCloseTo(3 / 0.02);

    slow = true;
    const after = Array.from({ length: 4 }, chosen);
    // One slow answer moves mid's moving average (alpha 0.3) from 20 to 134 ms, plus 20 ms of output at
    // 150 tokens/s: 154 ms against cheap's 100 + 20. Cheap from then on.
    expect(after).toEqual(['sim/mid', 'sim/cheap', 'sim/cheap', 'sim/cheap']);
    expect(router.stats.get(pool[0]!).ttftMs).toBeCloseTo(134);
  });

  it('performance: stale measurements count as unmeasured again; local models win among equals', () => {
    const scheduler = virtual();
    const pool = simPool(scheduler, {
      'sim/cheap': [{ text: 'x', firstTokenDelayMs: 50 }],
      'local/llama': [{ text: 'x', firstTokenDelayMs: 50 }],
      'sim/mid': [{ text: 'x', firstTokenDelayMs: 10 }],
    });
    const routed = route({ strategy: performanceStrategy({ staleAfterMs: 1_000 }), specs: SPECS, scheduler })(
      [pool[1]!, pool[3]!, pool[0]!],
    );
    const first = () => keyOf((drain(routed.stream(ask()), scheduler).events[0] as RouteEvent).chosen);
    // Unmeasured models first (local first among them), then by measured speed.
    expect([first(), first(), first()]).toEqual(['local/llama', 'sim/cheap', 'sim/mid']);
    // mid 10 ms; llama and cheap 50 ms each: the local one first.
    expect(order(routed.candidates(ask()))).toEqual(['sim/mid', 'local/llama', 'sim/cheap']);
    scheduler.schedule(() => undefined, 2_000);
    scheduler.flush();
    // Everything is stale: all unmeasured again, so local first, then pool order.
    expect(order(routed.candidates(ask()))).toEqual(['local/llama', 'sim/cheap', 'sim/mid']);
  });

  it('performance: a call waiting for its first token counts against its model at once', () => {
    const scheduler = virtual();
    const pool = simPool(scheduler, {
      'sim/mid': (_r, call) =>
        call === 0 ? { text: 'x', firstTokenDelayMs: 10 } : { text: 'x', stallAfter: 0 },
      'sim/cheap': [{ text: 'x', firstTokenDelayMs: 30 }],
    }).slice(0, 2);
    const routed = route({ strategy: 'performance', specs: SPECS, scheduler })(pool);
    drain(routed.stream(ask()), scheduler);
    drain(routed.stream(ask()), scheduler);
    const stuck = routed.stream(ask()).subscribe();
    expect(order(routed.candidates(ask()))).toEqual(['sim/mid', 'sim/cheap']);
    scheduler.schedule(() => undefined, 100);
    scheduler.flush();
    expect(order(routed.candidates(ask()))).toEqual(['sim/cheap', 'sim/mid']);
    stuck.unsubscribe();
  });

  it('maxLatencyMs excludes models whose observed time to first token is above it', () => {
    const scheduler = virtual();
    const pool = simPool(scheduler, {
      'sim/mid': [{ text: 'x', firstTokenDelayMs: 300 }],
      'sim/cheap': [{ text: 'x', firstTokenDelayMs: 50 }],
    }).slice(0, 2);
    const routed = route({ specs: SPECS, scheduler })(pool);
    drain(pool[0]!.stream(ask()), scheduler);
    for (const c of routed.candidates(ask())) drain(c.stream(ask()), scheduler);
    const plan = routed.explain(ask('hi', { hints: { maxLatencyMs: 200 } }));
    expect(order(plan.ranked.map((c) => c.model))).toEqual(['sim/cheap']);
    expect(plan.rejected[0]?.reasons).toEqual(['ttft 300ms > 200ms']);
  });
});
