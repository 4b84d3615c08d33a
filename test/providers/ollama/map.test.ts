import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { OllamaChatChunk } from '../../../src/providers/ollama/chunks.js';
import { mapOllamaSdkError, streamFault } from '../../../src/providers/ollama/errors.js';
import { createOllamaMapper, mapDoneReason, mapUsage } from '../../../src/providers/ollama/map.js';
import { answerTally } from '../../../src/providers/shared/estimateUsage.js';

const fixture = readFileSync(new URL('../../fixtures/ollama/chat.ndjson', import.meta.url), 'utf8');
const ctx = { provider: 'ollama', model: 'llama3.2', pricing: { input: 0, output: 0 } };

function run(
  chunks: readonly OllamaChatChunk[],
  context: Parameters<typeof createOllamaMapper>[0] = ctx,
): { events: TokenEvent[]; error?: unknown } {
  const map = createOllamaMapper(context);
  const events: TokenEvent[] = [];
  const emit = (e: TokenEvent): void => void events.push(e);
  try {
    for (const chunk of chunks) if (!map.done) map.chunk(chunk, emit);
    map.end(emit);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const lines = (text: string): OllamaChatChunk[] =>
  text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as OllamaChatChunk);

const textChunk = (content: string): OllamaChatChunk => ({
  model: 'llama3.2',
  message: { role: 'assistant', content },
  done: false,
});
const doneChunk = (extra: Partial<OllamaChatChunk> = {}): OllamaChatChunk => ({
  model: 'llama3.2',
  message: { role: 'assistant', content: '' },
  done: true,
  done_reason: 'stop',
  prompt_eval_count: 10,
  eval_count: 5,
  ...extra,
});

describe('ollama mapper on the recorded stream', () => {
  it('maps the wire sample to exact events', () => {
    const { events, error } = run(lines(fixture));
    expect(error).toBeUndefined();
    const texts = lines(fixture)
      .map((c) => c.message?.content ?? '')
      .filter((t) => t.length > 0)
      .map((text) => ({ type: 'text', text }));
    expect(events).toEqual([
      { type: 'start', provider: 'ollama', model: 'llama3.2', responseModel: 'llama3.2' },
      ...texts,
      { type: 'usage', usage: { inputTokens: 32, outputTokens: 24 } },
      {
        type: 'finish',
        reason: 'stop',
        raw: 'stop',
        usage: { inputTokens: 32, outputTokens: 24 },
        cost: { input: 0, output: 0, total: 0 },
      },
    ]);
    const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
    expect(text).toBe(
      'The sky looks blue because of Rayleigh scattering: shorter wavelengths (<500 nm) scatter more than longer ones. 🌤️',
    );
  });

  it('computes cost from pricing', () => {
    const { events } = run(
      [textChunk('Hi'), doneChunk({ prompt_eval_count: 1_000_000, eval_count: 500_000 })],
      {
        ...ctx,
        pricing: { input: 1, output: 2 },
      },
    );
    expect(events.at(-1)).toMatchObject({ type: 'finish', cost: { input: 1, output: 1, total: 2 } });
  });

  it('costs nothing without pricing (an unknown local model)', () => {
    const { events } = run([textChunk('Hi'), doneChunk()], { ...ctx, pricing: undefined });
    expect(events.at(-1)).toMatchObject({ type: 'finish', cost: { input: 0, output: 0, total: 0 } });
  });

  it('emits thinking as reasoning, before the text of the same chunk', () => {
    const { events } = run([
      { model: 'qwen3', message: { role: 'assistant', content: '', thinking: 'Hmm, ' }, done: false },
      { model: 'qwen3', message: { role: 'assistant', content: 'Yes', thinking: 'ok.' }, done: false },
      doneChunk(),
    ]);
    expect(events.slice(0, 4)).toEqual([
      { type: 'start', provider: 'ollama', model: 'llama3.2', responseModel: 'qwen3' },
      { type: 'reasoning', text: 'Hmm, ' },
      { type: 'reasoning', text: 'ok.' },
      { type: 'text', text: 'Yes' },
    ]);
  });

  it('ignores lines after done: true', () => {
    const { events } = run([textChunk('a'), doneChunk(), textChunk('late')]);
    expect(events.filter((e) => e.type === 'text')).toEqual([{ type: 'text', text: 'a' }]);
  });
});

describe('mapDoneReason', () => {
  it.each([
    ['stop', false, 'stop'],
    ['stop', true, 'tool-calls'],
    [undefined, false, 'stop'],
    [undefined, true, 'tool-calls'],
    ['length', false, 'length'],
    ['length', true, 'length'],
    ['load', false, 'other'],
    ['unload', false, 'other'],
    ['whatever', false, 'other'],
  ] as const)('%s (tools: %s) → %s', (raw, tools, reason) => {
    const mapped = mapDoneReason(raw, tools);
    expect(mapped.reason).toBe(reason);
    expect(mapped.raw).toBe(raw);
  });

  it('finish carries the mapped reason', () => {
    const { events } = run([textChunk('a'), doneChunk({ done_reason: 'length' })]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', raw: 'length' });
  });
});

describe('mapUsage', () => {
  const source = { provider: 'ollama', model: 'llama3.2' };
  const request = { messages: [{ role: 'user' as const, content: 'Why is the sky blue? Answer briefly.' }] };
  it('reads prompt_eval_count and eval_count', () => {
    expect(
      mapUsage({ done: true, prompt_eval_count: 32, eval_count: 24 }, source, answerTally(request)),
    ).toEqual({
      inputTokens: 32,
      outputTokens: 24,
    });
  });
  it('estimates a missing count (a fully cached prompt) from the request: unknown is not 0', () => {
    const usage = mapUsage({ done: true, eval_count: 3 }, source, answerTally(request));
    expect(usage).toMatchObject({ outputTokens: 3, estimated: true });
    expect(usage.inputTokens).toBeGreaterThan(0);
  });
  it('rejects a count that is not a count', () => {
    const bad = { done: true, prompt_eval_count: '12', eval_count: 3 } as unknown as OllamaChatChunk;
    expect(() => mapUsage(bad, source, answerTally(request))).toThrow(/prompt_eval_count/);
  });
});

describe('tool calls', () => {
  it('turns each whole call into one delta and one call, with synthesized ids', () => {
    const { events } = run([
      {
        model: 'llama3.2',
        message: {
          role: 'assistant',
          content: '',
          tool_calls: [
            { function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } } },
            { function: { name: 'get_time', arguments: { tz: 'Europe/Paris' } } },
          ],
        },
        done: false,
      },
      {
        model: 'llama3.2',
        message: {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'call_xyz', function: { index: 0, name: 'lookup', arguments: '{"q":"x"}' } }],
        },
        done: false,
      },
      doneChunk(),
    ]);
    expect(events.slice(1, 7)).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'call_0',
        name: 'get_weather',
        argsDelta: '{"city":"Paris","unit":"C"}',
      },
      {
        type: 'tool-call',
        index: 0,
        id: 'call_0',
        name: 'get_weather',
        args: { city: 'Paris', unit: 'C' },
        rawArgs: '{"city":"Paris","unit":"C"}',
      },
      {
        type: 'tool-call-delta',
        index: 1,
        id: 'call_1',
        name: 'get_time',
        argsDelta: '{"tz":"Europe/Paris"}',
      },
      {
        type: 'tool-call',
        index: 1,
        id: 'call_1',
        name: 'get_time',
        args: { tz: 'Europe/Paris' },
        rawArgs: '{"tz":"Europe/Paris"}',
      },
      { type: 'tool-call-delta', index: 2, id: 'call_xyz', name: 'lookup', argsDelta: '{"q":"x"}' },
      { type: 'tool-call', index: 2, id: 'call_xyz', name: 'lookup', args: { q: 'x' }, rawArgs: '{"q":"x"}' },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls', raw: 'stop' });
  });

  it('string arguments that are not JSON → invalid_response', () => {
    const { error } = run([
      {
        message: {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'f', arguments: '{oops' } }],
        },
        done: false,
      },
    ]);
    expect(LLMError.isInstance(error) && error.kind).toBe('invalid_response');
  });
});

