/** The peer stacks, on the OpenAI protocol: Vercel's AI SDK and LangChain.js. */
import { PROTOCOL_MODEL } from '../lib/protocols.js';
import { prompt, type ClientFactory } from '../lib/types.js';

/** AI SDK: `streamText({ model: openai.chat(...) })` → `textStream` (chat completions, as the others). */
export const aiSdk: ClientFactory = async ({ protocol, fetch: customFetch }) => {
  if (protocol !== 'openai') throw new Error('ai-sdk: the benchmark runs it on the OpenAI protocol only');
  const { streamText } = await import('ai');
  const { createOpenAI } = await import('@ai-sdk/openai');
  const providers = new Map<string, ReturnType<typeof createOpenAI>>();
  return async (base, onText) => {
    let provider = providers.get(base);
    if (!provider) {
      provider = createOpenAI({
        apiKey: 'bench-key',
        baseURL: `${base}/v1`,
        ...(customFetch && { fetch: customFetch }),
      });
      providers.set(base, provider);
    }
    const result = streamText({
      model: provider.chat(PROTOCOL_MODEL.openai),
      messages: [{ role: 'user', content: prompt() }],
      maxRetries: 0,
      onError: () => undefined,
    });
    for await (const text of result.textStream) onText(text);
  };
};

/** LangChain.js: `new ChatOpenAI(...).stream(messages)`, each chunk's string content. */
export const langchain: ClientFactory = async ({ protocol, fetch: customFetch }) => {
  if (protocol !== 'openai') throw new Error('langchain: the benchmark runs it on the OpenAI protocol only');
  const { ChatOpenAI } = await import('@langchain/openai');
  const models = new Map<string, InstanceType<typeof ChatOpenAI>>();
  return async (base, onText) => {
    let llm = models.get(base);
    if (!llm) {
      llm = new ChatOpenAI({
        model: PROTOCOL_MODEL.openai,
        apiKey: 'bench-key',
        maxRetries: 0,
        streamUsage: true,
        configuration: { baseURL: `${base}/v1`, ...(customFetch && { fetch: customFetch }) },
      });
      models.set(base, llm);
    }
    const stream = await llm.stream([{ role: 'user', content: prompt() }]);
    for await (const chunk of stream) {
      if (typeof chunk.content === 'string' && chunk.content.length > 0) onText(chunk.content);
    }
  };
};
