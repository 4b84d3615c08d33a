import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { TokenEvent } from '../../src/core/events.js';
import { fromSSE } from '../../src/streaming/fromSSE.js';
import type { Simulator } from '../../src/testing/simulator/server.js';
import { gatewayConfig, generate, hello, type Running, simulator, startGateway } from './support.js';
import { readFile } from 'node:fs/promises';

describe('gateway over HTTP', () => {
  let sim: Simulator;
  let running: Running | undefined;
  beforeAll(async () => {
    sim = await simulator();
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.handle(undefined);
  });
  afterEach(async () => {
    await running?.gateway.close();
    running = undefined;
  });
  const start = async (extra = '', heartbeatMs?: number): Promise<string> => {
    running = await startGateway(sim, gatewayConfig(extra), {
      gateway: heartbeatMs === undefined ? {} : { heartbeatMs },
    });
    return running.url;
  };

  it('answers JSON', async () => {
    const url = await start();
    sim.handle(() => ({ text: 'Hello there friend', usage: { inputTokens: 5, outputTokens: 3 } }));
    const res = await generate(url, { ...hello, stream: false, maxTokens: 20 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      text: 'Hello there friend',
      finishReason: 'stop',
      provider: 'primary',
      usage: { inputTokens: 5, outputTokens: 3 },
      failures: [],
    });
  });

  it('streams SSE that fromSSE reads back into the same events', async () => {
    const url = await start();
    sim.handle(() => ({ text: 'one two three' }));
    const res = await generate(url, hello, { headers: { accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await lastValueFrom(fromSSE(res).pipe(toArray()));
    expect(events.map((e) => e.type)).toEqual(['route', 'start', 'text', 'text', 'text', 'usage', 'finish']);
    expect(
      events
        .filter((e): e is Extract<TokenEvent, { type: 'text' }> => e.type === 'text')
        .map((e) => e.text)
        .join(''),
    ).toBe('one two three');
  });

  it('falls back to the second provider and reports it', async () => {
    const url = await start();
    sim.handle((r) =>
      r.protocol === 'openai' ? { fault: { type: 'status', status: 500 } } : { text: 'from backup' },
    );
    const res = await generate(url, { ...hello, stream: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      text: 'from backup',
      provider: 'backup',
      failures: [{ provider: 'primary', model: 'gpt-4o-mini', kind: 'unavailable' }],
    });
  });

  it.each([
    ['not JSON', { 'content-type': 'text/plain' }, 'hi', 415, undefined],
    ['invalid JSON', {}, '{"messages": [', 400, undefined],
    ['no messages', {}, { stream: false }, 400, 'messages'],
    ['empty messages', {}, { messages: [] }, 400, 'messages'],
    ['a wrong role', {}, { messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages[0].role'],
    ['an unknown field', {}, { ...hello, model: 'gpt-5' }, 400, '(root)'],
    ['a wrong type', {}, { ...hello, temperature: 'hot' }, 400, 'temperature'],
  ])('rejects %s with a clear 4xx body', async (_name, headers, body, status, path) => {
    const url = await start();
    const before = sim.requests.length;
    const res = await generate(url, body, { headers: headers as Record<string, string> });
    expect(res.status).toBe(status);
    const json = (await res.json()) as {
      error: { kind: string; message: string; issues?: { path: string }[] };
    };
    expect(json.error.kind).toBe('invalid_request');
    expect(json.error.message.length).toBeGreaterThan(5);
    if (path) expect(json.error.issues?.map((i) => i.path)).toContain(path);
    expect(sim.requests.length).toBe(before); // nothing went upstream
  });

  it('rejects a body over the limit with 413, and unknown routes and methods with 404 and 405', async () => {
    const url = await start('server: { maxBodyBytes: 64 }');
    const big = await generate(url, { messages: [{ role: 'user', content: 'x'.repeat(200) }] });
    expect(big.status).toBe(413);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const wrong = await fetch(`${url}/v1/generate`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it.each([
    ['every provider rate limited', { type: 'status', status: 429, retryAfter: 7 }, 429, 'all_failed', '7'],
    ['bad upstream keys (auth does not fall back)', { type: 'status', status: 401 }, 502, 'auth', null],
    ['every provider down', { type: 'status', status: 503 }, 503, 'all_failed', null],
    [
      'a bad request upstream (not retried elsewhere)',
      { type: 'status', status: 400 },
      400,
      'invalid_request',
      null,
    ],
    ['a connection reset', { type: 'reset-before-headers' }, 502, 'all_failed', null],
  ] as const)('maps %s to HTTP %i', async (_name, fault, status, kind, retryAfter) => {
    const url = await start();
    sim.handle(() => ({ fault }));
    const res = await generate(url, { ...hello, stream: false });
    expect(res.status).toBe(status);
    expect(res.headers.get('retry-after')).toBe(retryAfter);
    const json = (await res.json()) as { error: { kind: string } };
    expect(json.error.kind).toBe(kind);
  });

  it('maps a budget refusal to 402 before anything is sent upstream', async () => {
    const url = await start('budget: { perRequest: 0.000000001, onShortfall: reject }');
    const before = sim.requests.length;
    const res = await generate(url, { ...hello, stream: false, maxTokens: 500 });
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { kind: string } }).error.kind).toBe('budget');
    expect(sim.requests.length).toBe(before);
  });

  it('maps first-token timeouts to 504 (also in SSE mode: the status waits for the first event)', async () => {
    const url = await start('timeout: { firstTokenMs: 60 }');
    sim.handle(() => ({ text: 'late', firstTokenDelayMs: 2_000 }));
    const res = await generate(url, { ...hello, stream: true });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { kind: string } }).error.kind).toBe('all_failed');
  });

  it('ends an SSE stream that fails after content with a typed error frame', async () => {
    const url = await start();
    const before = sim.requests.length;
    sim.handle((r) =>
      r.protocol === 'openai'
        ? { text: 'a b c d e f', fault: { type: 'reset-after', tokens: 2 } }
        : { text: 'never' },
    );
    const res = await generate(url, { ...hello, stream: true });
    expect(res.status).toBe(200);
    const seen: TokenEvent[] = [];
    const error = await new Promise<unknown>((resolve) =>
      fromSSE(res).subscribe({
        next: (e) => seen.push(e),
        error: resolve,
        complete: () => resolve(undefined),
      }),
    );
    expect(seen.filter((e) => e.type === 'text')).toHaveLength(2);
    expect(error).toMatchObject({ name: 'LLMError', kind: expect.stringMatching(/^(network|incomplete)$/) });
    expect(sim.requests.slice(before).map((r) => r.protocol)).toEqual(['openai']);
  });

  it.each([true, false])(
    'a client that disconnects mid-stream aborts the upstream call (stream: %s)',
    async (stream) => {
      const url = await start('', 0);
      sim.handle(() => ({ text: 'a slow answer that takes a long time to finish', tokenDelayMs: 40 }));
      const controller = new AbortController();
      const res = generate(url, { ...hello, stream }, { signal: controller.signal });
      if (stream) {
        const response = await res;
        const reader = response.body!.getReader();
        const first = await reader.read(); // the first frame: the call is streaming
        expect(new TextDecoder().decode(first.value)).toContain('event:');
      } else {
        await new Promise((resolve) => setTimeout(resolve, 120));
        res.catch(() => undefined);
      }
      const upstream = sim.requests.at(-1)!;
      controller.abort();
      await upstream.closed;
      expect(upstream.abortedByClient()).toBe(true);
      // The call is recorded as abandoned.
      await expect.poll(() => running!.pipeline.handles.metrics.recent().at(-1)?.outcome).toBe('aborted');
    },
  );

  it('GET /v1/status reports providers, circuits, budgets and spend; GET /metrics is Prometheus text', async () => {
    const url = await start('budget: { limits: { day: 5 } }');
    sim.handle((r) =>
      r.protocol === 'openai' ? { fault: { type: 'status', status: 503 } } : { text: 'ok' },
    );
    await (await generate(url, { ...hello, stream: false })).json();
    const status = (await (await fetch(`${url}/v1/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      strategy: 'priority',
      providers: [
        { name: 'primary', type: 'openai', model: 'gpt-4o-mini', circuit: 'closed', health: 'degraded' },
        {
          name: 'backup',
          type: 'anthropic',
          model: 'claude-haiku-4-5',
          circuit: 'closed',
          health: 'healthy',
        },
      ],
      budget: { lines: [{ scope: 'global', period: 'day', limit: 5 }], outstanding: 0 },
      spend: { calls: 1, errors: 0 },
    });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await metrics.text();
    expect(text).toContain(
      'rxllm_requests_total{provider="backup",model="claude-haiku-4-5",outcome="success"} 1',
    );
    expect(text).toContain('rxllm_circuit_state{provider="primary",model="gpt-4o-mini"} 0');
    expect(text).toContain('rxllm_budget_limit_usd{scope="global",period="day"} 5');
    expect(text).toMatch(
      /rxllm_time_to_first_token_seconds_count\{provider="backup",model="claude-haiku-4-5"\} 1/,
    );
  });

  it('ships an example configuration that validates', async () => {
    const text = await readFile(new URL('../../examples/gateway/rxllm.yaml', import.meta.url), 'utf8');
    const config = parseConfig(text, { env: { OPENAI_API_KEY: 'sk-x-000000000', ANTHROPIC_API_KEY: 'a' } });
    expect(config.providers.map((p) => p.name)).toEqual(['openai', 'anthropic', 'local']);
  });
});
