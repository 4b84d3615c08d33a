import { describe, expect, it } from 'vitest';
import { costOf, defaultCatalog } from '../../../src/core/catalog.js';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { GeminiChunk } from '../../../src/providers/gemini/chunks.js';
import { mapGeminiSdkError } from '../../../src/providers/gemini/errors.js';
import {
  geminiFault,
  mapGeminiFinishReason,
  mapGeminiUsage,
  refineGeminiError,
  retryDelayMs,
} from '../../../src/providers/gemini/map.js';
import { mapChunks, sseChunks, WIRE_SAMPLE } from './helpers.js';

const pricing = defaultCatalog.get('gemini', 'gemini-2.0-flash')?.pricing;
const context = { provider: 'gemini', model: 'gemini-2.0-flash', pricing };

const text = (t: string): GeminiChunk => ({
  candidates: [{ content: { parts: [{ text: t }], role: 'model' }, index: 0 }],
});
const finish = (reason: string, extra: Partial<GeminiChunk> = {}): GeminiChunk => ({
  candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: reason, index: 0 }],
  ...extra,
});

describe('geminiMapper on the recorded wire sample', () => {
  it('maps every chunk to the exact events', () => {
    const { events, error } = mapChunks(sseChunks(WIRE_SAMPLE.toString('utf8')), context);
    expect(error).toBeUndefined();
    const usage = { inputTokens: 11, outputTokens: 52 };
    expect(events).toEqual<TokenEvent[]>([
      {
        type: 'start',
        provider: 'gemini',
        model: 'gemini-2.0-flash',
        id: 'q2xRaN7kF4OfnvgP5s7Bqw8',
        responseModel: 'gemini-2.0-flash',
      },
      { type: 'text', text: 'Photosynthesis converts light energy into chemical energy' },
      {
        type: 'text',
        text: ': 6CO₂ + 6H₂O → C₆H₁₂O₆ + 6O₂. Plants & algae run this reaction in their chloroplasts,',
      },
      { type: 'text', text: ' where chlorophyll absorbs red & blue light (< 700 nm) and reflects green.\n' },
      { type: 'usage', usage },
      { type: 'finish', reason: 'stop', raw: 'STOP', usage, cost: costOf(usage, pricing) },
    ]);
    expect((events.at(-1) as { cost: { total: number } }).cost.total).toBeCloseTo(
      (11 * 0.1 + 52 * 0.4) / 1e6,
    );
  });

  it('fails with incomplete when the last chunk (the one with finishReason) is cut off', () => {
    const chunks = sseChunks(WIRE_SAMPLE.toString('utf8')).slice(0, 2);
    const { events, error } = mapChunks(chunks, context);
    expect(error?.kind).toBe('incomplete');
    expect(error?.retryable).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'text']);
  });
});

describe('mapGeminiFinishReason', () => {
  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool-calls'],
    ['MAX_TOKENS', false, 'length'],
    ['SAFETY', false, 'content-filter'],
    ['RECITATION', false, 'content-filter'],
    ['BLOCKLIST', false, 'content-filter'],
    ['PROHIBITED_CONTENT', false, 'content-filter'],
    ['SPII', false, 'content-filter'],
    ['IMAGE_SAFETY', false, 'content-filter'],
    ['MALFORMED_FUNCTION_CALL', true, 'other'],
    ['LANGUAGE', false, 'other'],
    ['OTHER', false, 'other'],
    ['FINISH_REASON_UNSPECIFIED', false, 'other'],
    ['SOMETHING_NEW', false, 'other'],
  ] as const)('%s (tools called: %s) → %s', (raw, calledTools, reason) => {
    expect(mapGeminiFinishReason(raw, calledTools)).toEqual({ reason, raw });
  });
});

describe('mapGeminiUsage', () => {
  it('maps prompt, candidates, cached and thinking tokens', () => {
    expect(
      mapGeminiUsage({
        promptTokenCount: 100,
        candidatesTokenCount: 20,
        totalTokenCount: 150,
        cachedContentTokenCount: 60,
        thoughtsTokenCount: 30,
      }),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cachedInputTokens: 60, reasoningTokens: 30 });
  });

  it('counts tool-use prompt tokens as input and treats missing counts as zero', () => {
    expect(mapGeminiUsage({ promptTokenCount: 5, toolUsePromptTokenCount: 7 })).toEqual({
      inputTokens: 12,
      outputTokens: 0,
    });
  });

  it('takes the last usageMetadata of the stream (Gemini repeats it on every chunk)', () => {
    const { events } = mapChunks([
      { ...text('a'), usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } },
      finish('STOP', {
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 4, cachedContentTokenCount: 3 },
      }),
      { usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 5, cachedContentTokenCount: 3 } },
    ]);
    const usage = { inputTokens: 9, outputTokens: 5, cachedInputTokens: 3 };
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage },
      expect.objectContaining({ type: 'finish', usage }),
    ]);
  });

  it('estimates usage when Gemini sent none: unknown, not zero', () => {
    const { events } = mapChunks([text('a'), finish('STOP')], context);
    expect(events.at(-1)).toMatchObject({ usage: { inputTokens: 0, outputTokens: 1, estimated: true } });
  });
});

