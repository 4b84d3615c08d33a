import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../../src/core/events.js';
import type { ChatRequest } from '../../../src/core/request.js';
import { ollama, type OllamaOptions } from '../../../src/providers/ollama/index.js';
import type { Scenario } from '../../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { ollamaProtocol } from '../../../src/testing/simulator/protocols/ollama.js';
import { allText, outcome, unsubscribeAt, type Outcome } from './run.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [ollamaProtocol] });
});
afterAll(async () => {
  await sim.close();
});

const request: ChatRequest = { messages: [{ role: 'user', content: 'Why is the sky blue?' }] };
const TEXT = 'Rayleigh scattering: λ⁻⁴, CO₂ 🌤️ 東京 done.';

type TransportName = 'direct' | 'sdk' | 'client';
const TRANSPORTS: readonly TransportName[] = ['direct', 'sdk', 'client'];

function model(transport: TransportName, extra: Partial<OllamaOptions> = {}) {
  const base = { model: 'llama3.2', host: sim.url, ...extra };
  switch (transport) {
    case 'direct':
      return ollama(base);
    case 'sdk':
      return ollama({ ...base, transport: 'sdk' });
    case 'client':
      return ollama({ ...base, client: new Ollama({ host: sim.url }) });
  }
}

/** Runs one scenario on a transport; the simulator serves requests in order, so they run one at a time. */
async function runOn(
  transport: TransportName,
  scenario: Scenario,
  extra?: Partial<OllamaOptions>,
): Promise<Outcome> {
  sim.enqueue(scenario);
  return outcome(model(transport, extra).stream(request));
}

const kinds = (o: Outcome): string[] => o.events.map((e) => e.type);
const errorShape = (o: Outcome) =>
  o.error && {
    kind: o.error.kind,
    retryable: o.error.retryable,
    retryAfterMs: o.error.retryAfterMs,
    status: o.error.status,
    provider: o.error.provider,
    model: o.error.model,
  };

interface Case {
  readonly name: string;
  readonly scenario: Scenario;
  readonly options?: Partial<OllamaOptions>;
  /** Transports on which this case is checked (default: all three). */
  readonly only?: readonly TransportName[];
  /** The network decides how many events arrive: compare only the errors across transports. */
  readonly racy?: boolean;
  readonly check: (o: Outcome) => void;
}

