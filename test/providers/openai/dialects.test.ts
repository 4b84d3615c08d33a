import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishEvent, TokenEvent } from '../../../src/core/events.js';
import { openai, openaiCompatible } from '../../../src/providers/openai/index.js';
import { acceptsStreamOptions } from '../../../src/providers/openai/compatible.js';
import type { Transport } from '../../../src/providers/shared/options.js';
import { outcome } from '../support.js';
import { REQUEST, wireServer, type WireServer } from '../shared/wire.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url), 'utf8');

let server: WireServer;
beforeAll(async () => {
  server = await wireServer();
});
afterAll(() => server.close());

const TRANSPORTS: readonly Transport[] = ['direct', 'sdk'];
const KEY = 'sk-test-dialect-key-00001';

function serve(body: string): void {
  server.reply({ status: 200, headers: { 'content-type': 'text/event-stream' }, body });
}

const finishOf = (events: readonly TokenEvent[]): FinishEvent => {
  const last = events.at(-1);
  if (last?.type !== 'finish') throw new Error(`the stream did not finish: ${JSON.stringify(events)}`);
  return last;
};
const text = (events: readonly TokenEvent[]): string =>
  events.map((e) => (e.type === 'text' ? e.text : '')).join('');

describe.each(TRANSPORTS)('%s transport', (transport) => {
  const gpt = (): ReturnType<typeof openai> =>
    openai({ apiKey: KEY, baseURL: `${server.url}/v1`, model: 'gpt-4.1-mini', transport });

  it('[DONE] after a finish_reason without the usage chunk completes, usage estimated (not 0/0)', async () => {
    serve(fixture('no-usage.sse'));
    const { events, error } = await outcome(gpt().stream(REQUEST));
    expect(error).toBeUndefined();
    expect(text(events)).toBe('The capital of France is Paris.');
    const finish = finishOf(events);
    expect(finish).toMatchObject({ reason: 'stop', raw: 'stop', usage: { estimated: true } });
    expect(finish.usage.inputTokens).toBeGreaterThan(0);
    expect(finish.usage.outputTokens).toBeGreaterThan(0);
    expect(finish.cost.total).toBeGreaterThan(0);
  });

  it('a body cut after the finish_reason, before usage or [DONE], is incomplete', async () => {
    serve(fixture('no-usage.sse').replace('data: [DONE]\n\n', ''));
    const { events, error } = await outcome(gpt().stream(REQUEST));
    expect(error).toMatchObject({ kind: 'incomplete', retryable: true });
    expect(events.some((e) => e.type === 'finish')).toBe(false);
  });

  it('openai({ includeUsage: false }) sends no stream_options and still completes', async () => {
    serve(fixture('no-usage.sse'));
    const model = openai({
      apiKey: KEY,
      baseURL: `${server.url}/v1`,
      model: 'gpt-4.1-mini',
      includeUsage: false,
      transport,
    });
    const { events, error } = await outcome(model.stream(REQUEST));
    expect(server.lastBody).not.toHaveProperty('stream_options');
    expect(error).toBeUndefined();
    expect(finishOf(events).usage.estimated).toBe(true);
  });

  it("Groq's usage in x_groq.usage is read (recorded stream)", async () => {
    serve(fixture('groq-tool-call.sse'));
    const groq = openaiCompatible({
      name: 'groq',
      baseURL: `${server.url}/openai/v1`,
      apiKey: KEY,
      model: 'gemma2-9b-it',
      transport,
    });
    const { events, error } = await outcome(groq.stream(REQUEST));
    expect(error).toBeUndefined();
    expect(server.lastBody).toMatchObject({ stream_options: { include_usage: true } });
    expect(events.filter((e) => e.type === 'tool-call')).toEqual([
      {
        type: 'tool-call',
        index: 0,
        id: 'call_O17Uplv4lJvD6DVdIvFFeRMw',
        name: 'test-tool',
        args: { value: 'Sparkle Day' },
        rawArgs: '{"value":"Sparkle Day"}',
      },
    ]);
    expect(finishOf(events)).toMatchObject({
      reason: 'tool-calls',
      usage: { inputTokens: 18, outputTokens: 439 },
    });
    expect(finishOf(events).usage.estimated).toBeUndefined();
  });

  it('Mistral: no stream_options by default, usage from its finish chunk (recorded stream)', async () => {
    serve(fixture('mistral-text.sse'));
    const mistral = openaiCompatible({
      name: 'mistral',
      baseURL: `${server.url}/v1`,
      apiKey: KEY,
      model: 'mistral-small-latest',
      transport,
    });
    const { events, error } = await outcome(mistral.stream(REQUEST));
    expect(server.lastBody).not.toHaveProperty('stream_options');
    expect(error).toBeUndefined();
    expect(text(events)).toBe('Hello, world!');
    expect(finishOf(events).usage).toEqual({ inputTokens: 4, outputTokens: 32 });
  });

  it('an explicit includeUsage wins over the dialect default', async () => {
    serve(fixture('mistral-text.sse'));
    const forced = openaiCompatible({
      name: 'mistral',
      baseURL: `${server.url}/v1`,
      apiKey: KEY,
      model: 'mistral-small-latest',
      includeUsage: true,
      transport,
    });
    await outcome(forced.stream(REQUEST));
    expect(server.lastBody).toMatchObject({ stream_options: { include_usage: true } });
  });

  it('a refusal is its own signal: finish content-filter, raw refusal, its text on the finish, not in the answer', async () => {
    serve(fixture('refusal.sse'));
    const { events, error } = await outcome(gpt().stream(REQUEST));
    expect(error).toBeUndefined();
    expect(events.some((e) => e.type === 'text')).toBe(false);
    expect(finishOf(events)).toMatchObject({
      reason: 'content-filter',
      raw: 'refusal',
      refusal: "I'm sorry, I can't assist with that request.",
      usage: { inputTokens: 81, outputTokens: 11 },
    });
  });

  it('DeepSeek: reasoning_content as reasoning, prompt cache hits and reasoning tokens normalized', async () => {
    serve(fixture('deepseek-reasoner.sse'));
    const deepseek = openaiCompatible({
      name: 'deepseek',
      baseURL: `${server.url}/v1`,
      apiKey: KEY,
      model: 'deepseek-reasoner',
      transport,
    });
    const { events, error } = await outcome(deepseek.stream(REQUEST));
    expect(error).toBeUndefined();
    expect(
      events
        .filter((e) => e.type === 'reasoning')
        .map((e) => e.type === 'reasoning' && e.text)
        .join(''),
    ).toBe('9.11 has fewer tenths');
    expect(text(events)).toBe('9.9 is greater.');
    expect(finishOf(events).usage).toEqual({
      inputTokens: 18,
      outputTokens: 142,
      cachedInputTokens: 12,
      reasoningTokens: 131,
    });
  });
});

describe('acceptsStreamOptions', () => {
  it('is on for the hosts that accept or ignore it, off for Mistral', () => {
    for (const name of [
      'openai',
      'azure',
      'groq',
      'together',
      'vllm',
      'openrouter',
      'deepseek',
      'fireworks',
    ]) {
      expect(acceptsStreamOptions(name)).toBe(true);
    }
    expect(acceptsStreamOptions('mistral')).toBe(false);
    expect(acceptsStreamOptions('Mistral')).toBe(false);
  });
});