describe('geminiMapper content', () => {
  it('emits one tool-call-delta with the whole arguments and one tool-call per functionCall part', () => {
    const { events } = mapChunks([
      text('Checking.'),
      {
        candidates: [
          {
            content: {
              parts: [
                { functionCall: { name: 'weather', args: { city: 'Paris', days: 2 } } },
                { functionCall: { name: 'time', args: {} } },
              ],
              role: 'model',
            },
            index: 0,
          },
        ],
      },
      {
        candidates: [
          { content: { parts: [{ functionCall: { id: 'fc-7', name: 'now' } }] }, finishReason: 'STOP' },
        ],
      },
    ]);
    expect(events.slice(1)).toEqual<TokenEvent[]>([
      { type: 'text', text: 'Checking.' },
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'call_0',
        name: 'weather',
        argsDelta: '{"city":"Paris","days":2}',
      },
      {
        type: 'tool-call',
        index: 0,
        id: 'call_0',
        name: 'weather',
        args: { city: 'Paris', days: 2 },
        rawArgs: '{"city":"Paris","days":2}',
      },
      { type: 'tool-call-delta', index: 1, id: 'call_1', name: 'time', argsDelta: '{}' },
      { type: 'tool-call', index: 1, id: 'call_1', name: 'time', args: {}, rawArgs: '{}' },
      { type: 'tool-call-delta', index: 2, id: 'fc-7', name: 'now', argsDelta: '{}' },
      { type: 'tool-call', index: 2, id: 'fc-7', name: 'now', args: {}, rawArgs: '{}' },
      // No usageMetadata: estimated from the answer, piece by piece (no request here, so input 0).
      { type: 'usage', usage: { inputTokens: 0, outputTokens: 15, estimated: true } },
      expect.objectContaining({ type: 'finish', reason: 'tool-calls', raw: 'STOP' }),
    ]);
  });

  it('maps thought parts to reasoning, skips empty text and parts it does not know', () => {
    const { events } = mapChunks([
      {
        candidates: [
          {
            content: {
              parts: [
                { text: 'Let me think', thought: true },
                { text: '' },
                { executableCode: { language: 'PYTHON', code: 'print(1)' } },
                { text: 'Answer', thoughtSignature: 'abc' },
              ],
            },
          },
        ],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, thoughtsTokenCount: 4 },
      },
      finish('MAX_TOKENS'),
    ]);
    expect(events.slice(1, 3)).toEqual([
      { type: 'reasoning', text: 'Let me think' },
      { type: 'text', text: 'Answer' },
    ]);
    expect(events.at(-1)).toMatchObject({
      reason: 'length',
      usage: { inputTokens: 3, outputTokens: 6, reasoningTokens: 4 },
    });
  });

  it('ends with a content-filter finish (not an error) when the answer is cut for safety', () => {
    const { events, error } = mapChunks([
      text('Sure'),
      {
        candidates: [
          {
            finishReason: 'SAFETY',
            index: 0,
            safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true }],
          },
        ],
      },
    ]);
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'content-filter', raw: 'SAFETY' });
  });

  it('fails with content_filter (not retryable, no start) when the prompt itself is blocked', () => {
    const { events, error } = mapChunks([
      {
        promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
        usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 },
      },
    ]);
    expect(events).toEqual([]);
    expect(error).toMatchObject({ kind: 'content_filter', retryable: false, provider: 'gemini' });
    expect(error?.message).toContain('PROHIBITED_CONTENT');
  });

  it('starts with the requested model when the chunk names none', () => {
    const { events } = mapChunks([text('x'), finish('STOP')], { ...context, model: 'gemini-2.5-pro' });
    expect(events[0]).toEqual({ type: 'start', provider: 'gemini', model: 'gemini-2.5-pro' });
  });
});

