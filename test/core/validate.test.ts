import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, type Observable, toArray } from 'rxjs';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { checkRequest } from '../../src/core/validate.js';
import { createBudget } from '../../src/operators/budget.js';
import { cache } from '../../src/operators/cache.js';
import { hedge } from '../../src/operators/hedge.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { ollama } from '../../src/providers/ollama/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { route } from '../../src/routing/route.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../src/testing/simulator/protocols/gemini.js';
import { ollamaProtocol } from '../../src/testing/simulator/protocols/ollama.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const hi = { role: 'user', content: 'Hi' } as const;

/** The error a stream fails with; a synchronous throw or a completion fails the test. */
async function failure(stream: () => Observable<TokenEvent>): Promise<LLMError> {
  let observable: Observable<TokenEvent>;
  try {
    observable = stream();
  } catch (error) {
    throw new Error(`threw synchronously: ${String(error)}`);
  }
  const error: unknown = await firstValueFrom(observable.pipe(toArray())).then(
    () => new Error('completed'),
    (e: unknown) => e,
  );
  if (!LLMError.isInstance(error)) throw new Error(`not an LLMError: ${String(error)}`);
  return error;
}

describe('checkRequest names the field', () => {
  const cases: ReadonlyArray<readonly [unknown, string]> = [
    [undefined, 'request: expected an object (got undefined)'],
    [null, 'request: expected an object (got null)'],
    [{}, 'messages: expected an array of messages (got undefined)'],
    [{ messages: 'hi' }, 'messages: expected an array of messages (got "hi")'],
    [{ messages: [] }, 'messages: expected at least one message (got [])'],
    [
      { messages: [hi, hi, { role: 'robot', content: 'x' }] },
      'messages[2].role: expected one of system, user, assistant, tool (got "robot")',
    ],
    [
      { messages: [{ role: 'user', content: 42 }] },
      'messages[0].content: expected a string or an array of parts (got 42)',
    ],
    [
      { messages: [{ role: 'system', content: ['x'] }] },
      'messages[0].content: expected a string (got an array)',
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'audio', data: 'x' }] }] },
      'messages[0].content[0].type: expected one of text, image (got "audio")',
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'image' }] }] },
      'messages[0].content[0]: an image needs a url or data',
    ],
    [
      { messages: [{ role: 'tool', content: 'r' }] },
      'messages[0].toolCallId: expected a string (got undefined)',
    ],
    [{ messages: [hi], model: 42 }, 'model: expected a non-empty string (got 42)'],
    [{ messages: [hi], temperature: Number.NaN }, 'temperature: expected a finite number (got NaN)'],
    [{ messages: [hi], maxTokens: Infinity }, 'maxTokens: expected a positive integer (got Infinity)'],
    [{ messages: [hi], topP: 2 }, 'topP: expected a number from 0 to 1 (got 2)'],
    [{ messages: [hi], stop: 'END' }, 'stop: expected an array (got "END")'],
    [
      { messages: [hi], toolChoice: 'always' },
      'toolChoice: expected one of auto, none, required or { name } (got "always")',
    ],
    [
      { messages: [hi], tools: [{ name: 't', parameters: { type: 'object', maximum: Infinity } }] },
      'tools[0].parameters.maximum: expected a finite number (got Infinity)',
    ],
    [
      { messages: [hi], providerOptions: { openai: { seed: Number.NaN } } },
      'providerOptions.openai.seed: expected a finite number (got NaN)',
    ],
  ];
  it.each(cases)('%j', (request, message) => {
    const error = checkRequest(request, { provider: 'p', model: 'm' });
    expect(error).toMatchObject({ kind: 'invalid_request', retryable: false, provider: 'p', model: 'm' });
    expect(error?.message).toBe(`invalid request: ${message}`);
  });

  it('accepts every well-formed message shape', () => {
    const request: ChatRequest = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', url: 'https://x/y.png' },
          ],
        },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'look', args: { at: 1 } }] },
        { role: 'tool', toolCallId: 'c1', name: 'look', content: 'a cat' },
      ],
      model: 'gpt-4o-mini',
      temperature: 0,
      topP: 1,
      maxTokens: 64,
      stop: ['\n'],
      tools: [{ name: 'look', parameters: { type: 'object' } }],
      toolChoice: { name: 'look' },
      responseFormat: { type: 'json' },
      hints: { maxCost: 0.01 },
    };
    expect(checkRequest(request)).toBeUndefined();
  });
});

