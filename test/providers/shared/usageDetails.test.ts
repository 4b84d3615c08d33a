import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../../src/providers/shared/options.js';
import { outcome } from '../support.js';
import { REQUEST, VENDORS, wireServer, type Vendor, type WireServer } from './wire.js';

const fixture = (path: string): string =>
  readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
const vendor = (name: Vendor['name']): Vendor => VENDORS.find((v) => v.name === name) as Vendor;

let server: WireServer;
beforeAll(async () => {
  server = await wireServer();
});
afterAll(() => server.close());

describe.each(['direct', 'sdk'] as Transport[])('%s transport', (transport) => {
  it('keeps Anthropic thinking signatures on the event stream (recorded shape)', async () => {
    const claude = vendor('anthropic');
    server.reply({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: fixture('anthropic/thinking-signature.sse'),
    });
    const { events, error } = await outcome(claude.model(server.url, transport).stream(REQUEST));
    expect(error).toBeUndefined();
    const reasoning = events.filter((e) => e.type === 'reasoning');
    expect(reasoning.map((e) => e.type === 'reasoning' && e.text).join('')).toBe(
      'Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3',
    );
    expect(reasoning.at(-1)).toEqual({
      type: 'reasoning',
      text: '',
      signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
    });
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      reason: 'stop',
      usage: { inputTokens: 46, outputTokens: 163 },
    });
  });

  it('estimates the input an Ollama final line leaves out (a cached prompt), never 0', async () => {
    const llama = vendor('ollama');
    server.reply({
      status: 200,
      headers: { 'content-type': 'application/x-ndjson' },
      body: fixture('ollama/cached-prompt.ndjson'),
    });
    const { events, error } = await outcome(llama.model(server.url, transport).stream(REQUEST));
    expect(error).toBeUndefined();
    const finish = events.at(-1);
    expect(finish).toMatchObject({ type: 'finish', usage: { outputTokens: 282, estimated: true } });
    if (finish?.type !== 'finish') throw new Error('no finish');
    expect(finish.usage.inputTokens).toBeGreaterThan(0);
  });
});