describe('failures', () => {
  it('a stream without done: true → incomplete, after the content it had', () => {
    const { events, error } = run([textChunk('Hello'), textChunk(' there')]);
    expect(LLMError.isInstance(error) && error.kind).toBe('incomplete');
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'text']);
  });

  it('an empty stream → incomplete, no events', () => {
    const { events, error } = run([]);
    expect(LLMError.isInstance(error) && error.kind).toBe('incomplete');
    expect(events).toEqual([]);
  });

  it('an error line before content → unavailable, retryable, no start', () => {
    const { events, error } = run([{ error: 'model runner has unexpectedly stopped' }]);
    expect(events).toEqual([]);
    expect(LLMError.isInstance(error) && [error.kind, error.retryable, error.provider]).toEqual([
      'unavailable',
      true,
      'ollama',
    ]);
  });

  it('an error line after content → the same kind', () => {
    const { events, error } = run([textChunk('Hi'), { error: 'server busy, please try again' }]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
    expect(LLMError.isInstance(error) && error.kind).toBe('unavailable');
  });

  it.each([
    ['Overloaded', 'unavailable'],
    ['Internal server error', 'unavailable'],
    ['server busy, please try again.  maximum pending requests exceeded', 'unavailable'],
    ['Rate limit exceeded', 'rate_limit'],
    ['Invalid request', 'invalid_request'],
    ['model "nope" not found, try pulling it first', 'not_found'],
    ['the input length exceeds the context length', 'context_length'],
    ['unauthorized', 'auth'],
  ])('in-stream %j → %s', (message, kind) => {
    expect(streamFault(message, { provider: 'ollama', model: 'm' }).kind).toBe(kind);
  });
});

