import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costOf } from '../../../src/core/catalog.js';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { OpenAIChunk } from '../../../src/providers/openai/chunks.js';
import {
  createOpenAIMapper,
  mapFinishReason,
  mapUsage,
  openaiFrameDecoder,
  streamFault,
} from '../../../src/providers/openai/map.js';
import { toOpenAIRequest } from '../../../src/providers/openai/request.js';

const SAMPLE = readFileSync(new URL('../../fixtures/openai/openai-usage.sse', import.meta.url), 'utf8');
const ctx = { provider: 'openai', model: 'gpt-4.1-mini', pricing: { input: 0.4, output: 1.6 } };

/** The `data` payloads of an SSE text (the sample has one data line per event). */
function frames(sse: string): string[] {
  return sse
    .split(/\r?\n\r?\n/)
    .map((block) => block.replace(/^data: /, ''))
    .filter((data) => data.length > 0);
}

/** Runs frames through decoder + mapper, as the direct transport does. */
function run(data: readonly string[], includeUsage = true): { events: TokenEvent[]; error?: LLMError } {
  const events: TokenEvent[] = [];
  const emit = (e: TokenEvent): void => void events.push(e);
  const map = createOpenAIMapper(ctx, { includeUsage });
  const decode = openaiFrameDecoder(map, ctx);
  try {
    for (const d of data) {
      if (map.done) continue;
      const chunk = decode(d);
      if (chunk !== undefined) map.chunk(chunk, emit);
    }
    map.end(emit);
    return { events };
  } catch (error) {
    if (!LLMError.isInstance(error)) throw error;
    return { events, error };
  }
}

const chunk = (choices: OpenAIChunk['choices'], extra: Partial<OpenAIChunk> = {}): string =>
  JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices, ...extra });
const delta = (d: object, finish: string | null = null): string =>
  chunk([{ index: 0, delta: d, finish_reason: finish }]);
const usage = (prompt = 10, completion = 5): string =>
  chunk([], { usage: { prompt_tokens: prompt, completion_tokens: completion } });

describe('OpenAI mapper on the recorded sample', () => {
  it('gives the exact events', () => {
    const { events, error } = run(frames(SAMPLE));
    expect(error).toBeUndefined();
    const usage = { inputTokens: 19, outputTokens: 7 };
    expect(events).toEqual([
      {
        type: 'start',
        provider: 'openai',
        model: 'gpt-4.1-mini',
        id: 'chatcmpl-BbW8tQm2LsN4vYk0Jx7RfHa1CzPdU',
        responseModel: 'gpt-4.1-mini-2025-04-14',
      },
      ...['The', ' capital', ' of', ' France', ' is', ' Paris', '.'].map((text) => ({ type: 'text', text })),
      { type: 'usage', usage },
      {
        type: 'finish',
        reason: 'stop',
        raw: 'stop',
        usage,
        cost: costOf(usage, ctx.pricing),
      },
    ]);
  });

  it('is incomplete when the body ends before the usage chunk, or before the finish', () => {
    const all = frames(SAMPLE);
    const beforeUsage = all.slice(
      0,
      all.findIndex((d) => d.includes('"usage":{')),
    );
    expect(run(beforeUsage).error?.kind).toBe('incomplete');
    expect(run(beforeUsage).error?.message).toMatch(/usage chunk or \[DONE\]/);
    expect(run(all.slice(0, 5)).error?.kind).toBe('incomplete');
    expect(run(all.slice(0, 5)).error?.message).toMatch(/finish_reason/);
  });

  it('is complete with [DONE] after the finish and no usage chunk: usage estimated, not zero', () => {
    const all = frames(SAMPLE);
    const withoutUsage = all.filter((d) => !d.includes('"usage":{'));
    expect(withoutUsage.at(-1)).toBe('[DONE]');
    const { events, error } = run(withoutUsage);
    expect(error).toBeUndefined();
    const finish = events.at(-1);
    expect(finish).toMatchObject({ type: 'finish', reason: 'stop', usage: { estimated: true } });
    if (finish?.type !== 'finish') throw new Error('no finish');
    expect(finish.usage.outputTokens).toBeGreaterThan(0);
    expect(events.at(-2)).toEqual({ type: 'usage', usage: finish.usage });
  });

  it('completes without usage when none was asked for', () => {
    const { events, error } = run([delta({ content: 'hi' }), delta({}, 'stop'), '[DONE]'], false);
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      usage: { inputTokens: 0, outputTokens: 1, estimated: true },
    });
  });

  it('ignores frames after [DONE]', () => {
    const { events, error } = run([
      delta({ content: 'a' }),
      delta({}, 'stop'),
      usage(),
      '[DONE]',
      delta({ content: 'late' }),
      'not json',
    ]);
    expect(error).toBeUndefined();
    expect(events.filter((e) => e.type === 'text')).toEqual([{ type: 'text', text: 'a' }]);
  });

  it('reports one usage, the last, for servers that send running usage', () => {
    const { events } = run([
      chunk([{ index: 0, delta: { content: 'a' } }], { usage: { prompt_tokens: 3, completion_tokens: 1 } }),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], {
        usage: { prompt_tokens: 3, completion_tokens: 2 },
      }),
    ]);
    expect(events.filter((e) => e.type === 'usage')).toEqual([
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 2 } },
    ]);
    expect(events.at(-1)?.type).toBe('finish');
  });
});

