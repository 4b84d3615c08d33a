/**
 * Each vendor SDK's own streaming loop, written as its documentation shows: the baseline rxllm's SDK
 * transport is held to.
 */
import { PROTOCOL_MODEL } from '../lib/protocols.js';
import { prompt, type ClientFactory } from '../lib/types.js';

export const sdkLoop: ClientFactory = async ({ protocol, fetch: customFetch }) => {
  const model = PROTOCOL_MODEL[protocol];
  const clients = new Map<string, unknown>();
  const client = <T>(base: string, make: () => T): T => {
    let c = clients.get(base) as T | undefined;
    if (!c) clients.set(base, (c = make()));
    return c;
  };
  switch (protocol) {
    case 'openai': {
      const { default: OpenAI } = await import('openai');
      return async (base, onText) => {
        const sdk = client(
          base,
          () =>
            new OpenAI({
              apiKey: 'bench-key',
              baseURL: `${base}/v1`,
              maxRetries: 0,
              ...(customFetch && { fetch: customFetch }),
            }),
        );
        const stream = await sdk.chat.completions.create({
          model,
          messages: [{ role: 'user', content: prompt() }],
          stream: true,
          stream_options: { include_usage: true },
        });
        for await (const chunk of stream) {
          const text = chunk.choices[0]?.delta?.content;
          if (text) onText(text);
        }
      };
    }
    case 'anthropic': {
      const { default: Anthropic } = await import('@anthropic-ai/sdk');
      return async (base, onText) => {
        const sdk = client(
          base,
          () =>
            new Anthropic({
              apiKey: 'bench-key',
              baseURL: base,
              maxRetries: 0,
              ...(customFetch && { fetch: customFetch }),
            }),
        );
        const stream = await sdk.messages.create({
          model,
          max_tokens: 4096,
          messages: [{ role: 'user', content: prompt() }],
          stream: true,
        });
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
            onText(event.delta.text);
        }
      };
    }
    case 'gemini': {
      const { GoogleGenerativeAI } = await import('@google/generative-ai');
      return async (base, onText) => {
        const generative = client(base, () =>
          new GoogleGenerativeAI('bench-key').getGenerativeModel({ model }, { baseUrl: base }),
        );
        const result = await generative.generateContentStream(prompt());
        for await (const chunk of result.stream) {
          const text = chunk.text();
          if (text) onText(text);
        }
        await result.response;
      };
    }
    case 'ollama': {
      const { Ollama } = await import('ollama');
      return async (base, onText) => {
        const sdk = client(
          base,
          () => new Ollama({ host: base, ...(customFetch && { fetch: customFetch }) }),
        );
        const stream = await sdk.chat({
          model,
          messages: [{ role: 'user', content: prompt() }],
          stream: true,
        });
        for await (const part of stream) {
          if (part.message.content) onText(part.message.content);
        }
      };
    }
  }
};
