import Anthropic from '@anthropic-ai/sdk';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { costOf, defaultCatalog } from '../../../src/core/catalog.js';
import { LLMError, type LLMErrorKind } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { ChatRequest } from '../../../src/core/request.js';
import { anthropic, type AnthropicOptions } from '../../../src/providers/anthropic/index.js';
import type { Transport } from '../../../src/providers/shared/options.js';
import { anthropicProtocol } from '../../../src/testing/simulator/protocols/anthropic.js';
import type { Scenario } from '../../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { allText } from './helpers.js';

const MODEL = 'claude-opus-4-5';
const KEY = 'sk-ant-test-key-0123456789';
const request: ChatRequest = { messages: [{ role: 'user', content: 'Say hello.' }] };

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [anthropicProtocol] });
});
afterAll(async () => {
  await sim.close();
});

interface Outcome {
  readonly events: TokenEvent[];
  readonly error?: LLMError;
}

function run(stream: Observable<TokenEvent>): Promise<Outcome> {
  const events: TokenEvent[] = [];
  return new Promise((resolve) => {
    stream.subscribe({
      next: (event) => void events.push(event),
      error: (error: unknown) => {
        expect(LLMError.isInstance(error)).toBe(true);
        resolve({ events, error: error as LLMError });
      },
      complete: () => resolve({ events }),
    });
  });
}

const model = (transport: Transport, extra: Partial<AnthropicOptions> = {}) =>
  anthropic({ apiKey: KEY, baseURL: sim.url, model: MODEL, transport, ...extra });

async function runScenario(transport: Transport, scenario: Scenario, req = request): Promise<Outcome> {
  sim.enqueue(scenario);
  return run(model(transport).stream(req));
}

const TRANSPORTS: readonly Transport[] = ['direct', 'sdk'];

/** Events with the response id dropped: each simulated response has its own. */
const withoutIds = (events: readonly TokenEvent[]): TokenEvent[] =>
  events.map((e) => (e.type === 'start' ? { ...e, id: e.id?.replace(/\d+$/, '#') } : e));
const texts = (events: readonly TokenEvent[]): string =>
  events.map((e) => (e.type === 'text' ? e.text : '')).join('');

interface Case {
  readonly name: string;
  readonly scenario: Scenario;
  readonly kind?: LLMErrorKind;
  readonly check?: (outcome: Outcome) => void;
  /** The events depend on socket timing: only the error is compared across transports. */
  readonly racy?: boolean;
}

const pricing = defaultCatalog.get('anthropic', MODEL)?.pricing;

