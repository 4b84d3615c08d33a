import { describe, expect, it } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import type { AnthropicChunk } from '../../../src/providers/anthropic/chunks.js';
import {
  anthropicFrameDecoder,
  mapStopReason,
  mapUsage,
  streamError,
} from '../../../src/providers/anthropic/map.js';
import { chunksOf, mapChunks, SAMPLE_SSE } from './helpers.js';

const PRICING = { input: 3, output: 15, cachedInput: 0.3 };

const start = (id = 'msg_1', usage = { input_tokens: 10, output_tokens: 1 }): AnthropicChunk => ({
  type: 'message_start',
  message: { id, model: 'claude-sonnet-4-5-20250929', usage },
});
const stop = (reason: string, output = 5): AnthropicChunk[] => [
  {
    type: 'message_delta',
    delta: { stop_reason: reason, stop_sequence: null },
    usage: { output_tokens: output },
  },
  { type: 'message_stop' },
];

describe('anthropic mapper on the recorded wire sample', () => {
  it('maps the sample to the exact events', () => {
    const { events, error } = mapChunks(chunksOf(SAMPLE_SSE), { pricing: PRICING });
    expect(error).toBeUndefined();
    const usage = { inputTokens: 19, outputTokens: 31 };
    expect(events).toEqual([
      {
        type: 'start',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        responseModel: 'claude-sonnet-4-5-20250929',
        id: 'msg_01Hq7VxK3mT9pRwL2nZbYc8F',
      },
      { type: 'text', text: 'Rain' },
      { type: 'text', text: 'bows appear when sunlight' },
      { type: 'text', text: ' enters water droplets, bends, reflects off' },
      { type: 'text', text: ' the back of each drop, and splits into its component' },
      { type: 'text', text: ' colors on the way out.' },
      { type: 'usage', usage },
      {
        type: 'finish',
        reason: 'stop',
        raw: 'end_turn',
        usage,
        cost: { input: (19 * 3) / 1e6, output: (31 * 15) / 1e6, total: (19 * 3 + 31 * 15) / 1e6 },
      },
    ]);
  });

  it('ends with incomplete when the body stops before message_stop, at every cut', () => {
    const chunks = chunksOf(SAMPLE_SSE);
    for (let cut = 0; cut < chunks.length; cut++) {
      const { events, error } = mapChunks(chunks.slice(0, cut));
      expect(LLMError.isInstance(error) && error.kind).toBe('incomplete');
      expect((error as LLMError).retryable).toBe(true);
      expect(events.some((e) => e.type === 'finish')).toBe(false);
    }
  });

  it('ignores ping frames and frames after message_stop', () => {
    const decode = anthropicFrameDecoder('anthropic', 'm');
    expect(decode('{"type": "ping"}', 'ping')).toBeUndefined();
    expect(decode('{"type":"message_stop"}', undefined)).toBeUndefined();
    const { events } = mapChunks([
      ...chunksOf(SAMPLE_SSE),
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'late' } },
    ]);
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text)).not.toContain(
      'late',
    );
  });
});

describe('mapStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool-calls'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'other'],
    ['something_new', 'other'],
  ] as const)('%s → %s (raw kept)', (raw, reason) => {
    expect(mapStopReason(raw)).toEqual({ reason, raw });
  });

  it('no stop reason → other, without raw', () => {
    expect(mapStopReason(null)).toEqual({ reason: 'other' });
    const { events } = mapChunks([start(), { type: 'message_stop' }]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'other' });
  });
});

describe('mapUsage', () => {
  it('adds cache reads and writes to input tokens; cache reads are the cached tokens', () => {
    expect(
      mapUsage({
        input_tokens: 5,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 20,
        output_tokens: 7,
      }),
    ).toEqual({ inputTokens: 125, outputTokens: 7, cachedInputTokens: 100 });
  });

  it('treats null and missing fields as zero and reports thinking tokens as reasoning', () => {
    expect(mapUsage({ input_tokens: null, output_tokens: 3 })).toEqual({ inputTokens: 0, outputTokens: 3 });
    expect(
      mapUsage({ input_tokens: 1, output_tokens: 9, output_tokens_details: { thinking_tokens: 4 } }),
    ).toEqual({
      inputTokens: 1,
      outputTokens: 9,
      reasoningTokens: 4,
    });
  });

  it('keeps message_start input counts when message_delta reports only output tokens, and costs cached tokens', () => {
    const { events } = mapChunks(
      [
        start('m', { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 1000 } as never),
        ...stop('end_turn', 42),
      ],
      { pricing: PRICING },
    );
    const usage = { inputTokens: 1010, outputTokens: 42, cachedInputTokens: 1000 };
    expect(events.at(-2)).toEqual({ type: 'usage', usage });
    const finish = events.at(-1) as { cost: { input: number; total: number } };
    expect(finish.cost.input).toBeCloseTo((10 * 3 + 1000 * 0.3) / 1e6, 12);
  });

  it('later cumulative counts in message_delta win over message_start', () => {
    const { events } = mapChunks([
      start(),
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn' },
        usage: { input_tokens: 12, cache_read_input_tokens: null, output_tokens: 8 },
      },
      { type: 'message_stop' },
    ]);
    expect(events.at(-2)).toEqual({ type: 'usage', usage: { inputTokens: 12, outputTokens: 8 } });
  });
});

