import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../../src/core/request.js';
import {
  toFunctionDeclaration,
  toGeminiRequest,
  toToolConfig,
} from '../../../src/providers/gemini/request.js';
import { isEmptyObjectSchema, toGeminiSchema } from '../../../src/providers/gemini/schema.js';

const settings = { provider: 'gemini', model: 'gemini-2.0-flash' };
const build = (request: ChatRequest) => toGeminiRequest(request, settings);

describe('toGeminiRequest', () => {
  it('maps system messages to systemInstruction and assistant to model turns', () => {
    expect(
      build({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Salut' },
          { role: 'user', content: 'Again' },
        ],
      }),
    ).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Salut' }] },
        { role: 'user', parts: [{ text: 'Again' }] },
      ],
    });
  });

  it('maps tool calls to functionCall parts and tool results to functionResponse parts, merged in one turn', () => {
    const body = build({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_0', name: 'weather', args: { city: 'Paris' } },
            { id: 'call_1', name: 'weather', args: { city: 'Rome' } },
          ],
        },
        { role: 'tool', toolCallId: 'call_0', content: '{"temp":21}' },
        { role: 'tool', toolCallId: 'call_1', name: 'weather', content: 'sunny' },
        { role: 'tool', toolCallId: 'call_1', name: 'weather', content: '[1,2]' },
      ],
    });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'weather', args: { city: 'Rome' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'weather', response: { temp: 21 } } },
          { functionResponse: { name: 'weather', response: { output: 'sunny' } } },
          { functionResponse: { name: 'weather', response: { output: [1, 2] } } },
        ],
      },
    ]);
  });

  it('fails with invalid_request when a tool result cannot be named', () => {
    expect(() => build({ messages: [{ role: 'tool', toolCallId: 'nope', content: '1' }] })).toThrowError(
      expect.objectContaining({ kind: 'invalid_request', provider: 'gemini' }) as Error,
    );
  });

  it('maps images to inlineData (bytes, data URLs) and fileData (other URLs)', () => {
    const body = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
            { type: 'image', data: '/9j/4AAQ' },
            { type: 'image', url: 'data:image/webp;base64,UklGRg==' },
            { type: 'image', url: 'data:image/svg+xml,%3Csvg%2F%3E' },
            { type: 'image', url: 'https://example.com/cat.JPG?size=2' },
            { type: 'image', url: 'gs://bucket/file', mediaType: 'image/heic' },
            { type: 'image', url: 'https://example.com/blob' },
          ],
        },
      ],
    });
    expect(body.contents[0]?.parts).toEqual([
      { text: 'What is this?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
      { inlineData: { mimeType: 'image/webp', data: 'UklGRg==' } },
      { inlineData: { mimeType: 'image/svg+xml', data: btoa('<svg/>') } },
      { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=2' } },
      { fileData: { mimeType: 'image/heic', fileUri: 'gs://bucket/file' } },
      { fileData: { fileUri: 'https://example.com/blob' } },
    ]);
  });

  it('maps tools, tool choice and generation settings', () => {
    const body = build({
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        {
          name: 'weather',
          description: 'Weather for a city',
          parameters: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
            additionalProperties: false,
          },
        },
        { name: 'now', parameters: { type: 'object', properties: {} } },
      ],
      toolChoice: 'required',
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 100,
      stop: ['END'],
    });
    expect(body).toMatchObject({
      tools: [
        {
          functionDeclarations: [
            {
              name: 'weather',
              description: 'Weather for a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
            { name: 'now' },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
      generationConfig: { temperature: 0.2, topP: 0.9, maxOutputTokens: 100, stopSequences: ['END'] },
    });
    expect(body.tools?.[0]?.functionDeclarations[1]).toEqual({ name: 'now' });
  });

  it('asks for JSON with a schema', () => {
    const body = build({
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: {
        type: 'json',
        schema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
      },
    });
    expect(body.generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    expect(build({ messages: [], responseFormat: { type: 'json' } }).generationConfig).toEqual({
      responseMimeType: 'application/json',
    });
  });

  it('sends safety settings and merges providerOptions.gemini last, one level deep', () => {
    const body = toGeminiRequest(
      {
        messages: [{ role: 'user', content: 'x' }],
        temperature: 1,
        providerOptions: {
          gemini: {
            generationConfig: { thinkingConfig: { thinkingBudget: 0 } },
            cachedContent: 'cachedContents/1',
          },
          openai: { ignored: true },
        },
      },
      { ...settings, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] },
    );
    expect(body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'x' }] }],
      generationConfig: { temperature: 1, thinkingConfig: { thinkingBudget: 0 } },
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      cachedContent: 'cachedContents/1',
    });
  });
});

describe('toToolConfig', () => {
  it.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
    [{ name: 'weather' }, { mode: 'ANY', allowedFunctionNames: ['weather'] }],
  ] as const)('%j', (choice, config) => {
    expect(toToolConfig(choice)).toEqual({ functionCallingConfig: config });
  });
});

describe('toGeminiSchema', () => {
  it('strips keys Gemini rejects, recursively', () => {
    expect(
      toGeminiSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'x',
        type: 'object',
        additionalProperties: false,
        properties: {
          tags: {
            type: 'array',
            items: { type: 'string', format: 'uri', additionalProperties: false },
            minItems: 1,
          },
          when: { type: 'string', format: 'date-time' },
          n: { type: 'integer', format: 'int32', exclusiveMinimum: 0, minimum: 1 },
        },
        required: ['tags'],
      }),
    ).toEqual({
      type: 'object',
      properties: {
        tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
        when: { type: 'string', format: 'date-time' },
        n: { type: 'integer', format: 'int32', minimum: 1 },
      },
      required: ['tags'],
    });
  });

  it('converts nullable types, const, oneOf, single allOf and examples', () => {
    expect(toGeminiSchema({ type: ['string', 'null'], description: 'd' })).toEqual({
      type: 'string',
      nullable: true,
      description: 'd',
    });
    expect(toGeminiSchema({ type: ['string', 'number'] })).toEqual({
      anyOf: [{ type: 'string' }, { type: 'number' }],
    });
    expect(toGeminiSchema({ const: 'on' })).toEqual({ enum: ['on'] });
    expect(toGeminiSchema({ oneOf: [{ type: 'string' }, { type: 'integer' }] })).toEqual({
      anyOf: [{ type: 'string' }, { type: 'integer' }],
    });
    expect(toGeminiSchema({ anyOf: [{ type: 'string' }, { type: 'null' }], description: 'outer' })).toEqual({
      type: 'string',
      nullable: true,
      description: 'outer',
    });
    expect(toGeminiSchema({ allOf: [{ type: 'string', enum: ['a'] }], examples: ['a'] })).toEqual({
      type: 'string',
      enum: ['a'],
      example: 'a',
    });
  });

  it('recognises schemas without arguments', () => {
    expect(isEmptyObjectSchema(toGeminiSchema({}))).toBe(true);
    expect(isEmptyObjectSchema(toGeminiSchema({ type: 'object', additionalProperties: false }))).toBe(true);
    expect(isEmptyObjectSchema(toGeminiSchema({ type: 'object', properties: { a: {} } }))).toBe(false);
    expect(toFunctionDeclaration({ name: 'f', description: 'd', parameters: {} })).toEqual({
      name: 'f',
      description: 'd',
    });
  });
});
