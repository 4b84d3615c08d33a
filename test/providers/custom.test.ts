import { filter, take } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { ZERO_COST, type TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import { customModel, sseSource, type SseMapResult } from '../../src/providers/custom.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { outcome } from './openai/run.js';

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
/** One macrotask: a source that yields between tokens, without waiting on the wall clock. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('customModel over a function', () => {
  it('turns strings into text and synthesizes start and finish', async () => {
    const model = customModel({
      provider: 'echo',
      model: 'v1',
      source: async function* () {
        yield 'Hello';
        yield '';
        yield ' world';
      },
    });
    const { events, error } = await outcome(model.stream(request));
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'start', provider: 'echo', model: 'v1' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' world' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 0, outputTokens: 0 }, cost: ZERO_COST },
    ]);
  });

  it('keeps the source’s own start, usage (priced) and finish, and ignores what follows finish', async () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    const model = customModel({
      provider: 'p',
      model: 'm',
      pricing: { input: 1, output: 2 },
      source: async function* () {
        yield { type: 'start', provider: 'p', model: 'm', id: 'r1' };
        yield { type: 'reasoning', text: 'hm' };
        yield 'ok';
        yield { type: 'usage', usage };
      },
    });
    const { events } = await outcome(model.stream(request));
    expect(events).toEqual([
      { type: 'start', provider: 'p', model: 'm', id: 'r1' },
      { type: 'reasoning', text: 'hm' },
      { type: 'text', text: 'ok' },
      { type: 'usage', usage },
      { type: 'finish', reason: 'stop', usage, cost: { input: 1, output: 2, total: 3 } },
    ]);

    let after = false;
    let cleaned = false;
    const explicit = customModel({
      provider: 'p',
      model: 'm',
      source: async function* () {
        try {
          yield 'a';
          yield {
            type: 'finish',
            reason: 'length',
            raw: 'max',
            usage: { inputTokens: 1, outputTokens: 1 },
            cost: ZERO_COST,
          };
          after = true;
          yield 'late';
        } finally {
          cleaned = true;
        }
      },
    });
    const done = await collect(explicit.stream(request));
    expect(done.text).toBe('a');
    expect(done.finishReason).toBe('length');
    expect(after).toBe(false);
    expect(cleaned).toBe(true);
  });

  it('fails with the thrown error as an LLMError', async () => {
    const model = customModel({
      provider: 'p',
      model: 'm',
      source: async function* () {
        yield 'a';
        throw new LLMError('rate_limit', 'slow down');
      },
    });
    const { events, error } = await outcome(model.stream(request));
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
    expect(error).toMatchObject({ kind: 'rate_limit', provider: 'p', model: 'm' });

    const plain = customModel({
      provider: 'p',
      model: 'm',
      source: () => {
        throw new Error('boom');
      },
    });
    expect((await outcome(plain.stream(request))).error?.kind).toBe('unknown');
  });

  it('aborts the signal and returns the iterator on unsubscribe', async () => {
    let signal: AbortSignal | undefined;
    let cleaned = false;
    const model = customModel({
      provider: 'p',
      model: 'm',
      source: async function* (_request, s) {
        signal = s;
        try {
          for (let i = 0; ; i++) {
            await tick();
            yield `t${i}`;
          }
        } finally {
          cleaned = true;
        }
      },
    });
    const first = await new Promise<TokenEvent>((resolve) => {
      model
        .stream(request)
        .pipe(
          filter((e) => e.type === 'text'),
          take(1),
        )
        .subscribe(resolve);
    });
    expect(first).toEqual({ type: 'text', text: 't0' });
    expect(signal?.aborted).toBe(true);
    // The generator's `finally` runs once its pending `await` settles.
    await vi.waitFor(() => expect(cleaned).toBe(true));
  });

  it('is cold: each subscription runs the source again', async () => {
    let runs = 0;
    const model = customModel({
      provider: 'p',
      model: 'm',
      source: async function* () {
        runs++;
        yield 'x';
      },
    });
    const s = model.stream(request);
    expect(runs).toBe(0);
    await collect(s);
    await collect(s);
    expect(runs).toBe(2);
  });
});

describe('customModel over an SSE endpoint', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await createSimulator({ protocols: [openaiProtocol] });
  });
  afterAll(() => sim.close());

  /** Maps OpenAI's frames by hand, as a user would map their own endpoint's frames. */
  const map = (data: string): SseMapResult => {
    if (data === '[DONE]') {
      return { type: 'finish', reason: 'stop', usage: { inputTokens: 0, outputTokens: 0 }, cost: ZERO_COST };
    }
    const chunk = JSON.parse(data) as {
      error?: { message: string };
      choices?: { delta?: { content?: string | null } }[];
    };
    if (chunk.error) throw new LLMError('overloaded', chunk.error.message);
    return chunk.choices?.[0]?.delta?.content ?? undefined;
  };
  const model = (): ReturnType<typeof customModel> =>
    customModel({
      provider: 'mine',
      model: 'sse',
      source: sseSource({
        url: `${sim.url}/v1/chat/completions`,
        headers: { authorization: 'Bearer my-internal-token-0001' },
        body: (r) => ({ model: 'sse', messages: r.messages, stream: true }),
        map,
      }),
    });

  it('maps frames and completes on the mapped finish', async () => {
    const before = sim.requests.length;
    sim.enqueue({ text: 'Ça coûte 5 €' });
    const { events, error } = await outcome(model().stream(request));
    expect(error).toBeUndefined();
    expect(events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('')).toBe('Ça coûte 5 €');
    expect(events[0]).toEqual({ type: 'start', provider: 'mine', model: 'sse' });
    expect(events.at(-1)?.type).toBe('finish');
    expect(sim.requests[before]?.headers.authorization).toBe('Bearer my-internal-token-0001');
    expect(sim.requests[before]?.body).toMatchObject({ model: 'sse', stream: true });
  });

  it('fails as incomplete when the body ends without the mapped finish', async () => {
    sim.enqueue({ text: 'a b c', fault: { type: 'truncate', tokens: 2 } });
    const { events, error } = await outcome(model().stream(request));
    expect(error?.kind).toBe('incomplete');
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'text']);
  });

  it('classifies HTTP errors and passes the map function’s errors on', async () => {
    sim.enqueue(
      { fault: { type: 'status', status: 429, retryAfter: 3 } },
      { fault: { type: 'error-event', tokens: 1, message: 'busy' } },
    );
    const limited = await outcome(model().stream(request));
    expect(limited.error).toMatchObject({ kind: 'rate_limit', retryAfterMs: 3000, provider: 'mine' });
    const busy = await outcome(model().stream(request));
    expect(busy.error).toMatchObject({ kind: 'overloaded', provider: 'mine', model: 'sse' });
  });

  it('never leaks the header token into errors', async () => {
    sim.enqueue({ fault: { type: 'status', status: 401, message: 'bad token my-internal-token-0001' } });
    const { error } = await outcome(model().stream(request));
    expect(error?.kind).toBe('auth');
    expect(error?.message).not.toContain('my-internal-token-0001');
  });

  it('closes the socket on unsubscribe', async () => {
    const before = sim.requests.length;
    sim.enqueue({ text: 'a b c', fault: { type: 'stall', tokens: 1 } });
    const first = await new Promise<TokenEvent>((resolve) => {
      model()
        .stream(request)
        .pipe(
          filter((e) => e.type === 'text'),
          take(1),
        )
        .subscribe(resolve);
    });
    expect(first).toEqual({ type: 'text', text: 'a' });
    const sent = sim.requests[before];
    await sent?.closed;
    expect(sent?.abortedByClient()).toBe(true);
  });
});