const CASES: readonly Case[] = [
  {
    name: 'text (multi-byte)',
    scenario: { text: 'Hello ₂ 世界 🌈 there' },
    check: ({ events }) => {
      expect(events[0]).toEqual({
        type: 'start',
        provider: 'anthropic',
        model: MODEL,
        responseModel: MODEL,
        id: expect.stringMatching(/^msg_/),
      });
      expect(texts(events)).toBe('Hello ₂ 世界 🌈 there');
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop', raw: 'end_turn' });
    },
  },
  {
    name: 'tool calls',
    scenario: {
      text: 'Checking.',
      toolCalls: [
        { id: 'toolu_01A', name: 'get_weather', args: { city: 'Paris', unit: '°C' }, chunks: 4 },
        { id: 'toolu_01B', name: 'get_time', args: {} },
      ],
    },
    check: ({ events }) => {
      const calls = events.filter((e) => e.type === 'tool-call');
      expect(calls).toEqual([
        {
          type: 'tool-call',
          index: 0,
          id: 'toolu_01A',
          name: 'get_weather',
          args: { city: 'Paris', unit: '°C' },
          rawArgs: '{"city":"Paris","unit":"°C"}',
        },
        { type: 'tool-call', index: 1, id: 'toolu_01B', name: 'get_time', args: {}, rawArgs: '{}' },
      ]);
      const deltas = events.filter((e) => e.type === 'tool-call-delta' && e.index === 0);
      expect(deltas.map((d) => (d.type === 'tool-call-delta' ? d.argsDelta : '')).join('')).toBe(
        '{"city":"Paris","unit":"°C"}',
      );
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls', raw: 'tool_use' });
    },
  },
  {
    name: 'usage and cost (with cached prompt tokens)',
    scenario: { text: 'ok', usage: { inputTokens: 1200, outputTokens: 80, cachedInputTokens: 1000 } },
    check: ({ events }) => {
      const usage = { inputTokens: 1200, outputTokens: 80, cachedInputTokens: 1000 };
      expect(events.at(-2)).toEqual({ type: 'usage', usage });
      expect(events.at(-1)).toMatchObject({ type: 'finish', usage, cost: costOf(usage, pricing) });
      expect((events.at(-1) as { cost: { total: number } }).cost.total).toBeGreaterThan(0);
    },
  },
  {
    name: 'finish length',
    scenario: { finish: 'length' },
    check: ({ events }) => expect(events.at(-1)).toMatchObject({ reason: 'length', raw: 'max_tokens' }),
  },
  {
    name: 'finish refusal',
    scenario: { finish: 'content-filter' },
    check: ({ events }) => expect(events.at(-1)).toMatchObject({ reason: 'content-filter', raw: 'refusal' }),
  },
  {
    name: '429 with retry-after',
    scenario: { fault: { type: 'status', status: 429, retryAfter: 2 } },
    kind: 'rate_limit',
    check: ({ error }) => expect(error).toMatchObject({ status: 429, retryAfterMs: 2000, retryable: true }),
  },
  {
    name: '429 with retry-after-ms',
    scenario: { fault: { type: 'status', status: 429, retryAfterMs: 1500 } },
    kind: 'rate_limit',
    check: ({ error }) => expect(error?.retryAfterMs).toBe(1500),
  },
  { name: '500', scenario: { fault: { type: 'status', status: 500 } }, kind: 'unavailable' },
  { name: '503', scenario: { fault: { type: 'status', status: 503 } }, kind: 'unavailable' },
  {
    name: '529 overloaded',
    scenario: { fault: { type: 'status', status: 529 } },
    kind: 'overloaded',
    check: ({ error }) => expect(error).toMatchObject({ status: 529, retryable: true }),
  },
  {
    name: '400 invalid request',
    scenario: { fault: { type: 'status', status: 400 } },
    kind: 'invalid_request',
  },
  {
    name: '400 prompt too long',
    scenario: {
      fault: { type: 'status', status: 400, message: 'prompt is too long: 210000 tokens > 200000 maximum' },
    },
    kind: 'context_length',
  },
  {
    name: '401 auth',
    scenario: { fault: { type: 'status', status: 401, message: 'invalid x-api-key' } },
    kind: 'auth',
  },
  { name: '404 model', scenario: { fault: { type: 'status', status: 404 } }, kind: 'not_found' },
  { name: 'reset before headers', scenario: { fault: { type: 'reset-before-headers' } }, kind: 'network' },
  {
    // The socket dies mid-body: the fetch body read fails ("terminated", UND_ERR_SOCKET), which is a
    // network error, more precise than `incomplete`; both are retryable. Never a success. A fetch body
    // stream drops the bytes it had queued but not yet handed out when it errors, so how much of the
    // last token arrives is a race: the events are compared as a prefix, not across transports.
    name: 'reset after 2 tokens',
    scenario: {
      text: 'one two three four',
      firstTokenDelayMs: 15,
      tokenDelayMs: 15,
      fault: { type: 'reset-after', tokens: 2 },
    },
    kind: 'network',
    racy: true,
    check: ({ events, error }) => {
      expect(events[0]?.type).toBe('start');
      expect('one two'.startsWith(texts(events))).toBe(true);
      expect(events.some((e) => e.type === 'finish')).toBe(false);
      expect(error?.retryable).toBe(true);
    },
  },
  {
    name: 'error event before content (HTTP 200 then overloaded_error)',
    scenario: { fault: { type: 'error-event', tokens: 0, error: 'overloaded' } },
    kind: 'overloaded',
    check: ({ events, error }) => {
      expect(events.map((e) => e.type)).toEqual(['start']);
      expect(error?.retryable).toBe(true);
      expect(error?.status).toBeUndefined();
    },
  },
  {
    name: 'error event after 2 tokens',
    scenario: { text: 'one two three', fault: { type: 'error-event', tokens: 2, error: 'rate_limit' } },
    kind: 'rate_limit',
    check: ({ events }) => expect(texts(events)).toBe('one two'),
  },
  {
    name: 'error event api_error',
    scenario: { fault: { type: 'error-event', tokens: 1, error: 'server' } },
    kind: 'unavailable',
  },
  {
    name: 'error event invalid_request_error',
    scenario: { fault: { type: 'error-event', tokens: 1, error: 'invalid_request' } },
    kind: 'invalid_request',
  },
  {
    name: 'malformed chunk',
    scenario: { text: 'one two', fault: { type: 'malformed', tokens: 1 } },
    kind: 'invalid_response',
  },
  {
    name: 'truncated before message_stop',
    scenario: { text: 'one two three', fault: { type: 'truncate', tokens: 2 } },
    kind: 'incomplete',
    check: ({ events }) => expect(events.some((e) => e.type === 'finish')).toBe(false),
  },
];

