import fc from 'fast-check';
import { filter, lastValueFrom, map } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, defaultCatalog } from '../../src/core/catalog.js';
import type { ChatRequest } from '../../src/core/request.js';
import { collect } from '../../src/helpers/collect.js';
import { type FusionEvent, type FusionResult, fusion } from '../../src/operators/fuse.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../src/testing/simulator/protocols/gemini.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import { createSimulator, type SimRequest, type Simulator } from '../../src/testing/simulator/server.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol, geminiProtocol] });
});
afterAll(() => sim.close());

const PROTOCOLS = ['openai', 'anthropic', 'gemini'] as const;
type Vendor = (typeof PROTOCOLS)[number];
const MODELS: Record<Vendor, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  gemini: 'gemini-2.5-flash',
};
const pool = () => [
  openai({ apiKey: 'sk-test-fuse-key-0001', baseURL: `${sim.url}/v1`, model: MODELS.openai }),
  anthropic({ apiKey: 'sk-ant-test-fuse-key-0001', baseURL: sim.url, model: MODELS.anthropic }),
  gemini({ apiKey: 'AIza-test-fuse-key-000000000001', baseURL: sim.url, model: MODELS.gemini }),
];
const request: ChatRequest = { messages: [{ role: 'user', content: 'Capital of France?' }], temperature: 0 };
const resultOf = (fused: ReturnType<typeof fusion>) =>
  lastValueFrom(
    fused.run(request).pipe(
      filter((e): e is Extract<FusionEvent, { type: 'result' }> => e.type === 'result'),
      map((e) => e.result),
    ),
  );
/** The requests of this run, by vendor. */
const requestsSince = (start: number): Partial<Record<Vendor, SimRequest>> =>
  Object.fromEntries(sim.requests.slice(start).map((r) => [r.protocol, r]));

describe('fusion over three simulated providers', () => {
  it('two agree: returns the agreed answer and cancels the third (quorum 2 of 3)', async () => {
    const scenarios: Record<Vendor, Scenario> = {
      openai: { text: 'Paris is the capital.', usage: { inputTokens: 12, outputTokens: 5 } },
      anthropic: {
        text: 'The capital is Paris',
        firstTokenDelayMs: 30,
        usage: { inputTokens: 14, outputTokens: 4 },
      },
      // Streams its first word, then nothing until the client leaves (no server timer outlives the test).
      gemini: { text: 'Lyon, surely.', fault: { type: 'stall', tokens: 1 } },
    };
    sim.handle((r) => scenarios[r.protocol as Vendor]);
    const start = sim.requests.length;
    const result = await resultOf(fusion(pool(), { quorum: 2 }));
    expect(result).toMatchObject({ quorumReached: true, early: true, group: [0, 1], support: 2 });
    expect(result.text).toMatch(/Paris/);
    expect(result.members.map((m) => m.status)).toEqual(['done', 'done', 'cancelled']);
    const requests = requestsSince(start);
    await requests.gemini!.closed;
    expect(requests.gemini!.abortedByClient()).toBe(true);
    const expected =
      costOf(scenarios.openai.usage!, defaultCatalog.get('openai', MODELS.openai)?.pricing).total +
      costOf(scenarios.anthropic.usage!, defaultCatalog.get('anthropic', MODELS.anthropic)?.pricing).total;
    expect(result.cost.total).toBeCloseTo(expected, 12);

    // The same as a LanguageModel: the agreed answer, with the total cost.
    const before = sim.requests.length;
    const answer = await collect(fusion(pool(), { quorum: 2 }).stream(request));
    expect(answer.text).toMatch(/Paris/);
    expect(answer.cost.total).toBeCloseTo(expected, 12);
    const second = requestsSince(before);
    await second.gemini!.closed;
    expect(second.gemini!.abortedByClient()).toBe(true);
    sim.handle(undefined);
  });

  it('members cancelled by early quorum have no open connection; cost is the sum of what members reported (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PROTOCOLS),
        fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
        async (odd, [fast, slow]) => {
          const agreeing = PROTOCOLS.filter((p) => p !== odd);
          sim.handle((r) =>
            r.protocol === odd
              ? { text: 'Rome is the answer', fault: { type: 'stall', tokens: 2 } }
              : {
                  text: 'Paris is the answer',
                  firstTokenDelayMs: r.protocol === agreeing[0] ? fast : slow,
                  tokenDelayMs: 2,
                },
          );
          const start = sim.requests.length;
          const result: FusionResult = await resultOf(fusion(pool()));
          expect(result.text).toBe('Paris is the answer');
          const requests = requestsSince(start);
          const oddIndex = PROTOCOLS.indexOf(odd);
          expect(result.members[oddIndex]?.status).toBe('cancelled');
          await requests[odd]!.closed;
          expect(requests[odd]!.abortedByClient()).toBe(true);
          const reported = result.members.reduce((sum, m) => sum + m.cost.total, 0);
          expect(result.cost.total).toBeCloseTo(reported, 12);
          expect(result.members[oddIndex]?.cost.total).toBe(0);
          for (const vendor of agreeing) {
            const m = result.members[PROTOCOLS.indexOf(vendor)]!;
            expect(m.status).toBe('done');
            expect(m.cost.total).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 6 },
    );
    sim.handle(undefined);
  });
});
