import OpenAI from 'openai';
import { filter, take } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { costOf, defaultCatalog } from '../../../src/core/catalog.js';
import type { LLMErrorKind } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { LanguageModel } from '../../../src/core/model.js';
import { openai, openaiCompatible } from '../../../src/providers/openai/index.js';
import { openaiProtocol } from '../../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { comparable, errorShape, outcome, type Outcome } from './run.js';

const request = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };
const MODEL = 'gpt-4o-mini';
const pricing = defaultCatalog.get('openai', MODEL)?.pricing;

let sim: Simulator;
let models: { direct: LanguageModel; sdk: LanguageModel };

beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol] });
  const common = { apiKey: 'sk-test-transport-key-0001', baseURL: `${sim.url}/v1`, model: MODEL };
  models = { direct: openai(common), sdk: openai({ ...common, transport: 'sdk' }) };
});
afterAll(() => sim.close());

type Check = (result: Outcome) => void;

const types = (r: Outcome): string[] => r.events.map((e) => e.type);
const fails =
  (kind: LLMErrorKind, more: (r: Outcome) => void = () => undefined): Check =>
  (r) => {
    expect(r.error?.kind).toBe(kind);
    more(r);
  };
const noEvents = (r: Outcome): void => expect(r.events).toEqual([]);
const noContent = (r: Outcome): void => expect(types(r)).toEqual(['start']);

