import { describe, expect, it } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import { toOllamaRequest } from '../../../src/providers/ollama/request.js';

const ctx = { provider: 'ollama', model: 'llama3.2' };

describe('toOllamaRequest', () => {
  it('maps every role, tools and sampling options', () => {
    const body = toOllamaRequest(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'call_0', name: 'get_weather', args: { city: 'Paris' } }],
          },
          { role: 'tool', toolCallId: 'call_0', name: 'get_weather', content: '{"temp":21}' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather now', parameters: { type: 'object' } }],
        temperature: 0.2,
        maxTokens: 64,
        topP: 0.9,
        stop: ['\n\n'],
      },
      { ...ctx, keepAlive: '10m', think: true },
    );
    expect(body).toEqual({
      model: 'llama3.2',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        { role: 'tool', content: '{"temp":21}', tool_name: 'get_weather' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object' } },
        },
      ],
      options: { temperature: 0.2, num_predict: 64, top_p: 0.9, stop: ['\n\n'] },
      keep_alive: '10m',
      think: true,
    });
  });

  it('sends no options when none are set, and the request model wins', () => {
    expect(toOllamaRequest({ model: 'qwen2.5', messages: [{ role: 'user', content: 'Hi' }] }, ctx)).toEqual({
      model: 'qwen2.5',
      stream: true,
      messages: [{ role: 'user', content: 'Hi' }],
    });
  });

  it('turns image parts into base64 without data: prefixes', () => {
    const body = toOllamaRequest(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is ' },
              { type: 'image', data: 'AAAA', mediaType: 'image/png' },
              { type: 'image', url: 'data:image/jpeg;base64,BBBB' },
              { type: 'image', data: 'data:image/png;base64,CCCC' },
              { type: 'text', text: 'this?' },
            ],
          },
        ],
      },
      ctx,
    );
    expect(body.messages[0]).toEqual({
      role: 'user',
      content: 'What is this?',
      images: ['AAAA', 'BBBB', 'CCCC'],
    });
  });

  it('rejects image URLs with a clear invalid_request', () => {
    const attempt = (): unknown =>
      toOllamaRequest(
        { messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }] },
        ctx,
      );
    expect(attempt).toThrow(/base64/);
    try {
      attempt();
    } catch (error) {
      expect(LLMError.isInstance(error) && [error.kind, error.retryable]).toEqual(['invalid_request', false]);
    }
  });

  it('maps responseFormat to format: json or the schema', () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    expect(toOllamaRequest({ messages, responseFormat: { type: 'json' } }, ctx).format).toBe('json');
    const schema = { type: 'object', properties: { a: { type: 'number' } } };
    expect(toOllamaRequest({ messages, responseFormat: { type: 'json', schema } }, ctx).format).toEqual(
      schema,
    );
  });

  it('follows toolChoice: none drops tools, a name keeps only that tool', () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    const tools = [
      { name: 'a', parameters: {} },
      { name: 'b', parameters: {} },
    ];
    expect(toOllamaRequest({ messages, tools, toolChoice: 'none' }, ctx).tools).toBeUndefined();
    expect(
      toOllamaRequest({ messages, tools, toolChoice: { name: 'b' } }, ctx).tools?.map((t) => t.function.name),
    ).toEqual(['b']);
    expect(toOllamaRequest({ messages, tools, toolChoice: 'required' }, ctx).tools).toHaveLength(2);
  });

  it('merges providerOptions.ollama last, and its options into the sampling options', () => {
    const body = toOllamaRequest(
      {
        messages: [{ role: 'user', content: 'x' }],
        temperature: 0.5,
        providerOptions: {
          ollama: { keep_alive: -1, options: { num_ctx: 8192, temperature: 0 } },
          openai: { x: 1 },
        },
      },
      { ...ctx, keepAlive: '5m' },
    );
    expect(body.keep_alive).toBe(-1);
    expect(body.options).toEqual({ temperature: 0, num_ctx: 8192 });
    expect(body).not.toHaveProperty('x');
  });
});
