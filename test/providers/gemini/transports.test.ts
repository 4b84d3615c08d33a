import { GoogleGenerativeAI } from '@google/generative-ai';
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { costOf, defaultCatalog } from '../../../src/core/catalog.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { ChatRequest } from '../../../src/core/request.js';
import { gemini, type GeminiClient } from '../../../src/providers/gemini/index.js';
import { geminiProtocol } from '../../../src/testing/simulator/protocols/gemini.js';
import type { Scenario } from '../../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { type Outcome, run, withoutResponseId } from './helpers.js';

const MODEL = 'gemini-2.0-flash';
const pricing = defaultCatalog.get('gemini', MODEL)?.pricing;
const request: ChatRequest = { messages: [{ role: 'user', content: 'Hi' }] };
const transports = ['direct', 'sdk'] as const;
type TransportName = (typeof transports)[number];

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [geminiProtocol] });
});
afterAll(async () => {
  await sim.close();
});

function model(transport: TransportName, apiKey = 'test-key-123456') {
  return gemini({ apiKey, baseURL: sim.url, model: MODEL, transport });
}

async function runBoth(
  scenario: Scenario,
  req: ChatRequest = request,
): Promise<Record<TransportName, Outcome>> {
  const out = {} as Record<TransportName, Outcome>;
  for (const transport of transports) {
    sim.enqueue(scenario);
    out[transport] = await run(model(transport).stream(req));
  }
  return out;
}

const usage = { inputTokens: 12, outputTokens: 5 };

interface Case {
  readonly name: string;
  readonly scenario: Scenario;
  /** The exact events (start without its response id), or the event types when only the shape matters. */
  readonly events?: readonly TokenEvent[];
  readonly types?: readonly TokenEvent['type'][];
  /** The event types when the fault may cut them short: the events are a prefix of these. */
  readonly prefix?: readonly TokenEvent['type'][];
  readonly error?: { readonly kind: string; readonly retryable: boolean; readonly [key: string]: unknown };
}

const start = { type: 'start', provider: 'gemini', model: MODEL, responseModel: MODEL } as const;