describe('in-stream errors', () => {
  it.each([
    [{ code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' }, 'rate_limit', true],
    [{ code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' }, 'unavailable', true],
    [{ code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' }, 'unavailable', true],
    [{ code: 504, message: 'Deadline exceeded', status: 'DEADLINE_EXCEEDED' }, 'timeout', true],
    [{ code: 400, message: 'Bad', status: 'INVALID_ARGUMENT' }, 'invalid_request', false],
    [{ code: 403, message: 'Denied', status: 'PERMISSION_DENIED' }, 'auth', false],
    [{ code: 404, message: 'No model', status: 'NOT_FOUND' }, 'not_found', false],
  ] as const)('%j → %s', (error, kind, retryable) => {
    const result = mapChunks([{ error }]);
    expect(result.events).toEqual([]);
    expect(result.error).toMatchObject({ kind, retryable, status: error.code, provider: 'gemini' });
  });

  it('fails after content already streamed, keeping what was emitted', () => {
    const result = mapChunks([text('Hel'), { error: { code: 503, message: 'x', status: 'UNAVAILABLE' } }]);
    expect(result.events.map((e) => e.type)).toEqual(['start', 'text']);
    expect(result.error?.kind).toBe('unavailable');
  });

  it('reads RetryInfo into retryAfterMs', () => {
    const error = geminiFault(
      {
        code: 429,
        message: 'Quota exceeded for metric',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '29s' },
        ],
      },
      'gemini',
      'gemini-2.0-flash',
    );
    expect(error).toMatchObject({ kind: 'rate_limit', retryAfterMs: 29_000 });
  });
});

describe('retryDelayMs', () => {
  it.each([
    [[{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }], 2000],
    [[{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.500s' }], 1500],
    [[{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: 'soon' }], undefined],
    [[{ '@type': 'type.googleapis.com/google.rpc.Help' }, null, 'x'], undefined],
    [undefined, undefined],
  ])('%j → %s', (details, ms) => {
    expect(retryDelayMs(details)).toBe(ms);
  });
});

describe('refineGeminiError', () => {
  it('turns Google\'s 400 "API key not valid" into auth', () => {
    const error = geminiFault(
      { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' },
      'gemini',
      'm',
    );
    expect(error).toMatchObject({
      kind: 'auth',
      status: 400,
      retryable: false,
      provider: 'gemini',
      model: 'm',
    });
  });

  it('leaves other errors alone', () => {
    const error = new LLMError('invalid_request', 'contents is empty');
    expect(refineGeminiError(error)).toBe(error);
  });
});

describe('mapGeminiSdkError', () => {
  const sdkError = (message: string, fields: object = {}, ctor = 'GoogleGenerativeAIError'): Error => {
    const Named = { [ctor]: class extends Error {} }[ctor] as new (m: string) => Error;
    return Object.assign(new Named(`[GoogleGenerativeAI Error]: ${message}`), fields);
  };

  it("classifies a fetch error by status, with Google's own message and RetryInfo", () => {
    const details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }];
    const error = mapGeminiSdkError(
      sdkError(
        `Error fetching from https://x/v1beta/models/m:streamGenerateContent?alt=sse: [429 Too Many Requests] Slow down ${JSON.stringify(details)}`,
        { status: 429, statusText: 'Too Many Requests', errorDetails: details },
        'GoogleGenerativeAIFetchError',
      ),
      'gemini',
      'm',
    );
    expect(error.toJSON()).toEqual({
      name: 'LLMError',
      kind: 'rate_limit',
      message: 'gemini: Slow down (HTTP 429)',
      retryable: true,
      retryAfterMs: 3000,
      status: 429,
      provider: 'gemini',
      model: 'm',
    });
  });

  it.each([
    [
      'Error fetching from http://127.0.0.1:1/v1beta/models/m:streamGenerateContent?alt=sse: fetch failed',
      'network',
    ],
    ['Error reading from the stream', 'network'],
    ['Request aborted when reading from the stream', 'aborted'],
    ['Error parsing JSON response: "{"', 'invalid_response'],
    ['Failed to parse stream', 'incomplete'],
    ['Something new', 'invalid_response'],
  ])('%s → %s', (message, kind) => {
    expect(mapGeminiSdkError(sdkError(message), 'gemini', 'm').kind).toBe(kind);
  });

  it('maps request-input and response errors by their class', () => {
    const input = sdkError(
      'Cannot set reserved header name x-goog-api-key',
      {},
      'GoogleGenerativeAIRequestInputError',
    );
    expect(mapGeminiSdkError(input, 'gemini', 'm').kind).toBe('invalid_request');
    const blocked = sdkError('Candidate was blocked due to SAFETY', {}, 'GoogleGenerativeAIResponseError');
    expect(mapGeminiSdkError(blocked, 'gemini', 'm').kind).toBe('content_filter');
  });

  it('passes LLMErrors through and maps plain errors with toLLMError, never to unknown', () => {
    const own = new LLMError('auth', 'no key', { provider: 'gemini', model: 'm' });
    expect(mapGeminiSdkError(own, 'gemini', 'm')).toBe(own);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(mapGeminiSdkError(abort, 'gemini', 'm').kind).toBe('aborted');
    // What the SDK throws while reading a body it cannot handle (a `null` chunk) is the response's fault.
    expect(mapGeminiSdkError(new TypeError('boom'), 'gemini', 'm').kind).toBe('invalid_response');
  });
});
