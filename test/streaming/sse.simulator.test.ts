import { lastValueFrom, type Observable, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { fromSSE } from '../../src/streaming/fromSSE.js';
import { toSSEStream } from '../../src/streaming/toSSE.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';

/** Every simulator scenario, so the SSE bridge is checked on what providers really emit. */
const scenarios: readonly [string, Scenario][] = [
  ['text', { text: 'Hello ₂ 世界 🌈 there' }],
  [
    'tool calls',
    { text: 'Checking.', toolCalls: [{ name: 'weather', args: { city: 'Paris', days: [1, 2] } }] },
  ],
  ['length finish', { text: 'cut short', finish: 'length' }],
  ['429 with retry-after', { fault: { type: 'status', status: 429, retryAfter: 2 } }],
  ['500', { fault: { type: 'status', status: 500 } }],
  ['529', { fault: { type: 'status', status: 529 } }],
  ['reset before headers', { fault: { type: 'reset-before-headers' } }],
  ['reset after 2 tokens', { text: 'one two three four', fault: { type: 'reset-after', tokens: 2 } }],
  ['error event before content', { fault: { type: 'error-event', tokens: 0, error: 'overloaded' } }],
  [
    'error event after content',
    { text: 'a b c', fault: { type: 'error-event', tokens: 2, error: 'server' } },
  ],
  ['malformed chunk', { text: 'a b c', fault: { type: 'malformed', tokens: 1 } }],
  ['truncated', { text: 'a b c', fault: { type: 'truncate', tokens: 2 } }],
];

interface Outcome {
  readonly events: TokenEvent[];
  readonly error?: ReturnType<LLMError['toJSON']>;
}

function outcome(stream: Observable<TokenEvent>): Promise<Outcome> {
  const events: TokenEvent[] = [];
  return new Promise((resolve) =>
    stream.subscribe({
      next: (e) => events.push(e),
      error: (e: unknown) => resolve({ events, error: LLMError.isInstance(e) ? e.toJSON() : undefined }),
      complete: () => resolve({ events }),
    }),
  );
}

describe('fromSSE(toSSE(provider stream)) for every simulator scenario', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol] });
  });
  afterAll(() => sim.close());

  const models = () => ({
    openai: openai({ apiKey: 'sk-test-key-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' }),
    anthropic: anthropic({ apiKey: 'sk-test-key-0002', baseURL: sim.url, model: 'claude-haiku-4-5' }),
  });

  for (const provider of ['openai', 'anthropic'] as const) {
    it.each(scenarios)(`${provider}: %s crosses SSE unchanged`, async (_name, scenario) => {
      const model = models()[provider];
      sim.enqueue(scenario, scenario);
      const direct = await outcome(model.stream({ messages: [{ role: 'user', content: 'hi' }] }));
      const bridged = await outcome(
        fromSSE(
          new Response(
            toSSEStream(model.stream({ messages: [{ role: 'user', content: 'hi' }] }), { heartbeatMs: 0 }),
          ),
        ),
      );
      // Response ids differ per call; everything else must be identical, errors included.
      const strip = (o: Outcome) => ({
        events: o.events.map((e) => (e.type === 'start' ? { ...e, id: undefined } : e)),
        error: o.error,
      });
      expect(strip(bridged)).toEqual(strip(direct));
      // Every fault fails the stream (a reset mid-body too, as `network`); every clean scenario finishes.
      expect(direct.error !== undefined).toBe(scenario.fault !== undefined);
    });
  }

  it('keeps the error typed: an LLMError with kind and retry hint', async () => {
    sim.enqueue({ fault: { type: 'status', status: 429, retryAfter: 3 } });
    const stream = fromSSE(
      new Response(
        toSSEStream(models().openai.stream({ messages: [{ role: 'user', content: 'Hi' }] }), {
          heartbeatMs: 0,
        }),
      ),
    );
    const error = await lastValueFrom(stream.pipe(toArray())).catch((e: unknown) => e);
    expect(LLMError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'rate_limit', retryAfterMs: 3000, status: 429, provider: 'openai' });
  });
});