describe('mapOllamaSdkError', () => {
  const c = { provider: 'ollama', model: 'llama3.2' };
  const responseError = (message: string, status: number): Error =>
    Object.assign(new Error(message), { name: 'ResponseError', error: message, status_code: status });

  it.each([
    [404, 'model "x" not found, try pulling it first', 'not_found'],
    [400, 'invalid options', 'invalid_request'],
    [401, 'unauthorized', 'auth'],
    [429, 'too many requests', 'rate_limit'],
    [500, 'boom', 'unavailable'],
    [503, 'server busy', 'unavailable'],
    [529, 'overloaded', 'overloaded'],
  ])('ResponseError %i → %s', (status, message, kind) => {
    const error = mapOllamaSdkError(responseError(message, status), c);
    expect([error.kind, error.status]).toEqual([kind, status]);
  });

  it('takes retry-after from the headers the transport kept', () => {
    const headers = new Headers({ 'retry-after': '3' });
    expect(mapOllamaSdkError(responseError('slow down', 429), c, { headers }).retryAfterMs).toBe(3000);
  });

  it('maps the SDK errors for truncation, in-stream errors, aborts and network failures', () => {
    expect(mapOllamaSdkError(new Error('Did not receive done or success response in stream.'), c).kind).toBe(
      'incomplete',
    );
    expect(mapOllamaSdkError(new Error('Rate limit exceeded'), c).kind).toBe('rate_limit');
    expect(mapOllamaSdkError(new Error('Overloaded'), c).kind).toBe('unavailable');
    expect(mapOllamaSdkError(new DOMException('aborted', 'AbortError'), c).kind).toBe('aborted');
    expect(mapOllamaSdkError(new TypeError('terminated'), c).kind).toBe('network');
    // The SDK throws a TypeError on a `null` line: the body broke the protocol.
    expect(mapOllamaSdkError(new TypeError('something odd'), c).kind).toBe('invalid_response');
  });
});
