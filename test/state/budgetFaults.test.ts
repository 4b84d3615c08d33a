import { filter, firstValueFrom, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import { type BudgetSettlement, createBudget } from '../../src/operators/budget.js';
import { type RedisStoreEvent, redisStore } from '../../src/state/redisStore.js';
import { startRedisServer } from './redisServer.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 100 };
const PRICE = { input: 1, output: 1 }; // $ per million tokens

describe('budget on Redis failing mid-call (fail-closed)', () => {
  it('delivers the answer and its finish, never an error after it; reports the settlement unsettled, then reconciles it', async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.dispose());
    const store = redisStore({ url: server.url, timeoutMs: 250, prefix: 'bf:' });
    cleanups.push(() => store.close());
    const storeEvents: RedisStoreEvent[] = [];
    store.events$.subscribe((e) => storeEvents.push(e));
    await store.ready();

    // The vendor's answer, driven by the test: Redis goes down between the first token and the finish.
    const upstream = new Subject<TokenEvent>();
    const model = defineModel({ provider: 'openai', model: 'gpt-4o-mini', stream: () => upstream });
    const spend = createBudget({ store, limits: { day: 1 }, specs: [spec()] });
    const settlements: BudgetSettlement[] = [];
    spend.settlements$.subscribe((s) => settlements.push(s));

    const done = collect(model.pipe(spend.policy()).stream(request));
    await until(() => upstream.observed);
    upstream.next({ type: 'start', provider: 'openai', model: 'gpt-4o-mini' });
    upstream.next({ type: 'text', text: 'Hello' });
    await server.stop();
    const usage = { inputTokens: 1_000, outputTokens: 1_000 };
    upstream.next({
      type: 'finish',
      reason: 'stop',
      usage,
      cost: { input: 0.001, output: 0.001, total: 0.002 },
    });
    upstream.complete();

    const answer = await done; // resolves: no `unavailable` after the finish
    expect(answer.text).toBe('Hello');
    expect(answer.finishReason).toBe('stop');
    expect(settlements).toEqual([
      expect.objectContaining({ type: 'unsettled', provider: 'openai', model: 'gpt-4o-mini', cost: 0.002 }),
    ]);
    expect(settlements[0]?.error).toMatchObject({ kind: 'unavailable', provider: 'redis' });
    expect(storeEvents.some((e) => e.type === 'fail-closed')).toBe(true);
    expect(spend.unsettled()).toBe(1);

    // Back: the settlement is written once, where it stopped.
    const back = firstValueFrom(store.events$.pipe(filter((e) => e.type === 'up')));
    await server.start();
    await back;
    expect(await spend.reconcile()).toBe(0);
    expect(settlements.map((s) => s.type)).toEqual(['unsettled', 'reconciled']);
    // The restarted test server kept nothing (no persistence): what it holds now is the reconciliation's
    // writes alone, the charge counted once and the reservation record gone.
    const [line] = await spend.status();
    expect(line?.spent).toBe(0.002);
    expect(await spend.outstanding()).toBe(0);
    expect(spend.unsettled()).toBe(0);
  });
});

function spec() {
  return {
    provider: 'openai',
    model: 'gpt-4o-mini',
    pricing: PRICE,
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    capabilities: [],
    quality: 0.7,
    local: false,
  };
}

/** Polls `check` (bounded): the reservation is asynchronous on Redis. */
async function until(check: () => boolean, withinMs = 2_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
