import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LLMError } from '../../src/core/errors.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import { createLedger } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { createBudget } from '../../src/operators/budget.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { openaiCompatible } from '../../src/providers/openai/compatible.js';
import { priceLookup, specLookup } from '../../src/routing/specs.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol] });
});
afterAll(() => sim.close());

const request = { messages: [{ role: 'user' as const, content: 'Say something long.' }], maxTokens: 400 };
const PRICE = { input: 5, output: 15 }; // dollars per million tokens: a model the catalog does not know

const groq = (extra: { pricing?: typeof PRICE } = {}) =>
  openaiCompatible({ name: 'groq', model: 'house-model-1', baseURL: `${sim.url}/v1`, apiKey: 'k', ...extra });

describe("a provider's pricing option prices the model for the budget, the router and the ledger", () => {
  it('50 concurrent calls priced only by the provider option never spend past the limit', async () => {
    const limit = 0.0093;
    const spend = createBudget({ limits: { day: limit }, onShortfall: 'reject' });
    const model = groq({ pricing: PRICE }).pipe(withRetry(), spend.policy());
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        collect(model.stream(request)).then(
          (done) => ({ cost: done.cost.total }),
          (error: unknown) => ({ error: error as LLMError }),
        ),
      ),
    );
    const [day] = await spend.status();
    expect(day!.spent).toBeGreaterThan(0);
    expect(day!.spent).toBeLessThanOrEqual(limit);
    const refused = outcomes.filter((o) => 'error' in o);
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) expect('error' in o && o.error.kind).toBe('budget');
    expect(await spend.outstanding()).toBe(0);
  });

  it('refuses a model with no known price before anything is sent, naming it and how to price it', async () => {
    const before = sim.requests.length;
    const spend = createBudget({ limits: { day: 1 } });
    const error = await collect(groq().pipe(spend.policy()).stream(request)).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'budget', provider: 'groq', model: 'house-model-1' });
    const message = (error as LLMError).message;
    expect(message).toContain('no price is known for groq/house-model-1');
    expect(message).toContain('pricing');
    expect(message).toContain('createCatalog');
    expect(sim.requests.length).toBe(before);
    // Opting in admits it at $0.
    const free = createBudget({ limits: { day: 1 }, unknownPrice: 'free' });
    const done = await collect(groq().pipe(free.policy()).stream(request));
    expect(done.finishReason).toBe('stop');
  });

  it("records the provider's price in the ledger", async () => {
    const ledger = createLedger();
    const done = await collect(groq({ pricing: PRICE }).pipe(withLedger(ledger)).stream(request));
    const [row] = await ledger.costBy('model');
    expect(row?.cost).toBeCloseTo(done.cost.total, 12);
    expect(row!.cost).toBeGreaterThan(0);
  });

  it('lookups put the model’s own profile over the catalog entry', () => {
    const cheap = { input: 0.01, output: 0.02 };
    const mini = defineModel({
      provider: 'openai',
      model: 'gpt-4o-mini',
      profile: { pricing: cheap, capabilities: ['tools', 'prefill'] },
      stream: () => {
        throw new Error('not called');
      },
    });
    expect(priceLookup()(mini)).toBe(cheap);
    expect(specLookup()(mini)).toMatchObject({
      pricing: cheap,
      capabilities: ['tools', 'prefill'],
      contextWindow: 128_000,
    });
    expect(priceLookup()({ provider: 'openai', model: 'gpt-4o-mini' })?.input).toBe(0.15);
    expect(priceLookup()(groq({ pricing: PRICE }).pipe(withRetry()))).toBe(PRICE);
  });
});

describe("a provider's capabilities option", () => {
  it("lets withFallback continue on a model the catalog does not list with 'prefill'", async () => {
    const request2 = { messages: [{ role: 'user' as const, content: 'Hi' }] };
    const A = scriptedModel({
      provider: 'A',
      model: 'a',
      scripts: [{ text: ['Hello', ' there '], fail: 'overloaded', failAfter: 2 }],
    });
    const inner = scriptedModel({ provider: 'B', model: 'b', scripts: [{ text: [' friend', '.'] }] });
    // As a provider with `capabilities: [..., 'prefill']` declares it.
    const B = defineModel({
      provider: 'B',
      model: 'b',
      profile: { capabilities: ['streaming', 'prefill'] },
      stream: (r) => inner.stream(r),
    });
    const done = await collect(
      A.pipe(withFallback({ candidates: [B], onMidStream: 'continue' })).stream(request2),
    );
    expect(done.text).toBe('Hello there friend.');
    expect(inner.requests[0]?.messages.at(-1)).toEqual({ role: 'assistant', content: 'Hello there' });
  });
});