describe('anthropic over the simulator: every scenario on both transports', () => {
  it.each(CASES)('$name', async ({ scenario, kind, check, racy }) => {
    const outcomes: Outcome[] = [];
    for (const transport of TRANSPORTS) {
      const outcome = await runScenario(transport, scenario);
      if (kind === undefined) {
        expect(outcome.error, `${transport}: ${outcome.error?.message}`).toBeUndefined();
        expect(outcome.events.at(-1)?.type).toBe('finish');
      } else {
        expect(outcome.error?.kind, transport).toBe(kind);
        expect(outcome.error).toMatchObject({ provider: 'anthropic', model: MODEL });
      }
      check?.(outcome);
      outcomes.push(outcome);
    }
    const [direct, sdk] = outcomes as [Outcome, Outcome];
    if (!racy) expect(withoutIds(sdk.events)).toEqual(withoutIds(direct.events));
    const shape = (e: LLMError | undefined) =>
      e && { kind: e.kind, retryable: e.retryable, status: e.status, retryAfterMs: e.retryAfterMs };
    expect(shape(sdk.error)).toEqual(shape(direct.error));
  });

  it.each(TRANSPORTS)(
    '%s sends POST /v1/messages with the key, the version header and max_tokens',
    async (transport) => {
      const before = sim.requests.length;
      await runScenario(transport, {});
      const sent = sim.requests[before];
      expect(sent?.method).toBe('POST');
      expect(sent?.path).toBe('/v1/messages');
      if (transport === 'direct') {
        expect(sent?.headers['x-api-key']).toBe(KEY);
        expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
      } else {
        // @anthropic-ai/sdk 1.x sends the key as a bearer token, with its own API version.
        expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`);
        expect(sent?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
      expect(sent?.body).toMatchObject({ model: MODEL, max_tokens: 64_000, stream: true });
    },
  );

  it.each(TRANSPORTS)('%s passes request.model and a prefill through', async (transport) => {
    const before = sim.requests.length;
    const { events } = await runScenario(
      transport,
      { text: ' three.' },
      {
        model: 'claude-haiku-4-5',
        messages: [
          { role: 'user', content: 'Count to three.' },
          { role: 'assistant', content: 'One, two,' },
        ],
      },
    );
    expect(sim.requests[before]?.body).toMatchObject({
      model: 'claude-haiku-4-5',
      messages: [
        { role: 'user', content: 'Count to three.' },
        { role: 'assistant', content: 'One, two,' },
      ],
    });
    expect(events[0]).toMatchObject({ type: 'start', model: 'claude-haiku-4-5' });
    expect(texts(events)).toBe(' three.');
  });

  it("a user's SDK client is used with its retries off (one request for a 529)", async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: sim.url, logLevel: 'off' });
    const before = sim.requests.length;
    sim.enqueue({ fault: { type: 'status', status: 529 } }, {});
    const { error } = await run(anthropic({ model: MODEL, client }).stream(request));
    expect(error?.kind).toBe('overloaded');
    expect(sim.requests.length).toBe(before + 1);
    // Drain the spare scenario so it does not leak into other tests.
    const ok = await run(anthropic({ model: MODEL, client }).stream(request));
    expect(ok.error).toBeUndefined();
  });
});

describe('anthropic cancellation', () => {
  it.each([
    ['direct', { text: 'a b c d e f g h i j k l m n o p', tokenDelayMs: 40 }],
    ['sdk', { text: 'a b c d e f g h i j k l m n o p', tokenDelayMs: 40 }],
    ['direct', { text: 'a b c', fault: { type: 'stall', tokens: 1 } }],
    ['sdk', { text: 'a b c', fault: { type: 'stall', tokens: 1 } }],
  ] as const)('%s: unsubscribing mid-stream closes the socket (%o)', async (transport, scenario) => {
    sim.enqueue(scenario as Scenario);
    const before = sim.requests.length;
    const stream = model(transport).stream(request);
    const events: TokenEvent[] = [];
    let settled = false;
    const first = new Promise<void>((resolve) => {
      const subscription = stream.subscribe({
        next: (event) => {
          events.push(event);
          if (event.type === 'text') {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: () => void (settled = true),
        complete: () => void (settled = true),
      });
    });
    await first;
    const sent = sim.requests[before];
    expect(sent).toBeDefined();
    await sent?.closed;
    expect(sent?.abortedByClient()).toBe(true);
    expect(settled).toBe(false);
    expect(events.filter((e) => e.type === 'text')).toHaveLength(1);
  });

  it('unsubscribing before the response opens aborts the request (both transports)', async () => {
    for (const transport of TRANSPORTS) {
      sim.enqueue({ text: 'late', firstTokenDelayMs: 5_000 });
      const before = sim.requests.length;
      const subscription = model(transport).stream(request).subscribe();
      await vi.waitFor(() => expect(sim.requests.length).toBe(before + 1));
      subscription.unsubscribe();
      await sim.requests[before]?.closed;
      expect(sim.requests[before]?.abortedByClient()).toBe(true);
    }
  });
});

describe('anthropic keys', () => {
  it.each(TRANSPORTS)('%s: no key → auth error on subscribe, nothing sent', async (transport) => {
    vi.stubEnv('ANTHROPIC_API_KEY', '');
    try {
      const before = sim.requests.length;
      const claude = anthropic({ model: MODEL, baseURL: sim.url, transport });
      const { events, error } = await run(claude.stream(request));
      expect(events).toEqual([]);
      expect(error?.kind).toBe('auth');
      expect(error?.message).toContain('ANTHROPIC_API_KEY');
      expect(sim.requests.length).toBe(before);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each(TRANSPORTS)('%s: reads ANTHROPIC_API_KEY from the environment', async (transport) => {
    vi.stubEnv('ANTHROPIC_API_KEY', 'sk-ant-from-env-123456789');
    try {
      const before = sim.requests.length;
      sim.enqueue({});
      const { error } = await run(anthropic({ model: MODEL, baseURL: sim.url, transport }).stream(request));
      expect(error).toBeUndefined();
      const headers = sim.requests[before]?.headers;
      expect(headers?.['x-api-key'] ?? headers?.authorization).toMatch(
        /(^|Bearer )sk-ant-from-env-123456789$/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each(TRANSPORTS)('%s: the key never appears in errors or events', async (transport) => {
    const MARKER = 'sk-test-SECRET-MARKER-123456';
    const claude = anthropic({ apiKey: MARKER, baseURL: sim.url, model: MODEL, transport });
    const scenarios: Scenario[] = [
      // A vendor that echoes the key back in its error message.
      { fault: { type: 'status', status: 401, message: `invalid x-api-key: ${MARKER}` } },
      { fault: { type: 'status', status: 500, message: `internal error for key ${MARKER}` } },
      { fault: { type: 'error-event', tokens: 1, error: 'server', message: `upstream failed (${MARKER})` } },
    ];
    for (const scenario of scenarios) {
      sim.enqueue(scenario);
      const { events, error } = await run(claude.stream(request));
      expect(error).toBeDefined();
      expect(allText(error)).not.toContain(MARKER);
      expect(JSON.stringify(error)).not.toContain(MARKER);
      expect(JSON.stringify(events)).not.toContain(MARKER);
    }
  });
});

describe('anthropic first event', () => {
  it('start is the first event: the model asked for, and the model that answered', async () => {
    sim.enqueue({ model: 'claude-opus-4-5-20251101' });
    const first = await firstValueFrom(
      model('direct')
        .stream(request)
        .pipe(filter((e) => e.type === 'start')),
    );
    expect(first).toMatchObject({
      provider: 'anthropic',
      model: MODEL,
      responseModel: 'claude-opus-4-5-20251101',
    });
  });
});