const CASES: readonly Case[] = [
  {
    name: 'text with multi-byte characters',
    scenario: { text: TEXT },
    check: (o) => {
      expect(o.error).toBeUndefined();
      expect(o.events[0]).toEqual({
        type: 'start',
        provider: 'ollama',
        model: 'llama3.2',
        responseModel: 'llama3.2',
      });
      expect(o.events.map((e) => (e.type === 'text' ? e.text : '')).join('')).toBe(TEXT);
      expect(o.events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop', raw: 'stop' });
    },
  },
  {
    name: 'tool calls (arguments parsed, ids synthesized or kept)',
    scenario: {
      toolCalls: [
        { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
        { id: 'call_custom', name: 'lookup', args: { q: 'naïve ₂', n: [1, 2] } },
      ],
    },
    check: (o) => {
      expect(o.error).toBeUndefined();
      const calls = o.events.filter((e) => e.type === 'tool-call');
      expect(calls).toEqual([
        {
          type: 'tool-call',
          index: 0,
          id: 'call_0',
          name: 'get_weather',
          args: { city: 'Paris', unit: 'celsius' },
          rawArgs: '{"city":"Paris","unit":"celsius"}',
        },
        {
          type: 'tool-call',
          index: 1,
          id: 'call_custom',
          name: 'lookup',
          args: { q: 'naïve ₂', n: [1, 2] },
          rawArgs: '{"q":"naïve ₂","n":[1,2]}',
        },
      ]);
      expect(o.events.filter((e) => e.type === 'tool-call-delta')).toHaveLength(2);
      expect(o.events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls', raw: 'stop' });
    },
  },
  {
    name: 'usage and cost',
    scenario: { text: 'Hi', usage: { inputTokens: 1_000_000, outputTokens: 2_000_000 } },
    options: { pricing: { input: 1, output: 2 } },
    check: (o) => {
      const usage = { inputTokens: 1_000_000, outputTokens: 2_000_000 };
      expect(o.events.filter((e) => e.type === 'usage')).toEqual([{ type: 'usage', usage }]);
      expect(o.events.at(-1)).toEqual({
        type: 'finish',
        reason: 'stop',
        raw: 'stop',
        usage,
        cost: { input: 1, output: 4, total: 5 },
      });
    },
  },
  {
    name: 'a catalog model costs 0 (local)',
    scenario: { text: 'Hi', usage: { inputTokens: 10, outputTokens: 1 } },
    check: (o) => expect(o.events.at(-1)).toMatchObject({ cost: { input: 0, output: 0, total: 0 } }),
  },
  {
    name: 'length finish',
    scenario: { text: 'cut', finish: 'length' },
    check: (o) => expect(o.events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', raw: 'length' }),
  },
  ...(
    [
      [429, 'rate_limit', { retryAfter: 2 }, 2000],
      [429, 'rate_limit', { retryAfterMs: 1500 }, 1500],
      [500, 'unavailable', {}, undefined],
      [
        503,
        'unavailable',
        { message: 'server busy, please try again.  maximum pending requests exceeded' },
        undefined,
      ],
      [529, 'overloaded', {}, undefined],
      [400, 'invalid_request', {}, undefined],
      [401, 'auth', {}, undefined],
      [404, 'not_found', { message: 'model "llama3.2" not found, try pulling it first' }, undefined],
    ] as const
  ).map(([status, kind, extra, retryAfterMs]): Case => ({
    name: `HTTP ${status} ${JSON.stringify(extra)} → ${kind}`,
    scenario: { fault: { type: 'status', status, ...extra } },
    // A user's client keeps the SDK's own fetch, which drops the headers: no retry-after there.
    ...(retryAfterMs !== undefined && { only: ['direct', 'sdk'] as const }),
    check: (o) => {
      expect(o.events).toEqual([]);
      expect(errorShape(o)).toMatchObject({ kind, status, provider: 'ollama', model: 'llama3.2' });
      expect(o.error?.retryAfterMs).toBe(retryAfterMs);
    },
  })),
  {
    name: 'reset before headers → network',
    scenario: { fault: { type: 'reset-before-headers' } },
    check: (o) => {
      expect(o.events).toEqual([]);
      expect(errorShape(o)).toMatchObject({ kind: 'network', retryable: true });
    },
  },
  {
    // The socket dies mid-body: fetch reports the body as `terminated`, a network error (retryable), not
    // a mere truncation: the transport, not the server, cut it. Never a success: no `done: true` came.
    // A reset may also discard bytes the client had not read yet, so the events are a prefix of the 2 tokens.
    name: 'reset after 2 tokens → network, after at most the 2 tokens',
    scenario: { text: 'one two three four', tokenDelayMs: 5, fault: { type: 'reset-after', tokens: 2 } },
    racy: true,
    check: (o) => {
      expect(['start', 'text', 'text'].slice(0, o.events.length)).toEqual(kinds(o));
      expect(errorShape(o)).toMatchObject({ kind: 'network', retryable: true });
    },
  },
  {
    name: 'in-stream error before content → unavailable, retryable, no events',
    scenario: { fault: { type: 'error-event', tokens: 0, error: 'overloaded' } },
    check: (o) => {
      expect(o.events).toEqual([]);
      expect(errorShape(o)).toMatchObject({ kind: 'unavailable', retryable: true, provider: 'ollama' });
    },
  },
  {
    name: 'in-stream rate limit after 2 tokens → rate_limit',
    scenario: { text: 'one two three', fault: { type: 'error-event', tokens: 2, error: 'rate_limit' } },
    check: (o) => {
      expect(kinds(o)).toEqual(['start', 'text', 'text']);
      expect(errorShape(o)).toMatchObject({ kind: 'rate_limit', retryable: true });
    },
  },
  {
    name: 'in-stream server error after 1 token → unavailable',
    scenario: { text: 'one two', fault: { type: 'error-event', tokens: 1, error: 'server' } },
    check: (o) => expect(o.error?.kind).toBe('unavailable'),
  },
  {
    name: 'malformed line after 2 tokens → invalid_response',
    scenario: { text: 'one two three', fault: { type: 'malformed', tokens: 2 } },
    // A user's client keeps the SDK's own parser, which skips a malformed line: its stream ends `incomplete`.
    only: ['direct', 'sdk'],
    check: (o) => {
      expect(kinds(o)).toEqual(['start', 'text', 'text']);
      expect(o.error?.kind).toBe('invalid_response');
    },
  },
  {
    name: 'truncated after 2 tokens → incomplete',
    scenario: { text: 'one two three', fault: { type: 'truncate', tokens: 2 } },
    check: (o) => {
      expect(kinds(o)).toEqual(['start', 'text', 'text']);
      expect(errorShape(o)).toMatchObject({ kind: 'incomplete', retryable: true });
    },
  },
];

describe.each(CASES)('ollama: $name', (c) => {
  it('gives the expected outcome, identical on every transport', async () => {
    const transports = TRANSPORTS.filter((t) => !c.only || c.only.includes(t));
    const results: Outcome[] = [];
    for (const transport of transports) {
      const result = await runOn(transport, c.scenario, c.options);
      c.check(result);
      results.push(result);
    }
    const [first, ...rest] = results;
    for (const other of rest) {
      if (!c.racy) expect(other.events).toEqual(first?.events);
      expect(errorShape(other)).toEqual(first && errorShape(first));
    }
  });
});

it('a user client sees a malformed line as the end of the stream (the SDK skips it)', async () => {
  const result = await runOn('client', { text: 'one two three', fault: { type: 'malformed', tokens: 2 } });
  expect(kinds(result)).toEqual(['start', 'text', 'text']);
  expect(result.error?.kind).toBe('incomplete');
});

describe('requests', () => {
  it.each(['direct', 'sdk'] as const)('%s: posts the Ollama body to /api/chat', async (transport) => {
    sim.enqueue({ text: 'ok' });
    await outcome(
      ollama({
        model: 'llama3.2',
        host: sim.url,
        transport,
        keepAlive: '1m',
        headers: { 'x-trace': 't1' },
      }).stream({
        ...request,
        maxTokens: 8,
      }),
    );
    const seen = sim.requests.at(-1);
    expect(seen?.path).toBe('/api/chat');
    expect(seen?.headers['x-trace']).toBe('t1');
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.body).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
      keep_alive: '1m',
      options: { num_predict: 8 },
    });
  });

  it.each(['direct', 'sdk'] as const)(
    '%s: an http image URL fails on subscribe, before sending',
    async (transport) => {
      const before = sim.requests.length;
      const result = await outcome(
        ollama({ model: 'llava', host: sim.url, transport }).stream({
          messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/a.png' }] }],
        }),
      );
      expect(result.events).toEqual([]);
      expect(result.error?.kind).toBe('invalid_request');
      expect(sim.requests.length).toBe(before);
    },
  );
});

describe('cancellation', () => {
  it.each(TRANSPORTS)('%s: unsubscribing mid-stream closes the socket', async (transport) => {
    sim.enqueue({ text: 'a b c d e f g h i j k l m n o p', tokenDelayMs: 30 });
    const events = await unsubscribeAt(model(transport).stream(request), (e) => e.type === 'text');
    const seen = sim.requests.at(-1);
    await seen?.closed;
    expect(seen?.abortedByClient()).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
  });

  it.each(['direct', 'sdk'] as const)(
    '%s: unsubscribing during a stall closes the socket',
    async (transport) => {
      sim.enqueue({ text: 'a b c', fault: { type: 'stall', tokens: 1 } });
      await unsubscribeAt(model(transport).stream(request), (e) => e.type === 'text');
      const seen = sim.requests.at(-1);
      await seen?.closed;
      expect(seen?.abortedByClient()).toBe(true);
    },
  );

  it.each(['direct', 'sdk'] as const)(
    '%s: unsubscribing before the first content line closes the socket',
    async (transport) => {
      sim.enqueue({ text: 'late', firstTokenDelayMs: 5_000 });
      const before = sim.requests.length;
      const subscription = model(transport).stream(request).subscribe();
      while (sim.requests.length === before) await new Promise((resolve) => setTimeout(resolve, 2));
      subscription.unsubscribe();
      const seen = sim.requests.at(-1);
      await seen?.closed;
      expect(seen?.abortedByClient()).toBe(true);
    },
  );

  it.each(['direct', 'sdk'] as const)(
    '%s: unsubscribing before the response arrives aborts the fetch',
    async (transport) => {
      let aborted: (() => void) | undefined;
      const gone = new Promise<void>((resolve) => (aborted = resolve));
      const hanging: typeof fetch = (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => {
            aborted?.();
            reject(new DOMException('aborted', 'AbortError'));
          });
        });
      const subscription = ollama({ model: 'llama3.2', host: sim.url, transport, fetch: hanging })
        .stream(request)
        .subscribe({ error: () => undefined });
      await new Promise((resolve) => setTimeout(resolve, 20));
      subscription.unsubscribe();
      await gone;
    },
  );
});