const cases: readonly Case[] = [
  {
    name: 'text with multi-byte characters',
    scenario: { text: ['Hello', ' 👋🏽', ' 世界,', ' CO₂ & <tags>', ' \u2028done'], usage },
    events: [
      start,
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' 👋🏽' },
      { type: 'text', text: ' 世界,' },
      { type: 'text', text: ' CO₂ & <tags>' },
      { type: 'text', text: ' \u2028done' },
      { type: 'usage', usage },
      { type: 'finish', reason: 'stop', raw: 'STOP', usage, cost: costOf(usage, pricing) },
    ],
  },
  {
    name: 'tool calls (args parsed, ids synthesized or kept)',
    scenario: {
      text: 'Let me check.',
      toolCalls: [
        { name: 'weather', args: { city: 'Paris', units: ['C'] } },
        { id: 'fc-given', name: 'time', args: {} },
      ],
      usage,
    },
    events: [
      start,
      { type: 'text', text: 'Let' },
      { type: 'text', text: ' me' },
      { type: 'text', text: ' check.' },
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'call_0',
        name: 'weather',
        argsDelta: '{"city":"Paris","units":["C"]}',
      },
      {
        type: 'tool-call',
        index: 0,
        id: 'call_0',
        name: 'weather',
        args: { city: 'Paris', units: ['C'] },
        rawArgs: '{"city":"Paris","units":["C"]}',
      },
      { type: 'tool-call-delta', index: 1, id: 'fc-given', name: 'time', argsDelta: '{}' },
      { type: 'tool-call', index: 1, id: 'fc-given', name: 'time', args: {}, rawArgs: '{}' },
      { type: 'usage', usage },
      { type: 'finish', reason: 'tool-calls', raw: 'STOP', usage, cost: costOf(usage, pricing) },
    ],
  },
  {
    name: 'usage with cached tokens and cost',
    scenario: { text: 'ok', usage: { inputTokens: 1000, outputTokens: 10, cachedInputTokens: 800 } },
    events: [
      start,
      { type: 'text', text: 'ok' },
      { type: 'usage', usage: { inputTokens: 1000, outputTokens: 10, cachedInputTokens: 800 } },
      {
        type: 'finish',
        reason: 'stop',
        raw: 'STOP',
        usage: { inputTokens: 1000, outputTokens: 10, cachedInputTokens: 800 },
        cost: costOf({ inputTokens: 1000, outputTokens: 10, cachedInputTokens: 800 }, pricing),
      },
    ],
  },
  {
    name: 'finish MAX_TOKENS → length',
    scenario: { text: 'cut', finish: 'length', usage },
    types: ['start', 'text', 'usage', 'finish'],
  },
  {
    name: 'finish SAFETY → content-filter',
    scenario: { text: 'Sure', finish: 'content-filter', usage },
    types: ['start', 'text', 'usage', 'finish'],
  },
  {
    name: 'HTTP 429 with retry-after',
    scenario: { fault: { type: 'status', status: 429, retryAfter: 2 } },
    error: { kind: 'rate_limit', retryable: true, retryAfterMs: 2000, status: 429 },
  },
  {
    name: 'HTTP 429 with retry-after-ms',
    scenario: { fault: { type: 'status', status: 429, retryAfterMs: 1500 } },
    error: { kind: 'rate_limit', retryable: true, retryAfterMs: 1500, status: 429 },
  },
  {
    name: 'HTTP 500 INTERNAL',
    scenario: { fault: { type: 'status', status: 500 } },
    error: { kind: 'unavailable', retryable: true, status: 500 },
  },
  {
    name: 'HTTP 503 UNAVAILABLE (Gemini\'s "model is overloaded")',
    scenario: {
      fault: { type: 'status', status: 503, message: 'The model is overloaded. Please try again later.' },
    },
    error: { kind: 'unavailable', retryable: true, status: 503 },
  },
  {
    name: 'HTTP 529',
    scenario: { fault: { type: 'status', status: 529 } },
    error: { kind: 'overloaded', retryable: true, status: 529 },
  },
  {
    name: 'HTTP 400 INVALID_ARGUMENT',
    scenario: { fault: { type: 'status', status: 400 } },
    error: { kind: 'invalid_request', retryable: false, status: 400 },
  },
  {
    name: 'HTTP 400 "API key not valid" → auth',
    scenario: {
      fault: { type: 'status', status: 400, message: 'API key not valid. Please pass a valid API key.' },
    },
    error: { kind: 'auth', retryable: false, status: 400 },
  },
  {
    name: 'HTTP 401 UNAUTHENTICATED',
    scenario: { fault: { type: 'status', status: 401 } },
    error: { kind: 'auth', retryable: false, status: 401 },
  },
  {
    name: 'HTTP 403 PERMISSION_DENIED',
    scenario: { fault: { type: 'status', status: 403 } },
    error: { kind: 'auth', retryable: false, status: 403 },
  },
  {
    name: 'HTTP 404 NOT_FOUND',
    scenario: { fault: { type: 'status', status: 404 } },
    error: { kind: 'not_found', retryable: false, status: 404 },
  },
  {
    name: 'reset before headers',
    scenario: { fault: { type: 'reset-before-headers' } },
    error: { kind: 'network', retryable: true },
  },
  {
    // The socket dies mid-body: fetch's body stream errors ("terminated"), which is a transport
    // failure, so `network` (retryable) rather than `incomplete` (a body that ENDED without its finish).
    // The reset may also discard frames the client had not read yet (TCP RST), so the events before it
    // are only a prefix of what was written.
    name: 'reset after 2 tokens',
    scenario: { text: 'one two three four', tokenDelayMs: 10, fault: { type: 'reset-after', tokens: 2 } },
    prefix: ['start', 'text', 'text'],
    error: { kind: 'network', retryable: true },
  },
  {
    name: 'in-stream error before any content (same kind as HTTP 503)',
    scenario: { fault: { type: 'error-event', tokens: 0, error: 'overloaded' } },
    types: [],
    error: { kind: 'unavailable', retryable: true, status: 503 },
  },
  {
    name: 'in-stream rate-limit error after content',
    scenario: { text: 'one two three', fault: { type: 'error-event', tokens: 2, error: 'rate_limit' } },
    types: ['start', 'text', 'text'],
    error: { kind: 'rate_limit', retryable: true, status: 429 },
  },
  {
    name: 'in-stream server error',
    scenario: { text: 'one two', fault: { type: 'error-event', tokens: 1, error: 'server' } },
    types: ['start', 'text'],
    error: { kind: 'unavailable', retryable: true, status: 500 },
  },
  {
    name: 'malformed chunk',
    scenario: { text: 'one two three', fault: { type: 'malformed', tokens: 1 } },
    types: ['start', 'text'],
    error: { kind: 'invalid_response', retryable: true },
  },
  {
    name: 'truncated body (no finishReason)',
    scenario: { text: 'one two three', fault: { type: 'truncate', tokens: 2 } },
    types: ['start', 'text', 'text'],
    error: { kind: 'incomplete', retryable: true },
  },
];

