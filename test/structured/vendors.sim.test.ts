import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel } from '../../src/core/model.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { ollama } from '../../src/providers/ollama/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { objectRequest } from '../../src/structured/objectRequest.js';
import { runTools } from '../../src/structured/runTools.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { tool } from '../../src/structured/tool.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../src/testing/simulator/protocols/gemini.js';
import { ollamaProtocol } from '../../src/testing/simulator/protocols/ollama.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { toolConversation, toolResultsOf } from '../../src/testing/simulator/toolResults.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({
    protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
  });
});
afterAll(() => sim.close());

const vendors: Record<string, () => LanguageModel> = {
  openai: () => openai({ apiKey: 'sk-test-structured-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' }),
  anthropic: () =>
    anthropic({ apiKey: 'sk-ant-test-structured-01', baseURL: sim.url, model: 'claude-haiku-4-5' }),
  gemini: () => gemini({ apiKey: 'gm-test-structured-0001', baseURL: sim.url, model: 'gemini-2.5-flash' }),
  ollama: () => ollama({ host: sim.url, model: 'llama3.2' }),
};

const City = z.object({ city: z.string() });
const tools = {
  weather: tool({
    description: 'Temperature in °C',
    input: City,
    execute: async ({ city }) => ({ city, celsius: 21 }),
  }),
  time: tool({ description: 'Local time', input: City, execute: () => '12:00' }),
};

describe.each(Object.keys(vendors))('%s over the simulator', (vendor) => {
  it('runs a two-tool loop: the calls, their results sent back in the vendor’s form, the answer', async () => {
    sim.handle(
      toolConversation(
        [
          { id: 'call_w', name: 'weather', args: { city: 'Lyon' } },
          { id: 'call_t', name: 'time', args: { city: 'Lyon' } },
        ],
        (results) => `Got ${results.length} results: ${results.map((r) => r.content).join(' | ')}`,
      ),
    );
    const before = sim.requests.length;
    const events = await lastValueFrom(
      runTools(
        vendors[vendor]!(),
        { messages: [{ role: 'user', content: 'Weather and time in Lyon?' }] },
        { tools },
      ).pipe(toArray()),
    );
    const results = events.filter((e) => e.type === 'tool-result');
    expect(results.map((r) => [r.name, r.isError])).toEqual(
      expect.arrayContaining([
        ['weather', false],
        ['time', false],
      ]),
    );
    const text = events.flatMap((e: TokenEvent) => (e.type === 'text' ? [e.text] : [])).join('');
    expect(text).toContain('Got 2 results');
    expect(text).toContain('12:00');
    expect(text).toMatch(/celsius.{0,3}21/);
    expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.reason)).toEqual([
      'tool-calls',
      'stop',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    const second = sim.requests[before + 1]!;
    expect(toolResultsOf(second)).toHaveLength(2);
    expect(sim.requests.length - before).toBe(2);
  });

  it('streams a typed object from a JSON answer', async () => {
    const Answer = z.object({ name: z.string(), population: z.number(), tags: z.array(z.string()) });
    const json = JSON.stringify({ name: 'Lyon', population: 522000, tags: ['food', 'silk'] });
    sim.handle(() => ({ text: json.match(/.{1,7}/g) ?? [] }));
    const before = sim.requests.length;
    const request = objectRequest({ messages: [{ role: 'user', content: 'A French city?' }] }, Answer);
    const events = await lastValueFrom(
      vendors[vendor]!().stream(request).pipe(streamObject(Answer), toArray()),
    );
    const objects = events.filter((e) => e.type === 'object');
    expect(objects.length).toBeGreaterThan(3);
    expect(objects.at(-1)).toEqual({ type: 'object', partial: false, value: JSON.parse(json) });
    expect(events.at(-1)?.type).toBe('finish');
    expect(JSON.stringify(sim.requests[before]!.body)).toContain('population');
  });
});