const table: readonly (readonly [string, Scenario, Check])[] = [
  [
    'text',
    { text: 'The capital of France is Paris.' },
    (r) => {
      expect(r.error).toBeUndefined();
      expect(types(r)).toEqual(['start', ...Array<string>(6).fill('text'), 'usage', 'finish']);
      expect(
        r.events
          .filter((e) => e.type === 'text')
          .map((e) => e.text)
          .join(''),
      ).toBe('The capital of France is Paris.');
      expect(r.events[0]).toMatchObject({ type: 'start', provider: 'openai', model: MODEL });
      expect(r.events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop', raw: 'stop' });
    },
  ],
  [
    'tool calls',
    {
      text: 'Checking.',
      toolCalls: [
        { id: 'call_w', name: 'weather', args: { city: 'Paris', unit: '°C' }, chunks: 4 },
        { id: 'call_t', name: 'time', args: {} },
      ],
    },
    (r) => {
      expect(r.error).toBeUndefined();
      const calls = r.events.filter((e) => e.type === 'tool-call');
      expect(calls).toEqual([
        {
          type: 'tool-call',
          index: 0,
          id: 'call_w',
          name: 'weather',
          args: { city: 'Paris', unit: '°C' },
          rawArgs: '{"city":"Paris","unit":"°C"}',
        },
        { type: 'tool-call', index: 1, id: 'call_t', name: 'time', args: {}, rawArgs: '{}' },
      ]);
      // 4 pieces of the first call's arguments, 2 of the second's ("{}" cut in two).
      expect(r.events.filter((e) => e.type === 'tool-call-delta')).toHaveLength(6);
      expect(r.events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls', raw: 'tool_calls' });
    },
  ],
  [
    'usage and cost',
    { text: 'Paris.', usage: { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 200 } },
    (r) => {
      const usage = { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 200 };
      expect(r.events.at(-2)).toEqual({ type: 'usage', usage });
      expect(r.events.at(-1)).toEqual({
        type: 'finish',
        reason: 'stop',
        raw: 'stop',
        usage,
        cost: costOf(usage, pricing),
      });
      expect(pricing).toBeDefined();
    },
  ],
  [
    'finish length',
    { text: 'cut', finish: 'length' },
    (r) => expect(r.events.at(-1)).toMatchObject({ reason: 'length' }),
  ],
  [
    'finish content filter',
    { text: 'no', finish: 'content-filter' },
    (r) => expect(r.events.at(-1)).toMatchObject({ reason: 'content-filter', raw: 'content_filter' }),
  ],
  [
    '429 with retry-after',
    { fault: { type: 'status', status: 429, retryAfter: 2 } },
    fails('rate_limit', (r) => {
      noEvents(r);
      expect(r.error).toMatchObject({ retryable: true, retryAfterMs: 2000, status: 429 });
    }),
  ],
  [
    '429 with retry-after-ms',
    { fault: { type: 'status', status: 429, retryAfterMs: 150 } },
    fails('rate_limit', (r) => expect(r.error?.retryAfterMs).toBe(150)),
  ],
  [
    '429 insufficient quota',
    {
      fault: {
        type: 'status',
        status: 429,
        message: 'You exceeded your current quota, please check your plan.',
      },
    },
    fails('quota', (r) => expect(r.error?.retryable).toBe(false)),
  ],
  ['500', { fault: { type: 'status', status: 500 } }, fails('unavailable', noEvents)],
  ['503', { fault: { type: 'status', status: 503 } }, fails('unavailable', noEvents)],
  ['529', { fault: { type: 'status', status: 529 } }, fails('overloaded', noEvents)],
  ['400', { fault: { type: 'status', status: 400 } }, fails('invalid_request', noEvents)],
  [
    '401',
    { fault: { type: 'status', status: 401 } },
    fails('auth', (r) => {
      noEvents(r);
      expect(r.error?.retryable).toBe(false);
    }),
  ],
  ['404', { fault: { type: 'status', status: 404 } }, fails('not_found', noEvents)],
  ['reset before headers', { fault: { type: 'reset-before-headers' } }, fails('network', noEvents)],
  // The socket dies mid-body: fetch (and the SDK over it) reports a socket error (`terminated`,
  // UND_ERR_SOCKET), so `network` (retryable), never a success. The simulator destroys the socket in the
  // tick it writes the last frame, so that frame may be lost: only a prefix of the content is asserted.
  [
    'reset after 2 tokens',
    { text: 'one two three four', tokenDelayMs: 15, fault: { type: 'reset-after', tokens: 2 } },
    fails('network', (r) => {
      expect(['start,text', 'start,text,text']).toContain(types(r).join(','));
      expect(r.error?.retryable).toBe(true);
    }),
  ],
  [
    'error event before content',
    { fault: { type: 'error-event', tokens: 0, error: 'overloaded' } },
    fails('overloaded', (r) => {
      noContent(r);
      expect(r.error?.retryable).toBe(true);
    }),
  ],
  [
    'server error event before content',
    { fault: { type: 'error-event', tokens: 0, error: 'server' } },
    fails('unavailable', noContent),
  ],
  [
    'rate limit event after content',
    { text: 'a b c', fault: { type: 'error-event', tokens: 2, error: 'rate_limit' } },
    fails('rate_limit', (r) => expect(types(r)).toEqual(['start', 'text', 'text'])),
  ],
  [
    'invalid request event',
    { fault: { type: 'error-event', tokens: 0, error: 'invalid_request' } },
    fails('invalid_request', noContent),
  ],
  [
    'malformed chunk',
    { text: 'a b c', fault: { type: 'malformed', tokens: 1 } },
    fails('invalid_response', (r) => expect(types(r)).toEqual(['start', 'text'])),
  ],
  [
    'truncated body',
    { text: 'a b c', fault: { type: 'truncate', tokens: 2 } },
    fails('incomplete', (r) => expect(types(r)).toEqual(['start', 'text', 'text'])),
  ],
];

describe.each(['direct', 'sdk'] as const)('openai over %s', (transport) => {
  it.each(table)('%s', async (_name, scenario, check) => {
    sim.enqueue(scenario);
    check(await outcome(models[transport].stream(request)));
  });
});

describe('both transports agree', () => {
  it.each(table)('%s gives identical events and error', async (_name, scenario) => {
    sim.enqueue(scenario, scenario);
    const direct = await outcome(models.direct.stream(request));
    const sdk = await outcome(models.sdk.stream(request));
    expect(comparable(sdk.events)).toEqual(comparable(direct.events));
    expect(errorShape(sdk.error)).toEqual(errorShape(direct.error));
  });
});

describe('the request on the wire', () => {
  it.each(['direct', 'sdk'] as const)('%s sends the key, stream options and body', async (transport) => {
    const before = sim.requests.length;
    sim.enqueue({ text: 'ok' });
    await outcome(models[transport].stream({ ...request, maxTokens: 9 }));
    const sent = sim.requests[before];
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers.authorization).toBe('Bearer sk-test-transport-key-0001');
    expect(sent?.body).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 9,
    });
  });

  it('a renamed provider keeps OpenAI pricing and providerOptions.openai', async () => {
    const before = sim.requests.length;
    const usage = { inputTokens: 100, outputTokens: 10 };
    sim.enqueue({ text: 'ok', usage });
    const eu = openai({
      apiKey: 'sk-test-eu-key-000001',
      baseURL: `${sim.url}/v1`,
      model: MODEL,
      name: 'openai-eu',
    });
    const r = await outcome(eu.stream({ ...request, providerOptions: { openai: { seed: 1 } } }));
    expect(sim.requests[before]?.body).toMatchObject({ seed: 1 });
    expect(r.events[0]).toMatchObject({ provider: 'openai-eu' });
    expect(r.events.at(-1)).toMatchObject({ cost: costOf(usage, pricing) });
  });

  it('fails with auth on subscribe, sending nothing, when there is no key', async () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    try {
      const before = sim.requests.length;
      for (const transport of ['direct', 'sdk'] as const) {
        const model = openai({ baseURL: `${sim.url}/v1`, model: MODEL, transport });
        const r = await outcome(model.stream(request));
        expect(r.error?.kind).toBe('auth');
        expect(r.events).toEqual([]);
      }
      expect(sim.requests.length).toBe(before);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads OPENAI_API_KEY from the environment', async () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-test-from-env-000001');
    try {
      const before = sim.requests.length;
      sim.enqueue({ text: 'ok' });
      const r = await outcome(openai({ baseURL: `${sim.url}/v1`, model: MODEL }).stream(request));
      expect(r.error).toBeUndefined();
      expect(sim.requests[before]?.headers.authorization).toBe('Bearer sk-test-from-env-000001');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("uses a caller's client with its retries off", async () => {
    const client = new OpenAI({ apiKey: 'sk-test-client-key-01', baseURL: `${sim.url}/v1`, maxRetries: 5 });
    const before = sim.requests.length;
    sim.enqueue({ fault: { type: 'status', status: 500 } }, { text: 'should not be asked' });
    const r = await outcome(openai({ client, model: MODEL }).stream(request));
    expect(r.error?.kind).toBe('unavailable');
    expect(sim.requests.length).toBe(before + 1);
    sim.enqueue({ text: 'ok' });
    const ok = await outcome(openai({ client, model: MODEL }).stream(request));
    expect(ok.events.at(-1)?.type).toBe('finish');
    // Drain the scenario the client did not ask for.
    await outcome(models.direct.stream(request));
  });
});

describe('cancellation', () => {
  it.each(['direct', 'sdk'] as const)('%s: unsubscribing mid-stream closes the socket', async (transport) => {
    const before = sim.requests.length;
    sim.enqueue({ text: 'one two three four five six seven eight nine ten', tokenDelayMs: 40 });
    const first = new Promise<TokenEvent>((resolve, reject) => {
      const subscription = models[transport]
        .stream(request)
        .pipe(
          filter((e) => e.type === 'text'),
          take(1),
        )
        .subscribe({ next: resolve, error: reject });
      void subscription;
    });
    expect(await first).toEqual({ type: 'text', text: 'one' });
    const sent = sim.requests[before];
    await sent?.closed;
    expect(sent?.abortedByClient()).toBe(true);
  });

  it.each(['direct', 'sdk'] as const)(
    '%s: unsubscribing from a stalled stream closes the socket',
    async (transport) => {
      const before = sim.requests.length;
      sim.enqueue({ text: 'a b c', fault: { type: 'stall', tokens: 1 } });
      const events: TokenEvent[] = [];
      const subscription = models[transport].stream(request).subscribe((e) => events.push(e));
      await vi.waitFor(() => expect(events.some((e) => e.type === 'text')).toBe(true));
      subscription.unsubscribe();
      const sent = sim.requests[before];
      await sent?.closed;
      expect(sent?.abortedByClient()).toBe(true);
      expect(events.map((e) => e.type)).toEqual(['start', 'text']);
    },
  );
});

describe('no secrets', () => {
  const SECRET = 'sk-test-SECRET-MARKER-123456';

  function leaks(r: Outcome): string[] {
    const texts = [JSON.stringify(r.events), JSON.stringify(r.error?.toJSON())];
    for (let e: unknown = r.error; e instanceof Error; e = e.cause) texts.push(e.message, String(e.stack));
    return texts.filter((t) => t.includes(SECRET));
  }

  it.each(['direct', 'sdk'] as const)('%s: auth and server errors never carry the key', async (transport) => {
    const model = openai({ apiKey: SECRET, baseURL: `${sim.url}/v1`, model: MODEL, transport });
    sim.enqueue(
      { fault: { type: 'status', status: 401, message: `Incorrect API key provided: ${SECRET}.` } },
      { fault: { type: 'status', status: 500, message: `upstream rejected key ${SECRET}` } },
      {
        text: `echo ${SECRET}`.split(' '),
        fault: { type: 'error-event', tokens: 0, message: `bad ${SECRET}` },
      },
    );
    const results = [
      await outcome(model.stream(request)),
      await outcome(model.stream(request)),
      await outcome(model.stream(request)),
    ];
    expect(results.map((r) => r.error?.kind)).toEqual(['auth', 'unavailable', 'overloaded']);
    for (const r of results) expect(leaks(r)).toEqual([]);
  });
});

describe('openaiCompatible', () => {
  it.each(['direct', 'sdk'] as const)('%s: a keyless local server under another path', async (transport) => {
    const local = openaiCompatible({
      name: 'vllm',
      baseURL: `${sim.url}/openai/v1/`,
      model: 'Qwen/Qwen3-8B',
      transport,
      headers: { 'x-gateway': 'yes' },
      pricing: { input: 1, output: 2 },
    });
    const before = sim.requests.length;
    sim.enqueue({ text: 'Bonjour', usage: { inputTokens: 10, outputTokens: 1 } });
    const r = await outcome(
      local.stream({ ...request, maxTokens: 3, providerOptions: { vllm: { top_k: 5 } } }),
    );
    const sent = sim.requests[before];
    expect(sent?.path).toBe('/openai/v1/chat/completions');
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.headers['x-gateway']).toBe('yes');
    expect(sent?.body).toMatchObject({ max_tokens: 3, top_k: 5, stream_options: { include_usage: true } });
    expect(r.events[0]).toMatchObject({ type: 'start', provider: 'vllm', model: 'Qwen/Qwen3-8B' });
    expect(r.events.at(-1)).toEqual({
      type: 'finish',
      reason: 'stop',
      raw: 'stop',
      usage: { inputTokens: 10, outputTokens: 1 },
      cost: costOf({ inputTokens: 10, outputTokens: 1 }, { input: 1, output: 2 }),
    });
  });

  it.each(['direct', 'sdk'] as const)(
    '%s: includeUsage false completes without a usage chunk',
    async (transport) => {
      const groq = openaiCompatible({
        name: 'groq',
        baseURL: `${sim.url}/openai/v1`,
        apiKey: 'gsk_test_key_000000001',
        model: 'llama-3.3-70b-versatile',
        includeUsage: false,
        transport,
      });
      const before = sim.requests.length;
      sim.enqueue({ text: 'Hola' });
      const r = await outcome(groq.stream(request));
      expect(sim.requests[before]?.headers.authorization).toBe('Bearer gsk_test_key_000000001');
      expect(sim.requests[before]?.body).not.toHaveProperty('stream_options');
      expect(r.error).toBeUndefined();
      expect(r.events.map((e) => e.type)).toEqual(['start', 'text', 'usage', 'finish']);
      // Unknown usage is estimated from the request and the answer, never reported as 0/0.
      const finish = r.events.at(-1);
      expect(finish).toMatchObject({ usage: { estimated: true } });
      if (finish?.type !== 'finish') throw new Error('no finish');
      expect(finish.usage.inputTokens).toBeGreaterThan(0);
      expect(finish.usage.outputTokens).toBeGreaterThan(0);
    },
  );

  it('never sends OPENAI_API_KEY to another host', async () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-test-openai-env-key-01');
    try {
      for (const transport of ['direct', 'sdk'] as const) {
        const before = sim.requests.length;
        sim.enqueue({ text: 'ok' });
        await outcome(
          openaiCompatible({ name: 'x', baseURL: `${sim.url}/v1`, model: 'm', transport }).stream(request),
        );
        expect(sim.requests[before]?.headers.authorization).toBeUndefined();
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
