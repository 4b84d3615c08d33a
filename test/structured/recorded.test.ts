import { readFileSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { objectRequest } from '../../src/structured/objectRequest.js';
import { runTools } from '../../src/structured/runTools.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { tool } from '../../src/structured/tool.js';

// Recorded Anthropic streams: a forced tool carrying JSON (source noted in the file) and a text answer.
const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/anthropic/${name}`, import.meta.url), 'utf8');
const JSON_TOOL = fixture('anthropic-json-tool.sse');
const TEXT = fixture('anthropic-text.sse');

/** A `fetch` that answers each request with the next recorded body, and keeps the request bodies. */
function replay(...bodies: string[]): { fetch: typeof fetch; sent: unknown[] } {
  const sent: unknown[] = [];
  const fetch = (async (_url: unknown, init?: RequestInit) => {
    sent.push(JSON.parse(String(init?.body)));
    const body = bodies[sent.length - 1] ?? '';
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }) as typeof globalThis.fetch;
  return { fetch, sent };
}

const Weather = z.object({ location: z.string(), temperature: z.number(), condition: z.string() });
const Answer = z.object({ elements: z.array(Weather) });

describe('recorded Anthropic streams', () => {
  it('a forced-tool JSON answer streams as a typed object (claude-haiku-4-5, recorded)', async () => {
    const { fetch } = replay(JSON_TOOL);
    const claude = anthropic({ apiKey: 'sk-ant-test-recorded-01', model: 'claude-3-5-haiku-latest', fetch });
    const request = objectRequest({ messages: [{ role: 'user', content: 'Weather?' }] }, Answer, {
      name: 'json',
    });
    const events = await lastValueFrom(claude.stream(request).pipe(streamObject(Answer), toArray()));
    expect(events.at(-2)).toEqual({
      type: 'object',
      partial: false,
      value: { elements: [{ location: 'San Francisco', temperature: 58, condition: 'sunny' }] },
    });
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      reason: 'tool-calls',
      usage: { outputTokens: 47 },
    });
  });

  it('a two-step tool conversation: the recorded tool call runs, its result goes back, the recorded answer ends it', async () => {
    const { fetch, sent } = replay(JSON_TOOL, TEXT);
    const claude = anthropic({ apiKey: 'sk-ant-test-recorded-01', model: 'claude-haiku-4-5', fetch });
    const inputs: unknown[] = [];
    const json = tool({
      input: Answer,
      execute: (input) => {
        inputs.push(input);
        return 'stored';
      },
    });
    const events = await lastValueFrom(
      runTools(claude, { messages: [{ role: 'user', content: 'Weather?' }] }, { tools: { json } }).pipe(
        toArray(),
      ),
    );
    expect(inputs).toEqual([
      { elements: [{ location: 'San Francisco', temperature: 58, condition: 'sunny' }] },
    ]);
    expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.reason)).toEqual([
      'tool-calls',
      'stop',
    ]);
    const second = sent[1] as { messages: { role: string; content: unknown }[] };
    expect(second.messages.at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_01KFbKqPYSuAKujiL6mTfzYA', content: 'stored' }],
    });
    expect(second.messages.at(-2)).toMatchObject({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_01KFbKqPYSuAKujiL6mTfzYA', name: 'json' }],
    });
    const finish = events.at(-1);
    expect(finish).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(finish?.type === 'finish' && finish.usage.outputTokens).toBeGreaterThan(47);
  });
});