describe('mapFinishReason', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool_calls', 'tool-calls'],
    ['function_call', 'tool-calls'],
    ['content_filter', 'content-filter'],
    ['eos', 'other'],
    ['insufficient_system_resource', 'other'],
  ])('%s → %s', (raw, reason) => {
    expect(mapFinishReason(raw)).toEqual({ reason, raw });
  });
});

describe('mapUsage', () => {
  it('maps counts, cached and reasoning tokens', () => {
    expect(
      mapUsage(
        {
          prompt_tokens: 100,
          completion_tokens: 50,
          total_tokens: 150,
          prompt_tokens_details: { cached_tokens: 64 },
          completion_tokens_details: { reasoning_tokens: 30 },
        },
        ctx,
      ),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cachedInputTokens: 64, reasoningTokens: 30 });
  });
  it('leaves zero and missing details out', () => {
    expect(
      mapUsage(
        {
          prompt_tokens: 1,
          completion_tokens: 2,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: null,
        },
        ctx,
      ),
    ).toEqual({ inputTokens: 1, outputTokens: 2 });
  });
  it('prices cached tokens at the cached price', () => {
    const map = createOpenAIMapper({ ...ctx, pricing: { input: 1, output: 1, cachedInput: 0.1 } });
    const events: TokenEvent[] = [];
    const emit = (e: TokenEvent): void => void events.push(e);
    map.chunk(JSON.parse(delta({}, 'stop')) as OpenAIChunk, emit);
    map.chunk(
      {
        usage: { prompt_tokens: 1000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 1000 } },
      },
      emit,
    );
    expect(map.done).toBe(true);
    map.end(emit);
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      usage: { inputTokens: 1000, outputTokens: 0, cachedInputTokens: 1000 },
      cost: { input: 0.0001, output: 0, total: 0.0001 },
    });
  });
});

describe('tool calls', () => {
  const toolFrames = [
    delta({
      role: 'assistant',
      content: null,
      tool_calls: [
        { index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } },
      ],
    }),
    delta({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
    delta({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
    delta({
      tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } }],
    }),
    delta({}, 'tool_calls'),
    usage(),
    '[DONE]',
  ];

  it('assembles deltas by index and emits each call when the finish arrives', () => {
    const { events, error } = run(toolFrames);
    expect(error).toBeUndefined();
    expect(events.slice(1)).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', argsDelta: '' },
      { type: 'tool-call-delta', index: 0, argsDelta: '{"ci' },
      { type: 'tool-call-delta', index: 0, argsDelta: 'ty":"Paris"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', argsDelta: '{}' },
      {
        type: 'tool-call',
        index: 0,
        id: 'call_a',
        name: 'weather',
        args: { city: 'Paris' },
        rawArgs: '{"city":"Paris"}',
      },
      { type: 'tool-call', index: 1, id: 'call_b', name: 'time', args: {}, rawArgs: '{}' },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 5 } },
      {
        type: 'finish',
        reason: 'tool-calls',
        raw: 'tool_calls',
        usage: { inputTokens: 10, outputTokens: 5 },
        cost: expect.any(Object),
      },
    ]);
  });

  it('accepts a whole call in one delta, repeated ids, and empty arguments', () => {
    const { events } = run([
      delta({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'now', arguments: '' } }] }),
      delta({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'now', arguments: '' } }] }),
      delta({}, 'tool_calls'),
      usage(),
    ]);
    expect(events.filter((e) => e.type === 'tool-call')).toEqual([
      { type: 'tool-call', index: 0, id: 'c1', name: 'now', args: {}, rawArgs: '' },
    ]);
    expect(events.filter((e) => e.type === 'tool-call-delta')).toHaveLength(1);
  });

  it('fails with invalid_response on arguments that are not JSON', () => {
    const { error } = run([
      delta({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a":' } }] }),
      delta({}, 'tool_calls'),
    ]);
    expect(error?.kind).toBe('invalid_response');
  });
});

