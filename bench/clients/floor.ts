/**
 * The floor: the least any JavaScript client must do to read a stream. `fetch`, a streaming
 * `TextDecoder`, `eventsource-parser` and one `JSON.parse` per SSE event (a newline split per NDJSON line
 * for Ollama), and the text field picked out of each chunk. No error handling, no abstraction.
 */
import { createParser } from 'eventsource-parser';
import { PROTOCOL_MODEL, type ProtocolName } from '../lib/protocols.js';
import { prompt, type ClientFactory, type OnText } from '../lib/types.js';

interface Target {
  readonly path: string;
  readonly headers: Record<string, string>;
  body(): unknown;
  /** Text of one parsed chunk (SSE data or NDJSON line), or undefined. */
  text(data: string, event: string | undefined): string | undefined;
}

function target(protocol: ProtocolName): Target {
  const model = PROTOCOL_MODEL[protocol];
  const messages = () => [{ role: 'user', content: prompt() }];
  switch (protocol) {
    case 'openai':
      return {
        path: '/v1/chat/completions',
        headers: { authorization: 'Bearer bench', accept: 'text/event-stream' },
        body: () => ({ model, messages: messages(), stream: true, stream_options: { include_usage: true } }),
        text: (data) => {
          if (data === '[DONE]') return undefined;
          const chunk = JSON.parse(data) as { choices: { delta?: { content?: string | null } }[] };
          return chunk.choices[0]?.delta?.content ?? undefined;
        },
      };
    case 'anthropic':
      return {
        path: '/v1/messages',
        headers: { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01', accept: 'text/event-stream' },
        body: () => ({ model, max_tokens: 4096, messages: messages(), stream: true }),
        text: (data, event) => {
          if (event !== 'content_block_delta') return undefined;
          const chunk = JSON.parse(data) as { delta: { type: string; text?: string } };
          return chunk.delta.type === 'text_delta' ? chunk.delta.text : undefined;
        },
      };
    case 'gemini':
      return {
        path: `/v1beta/models/${model}:streamGenerateContent?alt=sse`,
        headers: { 'x-goog-api-key': 'bench' },
        body: () => ({ contents: [{ role: 'user', parts: [{ text: prompt() }] }] }),
        text: (data) => {
          const chunk = JSON.parse(data) as {
            candidates?: { content?: { parts?: { text?: string }[] } }[];
          };
          const parts = chunk.candidates?.[0]?.content?.parts;
          if (!parts) return undefined;
          let text = '';
          for (const part of parts) if (part.text) text += part.text;
          return text;
        },
      };
    case 'ollama':
      return {
        path: '/api/chat',
        headers: {},
        body: () => ({ model, messages: messages(), stream: true }),
        text: (line) => (JSON.parse(line) as { message?: { content?: string } }).message?.content,
      };
  }
}

export const floor: ClientFactory = async ({ protocol, fetch: doFetch = fetch }) => {
  const t = target(protocol);
  const ndjson = protocol === 'ollama';
  return async (base: string, onText: OnText) => {
    const response = await doFetch(base + t.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.headers },
      body: JSON.stringify(t.body()),
    });
    if (!response.ok || !response.body) throw new Error(`floor: HTTP ${response.status}`);
    const decoder = new TextDecoder();
    const deliver = (data: string, event: string | undefined): void => {
      const text = t.text(data, event);
      if (text) onText(text);
    };
    let feed: (text: string) => void;
    if (ndjson) {
      let buffered = '';
      feed = (text) => {
        buffered += text;
        let start = 0;
        for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n', start)) {
          if (nl > start) deliver(buffered.slice(start, nl), undefined);
          start = nl + 1;
        }
        buffered = buffered.slice(start);
      };
    } else {
      const parser = createParser({ onEvent: (message) => deliver(message.data, message.event) });
      feed = (text) => parser.feed(text);
    }
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
    }
    feed(decoder.decode());
  };
};