describe('tool calls', () => {
  const toolStream = (pieces: readonly string[], id = 'toolu_01', name = 'get_weather'): AnthropicChunk[] => [
    start(),
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check.' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id, name, input: {} } },
    ...pieces.map((partial_json): AnthropicChunk => ({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json },
    })),
    { type: 'content_block_stop', index: 1 },
    ...stop('tool_use'),
  ];

  it('announces the call, streams each argument piece, and emits one parsed tool-call at block stop', () => {
    const { events, error } = mapChunks(toolStream(['', '{"city":', ' "Paris', '"}']));
    expect(error).toBeUndefined();
    expect(events.slice(1, -2)).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool-call-delta', index: 0, id: 'toolu_01', name: 'get_weather', argsDelta: '' },
      { type: 'tool-call-delta', index: 0, argsDelta: '{"city":' },
      { type: 'tool-call-delta', index: 0, argsDelta: ' "Paris' },
      { type: 'tool-call-delta', index: 0, argsDelta: '"}' },
      {
        type: 'tool-call',
        index: 0,
        id: 'toolu_01',
        name: 'get_weather',
        args: { city: 'Paris' },
        rawArgs: '{"city": "Paris"}',
      },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls', raw: 'tool_use' });
  });

  it('a call without argument pieces (or only empty ones) has args {}', () => {
    for (const pieces of [[], ['']]) {
      const { events } = mapChunks(toolStream(pieces));
      expect(events.find((e) => e.type === 'tool-call')).toMatchObject({ args: {}, rawArgs: '{}' });
    }
  });

  it('takes the input given whole in content_block_start when no pieces follow', () => {
    const chunks: AnthropicChunk[] = [
      start(),
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 'a', name: 'x', input: { q: 'ok' } },
      },
      { type: 'content_block_stop', index: 0 },
      ...stop('tool_use'),
    ];
    expect(mapChunks(chunks).events.find((e) => e.type === 'tool-call')).toMatchObject({
      args: { q: 'ok' },
      rawArgs: '{"q":"ok"}',
    });
  });

  it('numbers calls by their order, not by block index', () => {
    const chunks: AnthropicChunk[] = [
      start(),
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'a', name: 'x' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"n":1}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'b', name: 'y' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"n":2}' } },
      { type: 'content_block_stop', index: 1 },
      ...stop('tool_use'),
    ];
    const calls = mapChunks(chunks).events.filter((e) => e.type === 'tool-call');
    expect(calls).toEqual([
      { type: 'tool-call', index: 0, id: 'a', name: 'x', args: { n: 1 }, rawArgs: '{"n":1}' },
      { type: 'tool-call', index: 1, id: 'b', name: 'y', args: { n: 2 }, rawArgs: '{"n":2}' },
    ]);
  });

  it('arguments that are not JSON fail with invalid_response', () => {
    const { error } = mapChunks(toolStream(['{"city": "Par']));
    expect(LLMError.isInstance(error) && error.kind).toBe('invalid_response');
  });
});

describe('thinking', () => {
  it('maps thinking deltas to reasoning and keeps the signature on a reasoning event', () => {
    const { events } = mapChunks([
      start(),
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think' } },
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' },
      },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '42' } },
      { type: 'content_block_stop', index: 1 },
      ...stop('end_turn'),
    ]);
    expect(events.slice(1, -2)).toEqual([
      { type: 'reasoning', text: 'Let me think' },
      { type: 'reasoning', text: '', signature: 'EqQBCgIYAhIM' },
      { type: 'text', text: '42' },
    ]);
  });

  it('skips blocks and events it does not know', () => {
    const { events, error } = mapChunks([
      start(),
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'redacted_thinking', data: 'x' },
      } as never,
      { type: 'content_block_stop', index: 0 },
      { type: 'some_future_event' } as never,
      ...stop('end_turn'),
    ]);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['start', 'usage', 'finish']);
  });
});

describe('in-stream errors', () => {
  const body = '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}';

  it('event: error overloaded_error → overloaded, retryable, like HTTP 529', () => {
    const decode = anthropicFrameDecoder('anthropic', 'claude-haiku-4-5');
    let caught: unknown;
    try {
      decode(body, 'error');
    } catch (error) {
      caught = error;
    }
    expect(LLMError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({
      kind: 'overloaded',
      retryable: true,
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
    });
    expect((caught as LLMError).message).toContain('Overloaded');
  });

  it.each([
    ['rate_limit_error', 'rate_limit', true],
    ['api_error', 'unavailable', true],
    ['invalid_request_error', 'invalid_request', false],
    ['billing_error', 'quota', false],
    ['authentication_error', 'auth', false],
  ] as const)('%s → %s', (type, kind, retryable) => {
    const error = streamError({ type: 'error', error: { type, message: 'm' } }, 'anthropic', 'm');
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
  });

  it('an error chunk after content throws from the mapper (the SDK shape)', () => {
    const { events, error } = mapChunks([
      ...chunksOf(SAMPLE_SSE).slice(0, 4),
      JSON.parse(body) as AnthropicChunk,
    ]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'text']);
    expect(LLMError.isInstance(error) && error.kind).toBe('overloaded');
  });

  it('a data frame that is not JSON → invalid_response', () => {
    const decode = anthropicFrameDecoder('anthropic', 'm');
    expect(() => decode('{"type":"content_block_delta","ind', 'content_block_delta')).toThrow(
      expect.objectContaining({ kind: 'invalid_response' }),
    );
  });
});