describe('a malformed request fails through every policy, never thrown, never retried or fallen back on', () => {
  const bad: ReadonlyArray<readonly [string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['model: 42', { messages: [hi], model: 42 }],
    ['unknown role', { messages: [{ role: 'robot', content: 'x' }] }],
  ];
  const pipelines: ReadonlyArray<readonly [string, (a: LanguageModel, b: LanguageModel) => LanguageModel]> = [
    ['withFallback', (a, b) => a.pipe(withFallback({ candidates: [b] }))],
    ['hedge', (a, b) => a.pipe(hedge({ delayMs: 0, candidates: [b] }))],
    ['route + withFallback', (a, b) => withFallback()(route({ strategy: 'priority' })([a, b]))],
    [
      'budget',
      (a, b) => withFallback({ candidates: [b] })(a).pipe(createBudget({ limits: { day: 1 } }).policy()),
    ],
    ['cache', (a) => a.pipe(cache())],
    ['withRetry', (a) => a.pipe(withRetry({ maxAttempts: 3 }))],
  ];
  for (const [name, build] of pipelines) {
    it.each(bad)(`${name}: %s`, async (_label, request) => {
      const a = scriptedModel({ provider: 'openai', model: 'gpt-4o-mini' });
      const b = scriptedModel({ provider: 'anthropic', model: 'claude-haiku-4-5' });
      const error = await failure(() => build(a, b).stream(request as ChatRequest));
      expect(error.kind).toBe('invalid_request');
      expect(error.message).toMatch(/^invalid request: (request|model|messages)/);
      expect(a.calls() + b.calls()).toBe(0);
    });
  }
});

describe('providers: the request reaches the wire as given, or not at all', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await createSimulator({
      protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
    });
  });
  afterAll(() => sim.close());

  const providers = (): ReadonlyArray<readonly [string, LanguageModel]> => [
    ['openai', openai({ model: 'gpt-4o-mini', apiKey: 'sk-test', baseURL: `${sim.url}/v1` })],
    ['anthropic', anthropic({ model: 'claude-haiku-4-5', apiKey: 'sk-ant-test', baseURL: sim.url })],
    ['gemini', gemini({ model: 'gemini-2.0-flash', apiKey: 'g-test', baseURL: sim.url })],
    ['ollama direct', ollama({ model: 'llama3.2', host: sim.url })],
    ['ollama sdk', ollama({ model: 'llama3.2', host: sim.url, transport: 'sdk' })],
  ];

  it('rejects an unknown role, NaN and a string stop on every provider and transport, sending nothing', async () => {
    const before = sim.requests.length;
    for (const [name, model] of providers()) {
      for (const request of [
        { messages: [{ role: 'robot', content: 'x' }] },
        { messages: [hi], temperature: Number.NaN },
        { messages: [hi], stop: 'END' },
      ]) {
        const error = await failure(() => model.stream(request as unknown as ChatRequest));
        expect({ name, kind: error.kind, retryable: error.retryable }).toEqual({
          name,
          kind: 'invalid_request',
          retryable: false,
        });
      }
    }
    expect(sim.requests.length).toBe(before);
  });

  it('a feature the vendor cannot take is invalid_request on every transport, never retried', async () => {
    const before = sim.requests.length;
    const imageByUrl = {
      messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }],
    } as const;
    const unnamedToolResult = {
      messages: [hi, { role: 'tool', toolCallId: 'c1', content: '{}' }],
    } as const;
    const cases: ReadonlyArray<readonly [string, LanguageModel, ChatRequest]> = [
      ['ollama direct', ollama({ model: 'llama3.2', host: sim.url }), imageByUrl],
      ['ollama sdk', ollama({ model: 'llama3.2', host: sim.url, transport: 'sdk' }), imageByUrl],
      [
        'gemini',
        gemini({ model: 'gemini-2.0-flash', apiKey: 'g-test', baseURL: sim.url }),
        unnamedToolResult,
      ],
    ];
    for (const [name, model, request] of cases) {
      const error = await failure(() => model.pipe(withRetry({ maxAttempts: 3 })).stream(request));
      expect({ name, kind: error.kind, retryable: error.retryable }).toEqual({
        name,
        kind: 'invalid_request',
        retryable: false,
      });
    }
    expect(sim.requests.length).toBe(before);
  });

  it('sends stop sequences, sampling numbers and roles as given (round trip through the wire)', async () => {
    const request: ChatRequest = {
      messages: [{ role: 'system', content: 'Be brief.' }, hi],
      stop: ['END'],
      temperature: 0.5,
      topP: 0.9,
      maxTokens: 32,
    };
    const seen: unknown[] = [];
    for (const [, model] of providers()) {
      await firstValueFrom(model.stream(request).pipe(toArray()));
      seen.push(sim.requests.at(-1)?.body);
    }
    const [o, a, g, od, os] = seen as Record<string, unknown>[];
    expect(o).toMatchObject({ stop: ['END'], temperature: 0.5, top_p: 0.9, max_completion_tokens: 32 });
    expect(a).toMatchObject({
      stop_sequences: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 32,
      system: 'Be brief.',
    });
    expect(g).toMatchObject({
      generationConfig: { stopSequences: ['END'], temperature: 0.5, topP: 0.9, maxOutputTokens: 32 },
    });
    for (const body of [od, os]) {
      expect(body).toMatchObject({
        options: { stop: ['END'], temperature: 0.5, top_p: 0.9, num_predict: 32 },
      });
    }
  });
});

describe('a message array checked once', () => {
  it('is checked again when the caller appended to it (a chat history kept in one array)', () => {
    const messages: unknown[] = [hi];
    expect(checkRequest({ messages })).toBeUndefined();
    expect(checkRequest({ messages })).toBeUndefined(); // the cached walk
    messages.push({ role: 'robot', content: 'hi' });
    expect(checkRequest({ messages })?.message).toContain('messages[1].role');
  });
});
