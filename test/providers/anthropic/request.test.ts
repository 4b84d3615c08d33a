import { describe, expect, it } from 'vitest';
import type { LLMError } from '../../../src/core/errors.js';
import type { ChatRequest } from '../../../src/core/request.js';
import { jsonInstruction, toAnthropicRequest, toolChoice } from '../../../src/providers/anthropic/request.js';

const ctx = { model: 'claude-haiku-4-5', defaultMaxTokens: 64_000 };
const body = (request: ChatRequest) => toAnthropicRequest(request, ctx);

describe('toAnthropicRequest', () => {
  it('lifts system messages to the top-level system and requires max_tokens', () => {
    expect(
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'system', content: 'Answer in French.' },
        ],
      }),
    ).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 64_000,
      system: 'Be brief.\n\nAnswer in French.',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
  });

  it('maps sampling options, stop sequences and maxTokens', () => {
    expect(
      body({
        messages: [{ role: 'user', content: 'Hi' }],
        maxTokens: 100,
        temperature: 0.2,
        topP: 0.9,
        stop: ['\n\nHuman:'],
      }),
    ).toMatchObject({ max_tokens: 100, temperature: 0.2, top_p: 0.9, stop_sequences: ['\n\nHuman:'] });
  });

  it('maps tools and every tool choice', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const result = body({
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [
        { name: 'get_weather', description: 'Current weather', parameters },
        { name: 'noop', parameters: {} },
      ],
      toolChoice: { name: 'get_weather' },
    });
    expect(result.tools).toEqual([
      { name: 'get_weather', description: 'Current weather', input_schema: parameters },
      { name: 'noop', input_schema: {} },
    ]);
    expect(result.tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
    expect(toolChoice('auto')).toEqual({ type: 'auto' });
    expect(toolChoice('required')).toEqual({ type: 'any' });
    expect(toolChoice('none')).toEqual({ type: 'none' });
    // tool_choice without tools is an API error: it is left out.
    expect(body({ messages: [{ role: 'user', content: 'x' }], toolChoice: 'auto' })).not.toHaveProperty(
      'tool_choice',
    );
  });

  it('sends assistant tool calls as tool_use blocks and merges consecutive tool results into one user turn', () => {
    const result = body({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          toolCalls: [
            { id: 'toolu_1', name: 'get_weather', args: { city: 'Paris' } },
            { id: 'toolu_2', name: 'get_weather', args: { city: 'Rome' } },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_1', content: '18°C' },
        { role: 'tool', toolCallId: 'toolu_2', content: '24°C' },
        { role: 'user', content: 'Thanks' },
      ],
    });
    expect(result.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '24°C' },
        ],
      },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('an assistant turn with only tool calls has no empty text block', () => {
    const result = body({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: '', toolCalls: [{ id: 't', name: 'f', args: {} }] },
        { role: 'tool', toolCallId: 't', content: 'ok' },
      ],
    });
    expect(result.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }],
    });
  });

  it('keeps a trailing assistant message as a prefill (trailing whitespace trimmed, as the API requires)', () => {
    const result = body({
      messages: [
        { role: 'user', content: 'Count to five.' },
        { role: 'assistant', content: 'One, two, ' },
      ],
    });
    expect(result.messages).toEqual([
      { role: 'user', content: 'Count to five.' },
      { role: 'assistant', content: 'One, two,' },
    ]);
    // An earlier assistant turn keeps its text as is; an empty trailing one is dropped.
    expect(
      body({
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b ' },
          { role: 'user', content: 'c' },
          { role: 'assistant', content: '  ' },
        ],
      }).messages,
    ).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b ' },
      { role: 'user', content: 'c' },
    ]);
  });

  it('maps images: data + mediaType, data: URLs and https URLs', () => {
    const result = body({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
            { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' },
            { type: 'image', url: 'https://example.com/cat.webp' },
          ],
        },
      ],
    });
    expect(result.messages[0]?.content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.webp' } },
    ]);
  });

  it('rejects images the API cannot take with invalid_request', () => {
    for (const image of [{ data: 'abc' }, { url: 'data:image/svg+xml,%3Csvg%3E' }, {}]) {
      expect(() => body({ messages: [{ role: 'user', content: [{ type: 'image', ...image }] }] })).toThrow(
        expect.objectContaining({ kind: 'invalid_request' }) as LLMError,
      );
    }
  });

  it('asks for JSON in the system prompt (Anthropic has no JSON mode), with the schema when given', () => {
    const schema = { type: 'object', properties: { answer: { type: 'number' } } };
    const result = body({
      messages: [
        { role: 'system', content: 'You are a calculator.' },
        { role: 'user', content: '2+2' },
      ],
      responseFormat: { type: 'json', schema },
    });
    expect(result.system).toBe(`You are a calculator.\n\n${jsonInstruction(schema)}`);
    expect(result.system).toContain(JSON.stringify(schema));
    expect(
      body({ messages: [{ role: 'user', content: 'x' }], responseFormat: { type: 'json' } }).system,
    ).toBe(jsonInstruction(undefined));
  });

  it('merges providerOptions.anthropic last, but keeps stream on', () => {
    const result = body({
      messages: [{ role: 'user', content: 'x' }],
      maxTokens: 10,
      providerOptions: {
        anthropic: { max_tokens: 20, thinking: { type: 'enabled', budget_tokens: 1024 }, stream: false },
        openai: { seed: 1 },
      },
    });
    expect(result).toMatchObject({
      max_tokens: 20,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      stream: true,
    });
    expect(result).not.toHaveProperty('seed');
  });
});