describe('gemini over the simulator, direct × sdk', () => {
  describe.each(cases)('$name', ({ scenario, events, types, prefix, error }) => {
    let results: Record<TransportName, Outcome>;
    beforeAll(async () => {
      results = await runBoth(scenario);
    });

    it.each(transports)('%s gives the expected outcome', (transport) => {
      const result = results[transport];
      if (events) expect(withoutResponseId(result.events)).toEqual(events);
      if (types) expect(result.events.map((e) => e.type)).toEqual(types);
      if (prefix) expect(prefix.slice(0, result.events.length)).toEqual(result.events.map((e) => e.type));
      if (error) {
        expect(result.error).toMatchObject({ ...error, provider: 'gemini', model: MODEL });
        if (!('retryAfterMs' in error)) expect(result.error?.retryAfterMs).toBeUndefined();
      } else {
        expect(result.error).toBeUndefined();
        expect(result.events.at(-1)?.type).toBe('finish');
      }
    });

    it('both transports give identical events and the same error', () => {
      const { direct, sdk } = results;
      if (!prefix) expect(withoutResponseId(sdk.events)).toEqual(withoutResponseId(direct.events));
      if (direct.error?.kind === 'network') {
        // Only the wording differs: the SDK rewraps connection errors in its own message.
        expect({ ...sdk.error, message: '' }).toEqual({ ...direct.error, message: '' });
      } else {
        expect(sdk.error).toEqual(direct.error);
      }
    });
  });

  it('reports length and content-filter finishes with the raw reason', async () => {
    const { direct } = await runBoth({ text: 'x', finish: 'length', usage });
    expect(direct.events.at(-1)).toMatchObject({ reason: 'length', raw: 'MAX_TOKENS' });
    const filtered = await runBoth({ text: 'x', finish: 'content-filter', usage });
    expect(filtered.sdk.events.at(-1)).toMatchObject({ reason: 'content-filter', raw: 'SAFETY' });
  });
});