describe('secrets', () => {
  const KEY = 'sk-test-SECRET-MARKER-123456';
  it.each(TRANSPORTS.filter((t) => t !== 'client'))(
    '%s: sends the key as a bearer token',
    async (transport) => {
      sim.enqueue({ text: 'ok' });
      await outcome(model(transport, { apiKey: KEY }).stream(request));
      expect(sim.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    },
  );

  it.each(
    TRANSPORTS.filter((t) => t !== 'client').flatMap((t) => [
      [t, 401],
      [t, 500],
    ]),
  )('%s: HTTP %i that echoes the key leaks it nowhere', async (transport, status) => {
    sim.enqueue({
      fault: { type: 'status', status: status as number, message: `bad key ${KEY} for this host` },
    });
    const result = await outcome(model(transport as TransportName, { apiKey: KEY }).stream(request));
    expect(result.error).toBeDefined();
    const text =
      allText(result.error) + JSON.stringify(result.error?.toJSON()) + JSON.stringify(result.events);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('SECRET-MARKER');
  });

  it.each(['direct', 'sdk'] as const)(
    '%s: an in-stream error that echoes the key leaks it nowhere',
    async (transport) => {
      sim.enqueue({ text: 'a b', fault: { type: 'error-event', tokens: 1, message: `key ${KEY} revoked` } });
      const result = await outcome(model(transport, { apiKey: KEY }).stream(request));
      const events: TokenEvent[] = result.events;
      expect(allText(result.error) + JSON.stringify(events)).not.toContain('SECRET-MARKER');
    },
  );
});
