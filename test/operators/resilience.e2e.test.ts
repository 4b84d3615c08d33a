import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import { fixedBackoff } from '../../src/operators/backoff.js';
import { type CircuitTransition, createCircuitBreaker } from '../../src/operators/createCircuitBreaker.js';
import { hedge } from '../../src/operators/hedge.js';
import { withCircuitBreaker } from '../../src/operators/withCircuitBreaker.js';
import { type MidStreamPolicy, withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { withTimeout } from '../../src/operators/withTimeout.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../src/testing/simulator/protocols/gemini.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import { createSimulator, type SimRequest, type Simulator } from '../../src/testing/simulator/server.js';

const request = { messages: [{ role: 'user' as const, content: 'Say something.' }] };
const TRANSPORTS = ['direct', 'sdk'] as const;
type Transport = (typeof TRANSPORTS)[number];

let sim: Simulator;

beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol, geminiProtocol] });
});
afterAll(() => sim.close());
beforeEach(() => sim.handle(undefined));

function providers(transport: Transport): {
  gpt: LanguageModel;
  claude: LanguageModel;
  flash: LanguageModel;
} {
  return {
    gpt: openai({ apiKey: 'sk-e2e-openai', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini', transport }),
    claude: anthropic({ apiKey: 'sk-e2e-anthropic', baseURL: sim.url, model: 'claude-haiku-4-5', transport }),
    flash: gemini({ apiKey: 'e2e-gemini-key', baseURL: sim.url, model: 'gemini-2.0-flash', transport }),
  };
}

/** Every simulator request made since `from` has had its connection closed. */
async function allClosed(from: number): Promise<void> {
  await Promise.all(sim.requests.slice(from).map((r) => r.closed));
}

/** Subscribes until the end; resolves with the events and the error (if any). */
function run(
  stream: ReturnType<LanguageModel['stream']>,
): Promise<{ events: TokenEvent[]; error?: LLMError }> {
  return new Promise((resolve) => {
    const events: TokenEvent[] = [];
    stream.subscribe({
      next: (e) => events.push(e),
      error: (error: unknown) => resolve({ events, error: error as LLMError }),
      complete: () => resolve({ events }),
    });
  });
}

const texts = (events: readonly TokenEvent[]): string =>
  events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');

describe.each(TRANSPORTS)('resilience end to end (%s transport)', (transport) => {
  /**
   * Three providers: OpenAI answers 529 (overloaded) every time, the second resets its connection after two
   * tokens, the third is healthy. Each is wrapped the recommended way (timeout, breaker, retry), then walked
   * by withFallback.
   */
  function pipeline(order: 'gemini-resets' | 'claude-resets', onMidStream: MidStreamPolicy): LanguageModel {
    const { gpt, claude, flash } = providers(transport);
    const breaker = createCircuitBreaker({ consecutiveFailures: 100 });
    const sturdy = (m: LanguageModel): LanguageModel =>
      m.pipe(
        withTimeout({ firstTokenMs: 5_000, idleMs: 2_000 }),
        withCircuitBreaker(breaker),
        withRetry({ maxAttempts: 2, backoff: fixedBackoff({ delayMs: 5 }) }),
      );
    const pool = order === 'gemini-resets' ? [gpt, flash, claude] : [gpt, claude, flash];
    const resetting = order === 'gemini-resets' ? 'gemini' : 'anthropic';
    sim.handle((req: SimRequest): Scenario => {
      if (req.protocol === 'openai') return { fault: { type: 'status', status: 529 } };
      if (req.protocol === resetting) {
        return { text: 'Partial answer that breaks', fault: { type: 'reset-after', tokens: 2 } };
      }
      return { text: req.protocol === 'anthropic' ? ' continues from Claude.' : 'Whole answer from Gemini.' };
    });
    return gpt.pipe(withFallback({ candidates: () => pool.map(sturdy), onMidStream }));
  }

  it("onMidStream 'error': the 529s are invisible but for a fallback event; the reset after content is passed on", async () => {
    const from = sim.requests.length;
    const { events, error } = await run(pipeline('gemini-resets', 'error').stream(request));
    expect(events.map((e) => e.type)).toEqual(['fallback', 'start', 'text', 'text']);
    expect(events[0]).toMatchObject({
      type: 'fallback',
      from: { provider: 'openai' },
      error: { kind: 'overloaded' },
    });
    expect(events[1]).toMatchObject({ type: 'start', provider: 'gemini' });
    expect(texts(events)).toBe('Partial answer');
    expect(['network', 'incomplete']).toContain(error?.kind);
    // OpenAI was tried twice (one retry), Gemini once (no retry after content), Claude never.
    expect(sim.requests.slice(from).map((r) => r.protocol)).toEqual(['openai', 'openai', 'gemini']);
    await allClosed(from);
  });

  it("onMidStream 'restart': a reset event, then the healthy provider's whole answer", async () => {
    const from = sim.requests.length;
    const { events, error } = await run(pipeline('claude-resets', 'restart').stream(request));
    expect(error).toBeUndefined();
    const types = events.map((e) => e.type);
    expect(types.slice(0, 5)).toEqual(['fallback', 'start', 'text', 'text', 'reset']);
    expect(types.slice(5, 6)).toEqual(['start']);
    expect(types.slice(-2)).toEqual(['usage', 'finish']);
    expect(events[4]).toMatchObject({ type: 'reset', from: { provider: 'anthropic' } });
    expect(events[5]).toMatchObject({ type: 'start', provider: 'gemini' });
    const done = await collect(pipeline('claude-resets', 'restart').stream(request));
    expect(done).toMatchObject({
      text: 'Whole answer from Gemini.',
      provider: 'gemini',
      finishReason: 'stop',
    });
    expect(done.failures.map((f) => f.from.provider)).toEqual(['openai', 'anthropic']);
    await allClosed(from);
  });

  it("onMidStream 'continue': the partial text is handed to a prefill-capable model, which streams the rest", async () => {
    const from = sim.requests.length;
    const { events, error } = await run(pipeline('gemini-resets', 'continue').stream(request));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type).slice(0, 6)).toEqual([
      'fallback',
      'start',
      'text',
      'text',
      'fallback',
      'start',
    ]);
    expect(events[4]).toMatchObject({ type: 'fallback', from: { provider: 'gemini' } });
    expect(events[5]).toMatchObject({ type: 'start', provider: 'anthropic' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(texts(events)).toBe('Partial answer continues from Claude.');
    const claudeCall = sim.requests.slice(from).find((r) => r.protocol === 'anthropic');
    const messages = (claudeCall?.body as { messages: { role: string; content: unknown }[] }).messages;
    expect(messages.at(-1)?.role).toBe('assistant');
    expect(JSON.stringify(messages.at(-1)?.content)).toContain('Partial answer');
    await allClosed(from);
  });

  it("onMidStream 'continue' restarts when the next model does not accept a prefill", async () => {
    const from = sim.requests.length;
    const done = await collect(pipeline('claude-resets', 'continue').stream(request));
    expect(done).toMatchObject({ text: 'Whole answer from Gemini.', provider: 'gemini' });
    await allClosed(from);
  });

  it('a stall is cut by the idle timeout (its socket closed), then the next provider answers', async () => {
    const { flash, claude } = providers(transport);
    sim.handle((req) =>
      req.protocol === 'gemini'
        ? { text: 'Stalls after this', fault: { type: 'stall', tokens: 1 } }
        : req.protocol === 'anthropic'
          ? { text: 'Claude answers.' }
          : undefined,
    );
    const bounded = (m: LanguageModel): LanguageModel => m.pipe(withTimeout({ idleMs: 400 }));
    const model = flash.pipe(
      withFallback({ candidates: () => [flash, claude].map(bounded), onMidStream: 'restart' }),
    );
    const from = sim.requests.length;
    const { events, error } = await run(model.stream(request));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type).slice(0, 4)).toEqual(['start', 'text', 'reset', 'start']);
    expect(events[2]).toMatchObject({
      type: 'reset',
      from: { provider: 'gemini' },
      error: { kind: 'timeout', phase: 'idle' },
    });
    expect(texts(events)).toBe('StallsClaude answers.');
    // The stalled response never ends on its own: its connection closing is the abort reaching the server.
    const stalled = sim.requests.slice(from).find((r) => r.protocol === 'gemini');
    expect(stalled).toBeDefined();
    await stalled?.closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(stalled?.abortedByClient()).toBe(true);
    await allClosed(from);
  });

  it('a breaker opens on failures, fails fast without a request, and recovers through a probe', async () => {
    const { gpt } = providers(transport);
    const breaker = createCircuitBreaker({ consecutiveFailures: 2, openMs: 150 });
    const transitions: string[] = [];
    const sub = breaker.state$.subscribe((t: CircuitTransition) =>
      transitions.push(`${t.from.state}>${t.to.state}`),
    );
    const guarded = gpt.pipe(withCircuitBreaker(breaker));
    let failing = true;
    sim.handle((req) =>
      req.protocol !== 'openai'
        ? undefined
        : failing
          ? { fault: { type: 'status', status: 503 } }
          : { text: 'Back.' },
    );
    const from = sim.requests.length;
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'unavailable' });
    const before = sim.requests.length;
    const fast = await collect(guarded.stream(request)).catch((e: unknown) => e);
    expect(fast).toMatchObject({ kind: 'circuit_open', retryable: false });
    expect((fast as LLMError).retryAfterMs).toBeGreaterThan(0);
    expect(sim.requests.length).toBe(before);
    failing = false;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await collect(guarded.stream(request))).text).toBe('Back.');
    expect(breaker.state(gpt)).toMatchObject({ state: 'closed' });
    expect(transitions).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
    sub.unsubscribe();
    await allClosed(from);
  });

  it('hedging: the slow first token starts the other provider; the winner streams, the loser is cancelled', async () => {
    const { gpt, claude } = providers(transport);
    sim.handle((req) =>
      req.protocol === 'openai'
        ? { text: 'Too slow.', firstTokenDelayMs: 5_000 }
        : req.protocol === 'anthropic'
          ? { text: 'Quick answer.' }
          : undefined,
    );
    const from = sim.requests.length;
    const done = await collect(gpt.pipe(hedge({ delayMs: 100, candidates: [claude] })).stream(request));
    expect(done).toMatchObject({ text: 'Quick answer.', provider: 'anthropic' });
    const loser = sim.requests.slice(from).find((r) => r.protocol === 'openai');
    expect(loser).toBeDefined();
    await loser?.closed;
    expect(loser?.abortedByClient()).toBe(true);
    await allClosed(from);
  });
});
