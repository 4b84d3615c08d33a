/**
 * What the README's snippets run against in test/docs/readme.test.ts: the package itself (`rxllm`
 * resolves here), except that the four provider factories default to the wire-level simulator at
 * `simulator.url`, and the names the README leaves to the reader (`request`, `render`) are given values.
 * A snippet's own options still win, so the README's code runs as written.
 */
import * as rxllm from '../../src/index.js';
import type { ChatRequest, TokenEvent } from '../../src/index.js';

export * from '../../src/index.js';

/** The simulator the providers talk to; the test sets its URL before it runs a snippet. */
export const simulator = { url: '' };

/** `openai()` on the simulator. */
export const openai: typeof rxllm.openai = (options) =>
  rxllm.openai({ apiKey: 'test', baseURL: `${simulator.url}/v1`, ...options });

/** `anthropic()` on the simulator. */
export const anthropic: typeof rxllm.anthropic = (options) =>
  rxllm.anthropic({ apiKey: 'test', baseURL: simulator.url, ...options });

/** `gemini()` on the simulator. */
export const gemini: typeof rxllm.gemini = (options) =>
  rxllm.gemini({ apiKey: 'test', baseURL: simulator.url, ...options });

/** `ollama()` on the simulator. */
export const ollama: typeof rxllm.ollama = (options) => rxllm.ollama({ host: simulator.url, ...options });

/** The request the README sends without showing it. */
export const request: ChatRequest = { messages: [{ role: 'user', content: 'Name three primes.' }] };

/** Every event `render` received, in order. */
export const rendered: TokenEvent[] = [];

/** The README's UI sink: records the events. */
export function render(event: TokenEvent): void {
  rendered.push(event);
}

/** Names a snippet may use without declaring them. */
export const CONTEXT_NAMES = ['request', 'render'] as const;
