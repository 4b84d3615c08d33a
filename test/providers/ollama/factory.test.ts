import { afterEach, describe, expect, it, vi } from 'vitest';
import { ollama, normalizeOllamaHost } from '../../../src/providers/ollama/index.js';
import { outcome } from './run.js';

/** A fetch that records where it was sent and what headers it carried, then answers one final line. */
function recorder() {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) } });
    return new Response(
      '{"model":"m","message":{"role":"assistant","content":"hi"},"done":true,"done_reason":"stop"}\n',
    );
  };
  return { calls, fetch };
}

const request = { messages: [{ role: 'user' as const, content: 'x' }] };

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('normalizeOllamaHost', () => {
  it.each([
    ['http://127.0.0.1:11434', 'http://127.0.0.1:11434'],
    ['http://localhost:11434/', 'http://localhost:11434'],
    ['http://localhost:11434/api', 'http://localhost:11434'],
    ['0.0.0.0:11434', 'http://0.0.0.0:11434'],
    [':8080', 'http://127.0.0.1:8080'],
    ['gpu-box', 'http://gpu-box:11434'],
    ['https://ollama.com', 'https://ollama.com'],
    ['http://proxy.local/ollama/', 'http://proxy.local/ollama'],
  ])('%s → %s', (raw, expected) => {
    expect(normalizeOllamaHost(raw)).toBe(expected);
  });
});

describe('ollama()', () => {
  it('defaults to 127.0.0.1:11434 and sends no authorization', async () => {
    vi.stubEnv('OLLAMA_HOST', '');
    const { calls, fetch } = recorder();
    const result = await outcome(ollama({ model: 'm', fetch }).stream(request));
    expect(result.error).toBeUndefined();
    expect(calls[0]?.url).toBe('http://127.0.0.1:11434/api/chat');
    expect(calls[0]?.headers).not.toHaveProperty('authorization');
  });

  it('reads OLLAMA_HOST; host and baseURL win over it', async () => {
    vi.stubEnv('OLLAMA_HOST', 'gpu-box:9999');
    const { calls, fetch } = recorder();
    await outcome(ollama({ model: 'm', fetch }).stream(request));
    await outcome(ollama({ model: 'm', fetch, baseURL: 'http://a:1' }).stream(request));
    await outcome(ollama({ model: 'm', fetch, host: 'http://b:2', baseURL: 'http://a:1' }).stream(request));
    expect(calls.map((c) => c.url)).toEqual([
      'http://gpu-box:9999/api/chat',
      'http://a:1/api/chat',
      'http://b:2/api/chat',
    ]);
  });

  it('sends OLLAMA_API_KEY only to ollama.com; an explicit apiKey everywhere', async () => {
    vi.stubEnv('OLLAMA_API_KEY', 'env-key-0123456789');
    const { calls, fetch } = recorder();
    await outcome(ollama({ model: 'm', fetch, host: 'http://127.0.0.1:11434' }).stream(request));
    await outcome(ollama({ model: 'm', fetch, host: 'https://ollama.com' }).stream(request));
    await outcome(ollama({ model: 'm', fetch, apiKey: 'explicit-key-0123456789' }).stream(request));
    expect(calls.map((c) => c.headers['authorization'])).toEqual([
      undefined,
      'Bearer env-key-0123456789',
      'Bearer explicit-key-0123456789',
    ]);
  });

  it('is cold: nothing is sent before subscribe', () => {
    const { calls, fetch } = recorder();
    ollama({ model: 'm', fetch }).stream(request);
    expect(calls).toEqual([]);
  });

  it('reports a custom provider name and the request model', async () => {
    const { fetch } = recorder();
    const model = ollama({ model: 'm', fetch, name: 'local' });
    expect([model.provider, model.model]).toEqual(['local', 'm']);
    const result = await outcome(model.stream({ ...request, model: 'other' }));
    expect(result.events[0]).toEqual({
      type: 'start',
      provider: 'local',
      model: 'other',
      responseModel: 'm',
    });
  });
});