describe('requests on the wire', () => {
  it('direct: POSTs the body to /v1beta/models/{model}:streamGenerateContent?alt=sse, key in a header only', async () => {
    const key = 'AIzaSyTEST-direct-key-0123456789';
    sim.enqueue({});
    const done = await run(
      gemini({ apiKey: key, baseURL: `${sim.url}/`, model: MODEL, headers: { 'x-extra': '1' } }).stream({
        ...request,
        messages: [{ role: 'system', content: 'Be brief.' }, ...request.messages],
        maxTokens: 16,
      }),
    );
    expect(done.error).toBeUndefined();
    const seen = sim.requests.at(-1);
    expect(seen?.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    expect(seen?.path).not.toContain(key);
    expect(seen?.headers['x-goog-api-key']).toBe(key);
    expect(seen?.headers['x-extra']).toBe('1');
    expect(seen?.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 16 },
    });
  });

  it('sdk: sends the same contents to the same path, honours apiVersion and a per-request model', async () => {
    sim.enqueue({});
    const flash = gemini({
      apiKey: 'sdk-key-123456',
      baseURL: sim.url,
      model: MODEL,
      transport: 'sdk',
      apiVersion: 'v1',
    });
    const done = await run(flash.stream({ ...request, model: 'gemini-2.5-flash' }));
    expect(done.events[0]).toMatchObject({ type: 'start', model: 'gemini-2.5-flash' });
    const seen = sim.requests.at(-1);
    expect(seen?.path).toBe('/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(seen?.model).toBe('gemini-2.5-flash');
    expect(seen?.headers['x-goog-api-key']).toBe('sdk-key-123456');
    expect(seen?.body).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
  });

  it('a GoogleGenerativeAI client implies the sdk transport and brings its own key', async () => {
    const client: GeminiClient = new GoogleGenerativeAI('client-key-123456');
    sim.enqueue({ text: 'from client' });
    const done = await run(gemini({ client, baseURL: sim.url, model: MODEL }).stream(request));
    expect(
      done.events
        .filter((e) => e.type === 'text')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('from client');
    expect(sim.requests.at(-1)?.headers['x-goog-api-key']).toBe('client-key-123456');
  });

  it.each(transports)(
    '%s: a missing key fails with auth on subscribe, before anything is sent',
    async (transport) => {
      vi.stubEnv('GOOGLE_API_KEY', '');
      vi.stubEnv('GEMINI_API_KEY', '');
      try {
        const sent = sim.requests.length;
        const flash = gemini({ baseURL: sim.url, model: MODEL, transport });
        const done = await run(flash.stream(request));
        expect(done.events).toEqual([]);
        expect(done.error).toMatchObject({ kind: 'auth', retryable: false, provider: 'gemini' });
        expect(done.error?.message).toContain('GOOGLE_API_KEY');
        expect(sim.requests.length).toBe(sent);
      } finally {
        vi.unstubAllEnvs();
      }
    },
  );

  it.each(transports)('%s: reads GEMINI_API_KEY when GOOGLE_API_KEY is unset', async (transport) => {
    vi.stubEnv('GOOGLE_API_KEY', '');
    vi.stubEnv('GEMINI_API_KEY', 'env-gemini-key-123456');
    try {
      sim.enqueue({});
      const done = await run(gemini({ baseURL: sim.url, model: MODEL, transport }).stream(request));
      expect(done.error).toBeUndefined();
      expect(sim.requests.at(-1)?.headers['x-goog-api-key']).toBe('env-gemini-key-123456');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each(transports)(
    '%s: an unnamed tool result fails with invalid_request before sending',
    async (transport) => {
      const sent = sim.requests.length;
      const done = await run(
        model(transport).stream({ messages: [{ role: 'tool', toolCallId: 'x', content: '1' }] }),
      );
      expect(done.error?.kind).toBe('invalid_request');
      expect(sim.requests.length).toBe(sent);
    },
  );
});

describe("Google's RetryInfo without a retry-after header", () => {
  const body = JSON.stringify({
    error: {
      code: 429,
      message: 'Resource has been exhausted (e.g. check quota).',
      status: 'RESOURCE_EXHAUSTED',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' },
      ],
    },
  });
  const respond = async (): Promise<Response> =>
    new Response(body, { status: 429, headers: { 'content-type': 'application/json' } });
  const expected = {
    kind: 'rate_limit',
    retryable: true,
    retryAfterMs: 7000,
    status: 429,
    message: 'gemini: Resource has been exhausted (e.g. check quota). (HTTP 429)',
  };

  it('direct: sets retryAfterMs from the body', async () => {
    const flash = gemini({ apiKey: 'test-key-123456', model: MODEL, fetch: respond });
    expect((await run(flash.stream(request))).error).toMatchObject(expected);
  });

  it('sdk: sets retryAfterMs from errorDetails (the SDK drops the headers)', async () => {
    vi.stubGlobal('fetch', respond);
    try {
      const flash = gemini({ apiKey: 'test-key-123456', model: MODEL, transport: 'sdk' });
      expect((await run(flash.stream(request))).error).toMatchObject(expected);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('cancellation', () => {
  it.each(transports)('%s: unsubscribing mid-stream aborts the request', async (transport) => {
    sim.enqueue({ text: 'a b c d e f g h i j k l m n o p', tokenDelayMs: 40 });
    const stream = model(transport).stream(request);
    const index = sim.requests.length;
    await firstValueFrom(stream.pipe(filter((e) => e.type === 'text')));
    const seen = sim.requests[index];
    await seen?.closed;
    expect(seen?.abortedByClient()).toBe(true);
  });

  it.each(transports)('%s: unsubscribing from a stalled stream closes the socket', async (transport) => {
    sim.enqueue({ text: 'one two three', fault: { type: 'stall', tokens: 1 } });
    const index = sim.requests.length;
    const events: TokenEvent[] = [];
    const subscription = model(transport)
      .stream(request)
      .subscribe((e) => events.push(e));
    await vi.waitFor(() => expect(events.some((e) => e.type === 'text')).toBe(true));
    subscription.unsubscribe();
    const seen = sim.requests[index];
    await seen?.closed;
    expect(seen?.abortedByClient()).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
  });
});

describe('no secrets in errors or events', () => {
  const SECRET = 'sk-test-SECRET-MARKER-123456';

  function causes(error: unknown): string[] {
    const out: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message, String(e.stack ?? ''));
    return out;
  }

  it.each(
    transports.flatMap((transport) =>
      [
        { type: 'status', status: 401 },
        { type: 'status', status: 400, message: 'API key not valid. Please pass a valid API key.' },
        { type: 'status', status: 500 },
        { type: 'reset-before-headers' },
      ].map((fault) => [transport, fault] as const),
    ),
  )('%s: %j', async (transport, fault) => {
    sim.enqueue({ fault: fault as Scenario['fault'] });
    const errors: unknown[] = [];
    const events: TokenEvent[] = [];
    await new Promise<void>((resolve) =>
      model(transport, SECRET)
        .stream(request)
        .subscribe({
          next: (e) => void events.push(e),
          error: (e: unknown) => {
            errors.push(e);
            resolve();
          },
          complete: resolve,
        }),
    );
    expect(errors).toHaveLength(1);
    const text = [...causes(errors[0]), JSON.stringify(errors[0]), JSON.stringify(events)].join('\n');
    expect(text).not.toContain(SECRET);
    expect(sim.requests.at(-1)?.path).not.toContain(SECRET);
  });
});
