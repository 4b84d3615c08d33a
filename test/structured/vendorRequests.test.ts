import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenEvent } from '../../src/core/events.js';
import { toAnthropicRequest } from '../../src/providers/anthropic/request.js';
import { hasNativeStructuredOutput } from '../../src/providers/anthropic/structured.js';
import { toGeminiRequest } from '../../src/providers/gemini/request.js';
import { toOllamaRequest } from '../../src/providers/ollama/request.js';
import { toOpenAIRequest } from '../../src/providers/openai/request.js';
import { isStrictSchema } from '../../src/providers/openai/strict.js';
import { objectRequest } from '../../src/structured/objectRequest.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { finish, start } from '../operators/support.js';

const City = z.object({ name: z.string(), population: z.number(), alias: z.string().optional() });
const Strict = z.object({ name: z.string(), tags: z.array(z.object({ k: z.string() })) });
const ask = { messages: [{ role: 'user' as const, content: 'A city?' }] };

describe('objectRequest → each vendor’s native structured output', () => {
  it('derives the JSON Schema from the Standard JSON Schema interface, or takes it given', () => {
    const request = objectRequest(ask, Strict, { name: 'city' });
    expect(request.responseFormat).toEqual({
      type: 'json',
      name: 'city',
      schema: expect.objectContaining({
        type: 'object',
        required: ['name', 'tags'],
        additionalProperties: false,
      }),
    });
    expect(JSON.stringify(request.responseFormat)).not.toContain('$schema');
    expect(objectRequest(ask, Strict, { elements: true }).responseFormat?.schema).toMatchObject({
      type: 'array',
    });
    const plain = { '~standard': { version: 1, vendor: 'x', validate: (value: unknown) => ({ value }) } };
    expect(() => objectRequest(ask, plain)).toThrow(/jsonSchema/);
    expect(objectRequest(ask, plain, { jsonSchema: { type: 'object' } }).responseFormat?.schema).toEqual({
      type: 'object',
    });
  });

  it('OpenAI: json_schema, strict only where the schema allows it', () => {
    const context = {
      model: 'gpt-4o-mini',
      includeUsage: true,
      maxTokensField: 'max_completion_tokens',
      optionsKey: 'openai',
    } as const;
    const strict = toOpenAIRequest(objectRequest(ask, Strict), context).response_format;
    expect(strict).toMatchObject({ type: 'json_schema', json_schema: { name: 'response', strict: true } });
    const loose = toOpenAIRequest(objectRequest(ask, City), context).response_format;
    expect(loose).toMatchObject({ type: 'json_schema' });
    expect(JSON.stringify(loose)).not.toContain('strict');
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })).toBe(
      false,
    );
    expect(isStrictSchema({ type: 'object', properties: {}, additionalProperties: false, not: {} })).toBe(
      false,
    );
  });

  it('Anthropic: output_config on models that have it, else a forced tool', () => {
    expect(
      ['claude-haiku-4-5', 'claude-sonnet-4-5-20250929', 'claude-opus-4-1', 'claude-sonnet-5'].map(
        hasNativeStructuredOutput,
      ),
    ).toEqual([true, true, true, true]);
    expect(
      ['claude-3-5-haiku-latest', 'claude-sonnet-4-20250514', 'claude-opus-4-20250514'].map(
        hasNativeStructuredOutput,
      ),
    ).toEqual([false, false, false]);
    const native = toAnthropicRequest(objectRequest(ask, Strict), {
      model: 'claude-haiku-4-5',
      defaultMaxTokens: 100,
    });
    expect(native.output_config).toEqual({
      format: { type: 'json_schema', schema: expect.objectContaining({ type: 'object' }) },
    });
    expect(native.tools).toBeUndefined();
    const forced = toAnthropicRequest(objectRequest(ask, Strict), {
      model: 'claude-3-5-haiku-latest',
      defaultMaxTokens: 100,
    });
    expect(forced.output_config).toBeUndefined();
    expect(forced.tool_choice).toEqual({ type: 'tool', name: 'response' });
    expect(forced.tools?.map((t) => t.name)).toEqual(['response']);
    expect(forced.system).toBeUndefined();
  });

  it('Gemini: responseSchema in its subset; Ollama: the schema as format', () => {
    const gemini = toGeminiRequest(objectRequest(ask, Strict), {
      provider: 'gemini',
      model: 'gemini-2.5-flash',
    });
    expect(gemini.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseSchema: { type: 'object' },
    });
    expect(JSON.stringify(gemini.generationConfig)).not.toContain('additionalProperties');
    const ollama = toOllamaRequest(objectRequest(ask, Strict), { provider: 'ollama', model: 'llama3.2' });
    expect(ollama.format).toMatchObject({ type: 'object', required: ['name', 'tags'] });
  });

  it('streamObject reads a forced tool’s arguments when a tool call comes first (auto)', async () => {
    const delta = (argsDelta: string, first = false): TokenEvent => ({
      type: 'tool-call-delta',
      index: 0,
      argsDelta,
      ...(first && { id: 'toolu_1', name: 'response' }),
    });
    const events = [
      start(),
      delta('{"name": "Lyon", "tags"', true),
      delta(': []}'),
      { ...finish(2), reason: 'tool-calls' as const },
    ];
    const out = await lastValueFrom(of(...events).pipe(streamObject(Strict), toArray()));
    expect(out.at(-2)).toEqual({ type: 'object', partial: false, value: { name: 'Lyon', tags: [] } });
  });
});