describe('reasoning, refusals and errors in the stream', () => {
  it('maps reasoning_content and reasoning to reasoning events, refusals to the finish', () => {
    const { events } = run([
      delta({ role: 'assistant', reasoning_content: 'think' }),
      delta({ reasoning: 'more' }),
      delta({ refusal: "I can't help with that." }),
      delta({}, 'stop'),
      usage(),
    ]);
    expect(events.slice(1, 3)).toEqual([
      { type: 'reasoning', text: 'think' },
      { type: 'reasoning', text: 'more' },
    ]);
    expect(events.some((e) => e.type === 'text')).toBe(false);
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      reason: 'content-filter',
      raw: 'refusal',
      refusal: "I can't help with that.",
    });
  });

  it.each([
    [{ message: 'Overloaded', type: 'overloaded_error', param: null, code: null }, 'overloaded'],
    [{ message: 'oops', type: 'server_error', param: null, code: null }, 'unavailable'],
    [{ message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' }, 'rate_limit'],
    [{ message: 'bad', type: 'invalid_request_error', param: null, code: null }, 'invalid_request'],
    [{ message: 'bad', type: 'BadRequestError', param: null, code: 400 }, 'invalid_request'],
    [{ message: 'boom', type: 'InternalServerError', param: null, code: 500 }, 'unavailable'],
    [
      { message: 'too long', type: 'invalid_request_error', code: 'context_length_exceeded' },
      'context_length',
    ],
    ['plain text error', 'invalid_response'],
  ])('an error chunk %j → %s, before any start', (payload, kind) => {
    const { events, error } = run([JSON.stringify({ error: payload })]);
    expect(events).toEqual([]);
    expect(error?.kind).toBe(kind);
    expect(error?.provider).toBe('openai');
  });

  it('an error chunk after content fails the stream', () => {
    const { events, error } = run([
      delta({ content: 'a' }),
      JSON.stringify({ error: { message: 'x', type: 'server_error' } }),
    ]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
    expect(error?.kind).toBe('unavailable');
    expect(error?.retryable).toBe(true);
  });

  it("vLLM's top-level error object", () => {
    const { error } = run([
      JSON.stringify({ object: 'error', message: 'nope', type: 'NotFoundError', code: 404 }),
    ]);
    expect(error?.kind).toBe('not_found');
  });

  it('a frame that is not JSON is invalid_response', () => {
    expect(run([delta({ content: 'a' }), '{"choices":[']).error?.kind).toBe('invalid_response');
  });

  it('streamFault keeps numeric codes as the status', () => {
    expect(streamFault({ message: 'm', code: 503 }, ctx)).toMatchObject({ kind: 'unavailable', status: 503 });
  });
});

describe('toOpenAIRequest', () => {
  const base = {
    model: 'gpt-4o',
    includeUsage: true,
    maxTokensField: 'max_completion_tokens',
    optionsKey: 'openai',
  } as const;

  it('maps every field', () => {
    const body = toOpenAIRequest(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', url: 'https://x/y.png' },
              { type: 'image', data: 'AAAA', mediaType: 'image/jpeg' },
            ],
          },
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'look', args: { q: 1 } }] },
          { role: 'tool', toolCallId: 'c1', content: 'a cat' },
          { role: 'assistant', content: 'A cat.' },
        ],
        tools: [{ name: 'look', description: 'Looks', parameters: { type: 'object' } }],
        toolChoice: { name: 'look' },
        temperature: 0.2,
        topP: 0.9,
        stop: ['END'],
        maxTokens: 100,
        responseFormat: { type: 'json', schema: { type: 'object' }, name: 'answer' },
        providerOptions: { openai: { seed: 7, temperature: 0 }, other: { x: 1 } },
      },
      base,
    );
    expect(body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'look', arguments: '{"q":1}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'a cat' },
        { role: 'assistant', content: 'A cat.' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        {
          type: 'function',
          function: { name: 'look', description: 'Looks', parameters: { type: 'object' } },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'look' } },
      temperature: 0,
      top_p: 0.9,
      stop: ['END'],
      max_completion_tokens: 100,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } },
      seed: 7,
    });
  });

  it('uses max_tokens and json_object for compatible servers, and omits stream_options when asked', () => {
    const body = toOpenAIRequest(
      {
        messages: [{ role: 'user', content: 'hi' }],
        maxTokens: 5,
        responseFormat: { type: 'json' },
        toolChoice: 'required',
      },
      { ...base, includeUsage: false, maxTokensField: 'max_tokens', optionsKey: 'groq' },
    );
    expect(body).toEqual({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      max_tokens: 5,
      tool_choice: 'required',
      response_format: { type: 'json_object' },
    });
  });

  it('rejects an image without url or data', () => {
    expect(() =>
      toOpenAIRequest({ messages: [{ role: 'user', content: [{ type: 'image' }] }] }, base),
    ).toThrow(/image/);
  });
});
