import fc from 'fast-check';
import type { Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/core/events.js';
import type { ChatRequest } from '../../src/core/request.js';
import { collect } from '../../src/helpers/collect.js';
import { cache, createCache } from '../../src/operators/cache.js';
import { openai } from '../../src/providers/openai/index.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol] });
});
afterAll(() => sim.close());

const gpt = () =>
  openai({ apiKey: 'sk-test-cache-key-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' });
let counter = 0;
/** A request no earlier test sent, so runs do not share cache keys. */
const fresh = (): ChatRequest => ({
  messages: [{ role: 'user', content: `Question ${++counter}: capital of France?` }],
  temperature: 0,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cache over the wire simulator', () => {
  it('N identical concurrent calls reach the simulator once; a later call is a hit (property)', async () => {
    sim.handle(() => ({ text: 'Paris is the capital of France.', tokenDelayMs: 5 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 6 }),
        async (joins) => {
          const request = fresh();
          const responses = createCache();
          const model = gpt().pipe(responses.policy());
          const before = sim.requests.length;
          const answers = await Promise.all(
            joins.map((ms) => sleep(ms).then(() => collect(model.stream(request)))),
          );
          expect(sim.requests.length - before).toBe(1);
          for (const answer of answers) expect(answer.text).toBe('Paris is the capital of France.');
          // The call's cost is reported once.
          expect(answers.filter((a) => a.cost.total > 0)).toHaveLength(1);
          const hit = await collect(model.stream(request));
          expect(hit).toMatchObject({ cached: true, text: 'Paris is the capital of France.' });
          expect(sim.requests.length - before).toBe(1);
          expect(responses.stats()).toMatchObject({ misses: 1, coalesced: joins.length - 1, hits: 1 });
        },
      ),
      { numRuns: 6 },
    );
    sim.handle(undefined);
  });

  it('unsubscribing some coalesced subscribers keeps the others whole; unsubscribing all closes the socket', async () => {
    sim.handle(() => ({ text: 'one two three four five six', firstTokenDelayMs: 10, tokenDelayMs: 20 }));
    const model = gpt().pipe(cache());

    // Some leave: the one left gets the whole answer, and the upstream is not aborted.
    const request = fresh();
    const leavers: Subscription[] = [];
    const firstText = new Promise<void>((resolve) => {
      for (let i = 0; i < 2; i++)
        leavers.push(model.stream(request).subscribe((e: TokenEvent) => e.type === 'text' && resolve()));
    });
    const stayer = collect(model.stream(request));
    await firstText;
    for (const s of leavers) s.unsubscribe();
    expect((await stayer).text).toBe('one two three four five six');
    const kept = sim.requests.at(-1)!;
    await kept.closed;
    expect(kept.abortedByClient()).toBe(false);

    // Everyone leaves: the simulator sees the client go away.
    const again = fresh();
    const all: Subscription[] = [];
    const started = new Promise<void>((resolve) => {
      for (let i = 0; i < 3; i++)
        all.push(model.stream(again).subscribe((e: TokenEvent) => e.type === 'text' && resolve()));
    });
    await started;
    const upstream = sim.requests.at(-1)!;
    let closed = false;
    void upstream.closed.then(() => (closed = true));
    all[0]!.unsubscribe();
    all[1]!.unsubscribe();
    await sleep(30);
    expect(closed).toBe(false); // still streaming to the third
    all[2]!.unsubscribe();
    await upstream.closed;
    expect(upstream.abortedByClient()).toBe(true);
    sim.handle(undefined);
  });
});
