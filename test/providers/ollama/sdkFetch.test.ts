import { describe, expect, it } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import { guardedFetch } from '../../../src/providers/ollama/sdkFetch.js';

const context = { provider: 'ollama', model: 'llama3.2' };

/** Serves `reads` (each one network read) through the guard; returns the delivered text and the error. */
async function through(reads: readonly string[]): Promise<{ text: string; error?: unknown }> {
  const encoder = new TextEncoder();
  const base: typeof fetch = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const read of reads) controller.enqueue(encoder.encode(read));
          controller.close();
        },
      }),
    );
  const response = await guardedFetch(base, new AbortController().signal, {}, context)('http://x/api/chat');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode() };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text: text + decoder.decode(), error };
  }
}

describe('guardedFetch', () => {
  it('passes every JSON line through, whatever its shape or whitespace', async () => {
    const lines = [
      '{"message":{"role":"assistant","content":" caf\\u00e9 \\"q\\" 東京"},"done":false}\n',
      '{"message":{"tool_calls":[{"function":{"name":"f","arguments":{"a":[1,2]}}}]}}\r\n',
      '  {"a":{"b":{"c":{"d":1}}}}  \n',
      '\n',
      '\ufeff{"bom":true}\n',
      '{"done":true,"eval_count":-1.5e3}',
    ];
    const body = lines.join('');
    for (const cut of [1, 7, 40, body.length]) {
      const result = await through([body.slice(0, cut), body.slice(cut)]);
      expect(result).toEqual({ text: body });
    }
  });

  it.each([
    ['a leading zero', '{"a":01}'],
    ['a trailing comma', '{"a":1,}'],
    ['a raw control character in a string', '{"a":"\t"}'],
    ['a cut-off object', '{"message":{"content":"x"}'],
    ['plain text', 'oops'],
  ])(
    'fails with invalid_response at a complete line with %s, after the good bytes before it',
    async (_, bad) => {
      const good = '{"message":{"content":"one"},"done":false}\n';
      const result = await through([good + bad + '\n' + good]);
      expect(result.text).toBe(good);
      expect(LLMError.isInstance(result.error) && result.error.kind).toBe('invalid_response');
    },
  );

  it('finds the bad line in a later read, delivering that read up to it', async () => {
    const good = '{"done":false}\n';
    const result = await through([good + '{"do', 'ne":fal}\n' + good, good]);
    expect(result.text).toBe(good + '{"do');
    expect(LLMError.isInstance(result.error) && result.error.kind).toBe('invalid_response');
    const second = await through([good, good + good + '{x}\n']);
    expect(second.text).toBe(good + good + good);
  });
});
