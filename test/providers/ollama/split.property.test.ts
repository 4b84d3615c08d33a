import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../../src/core/events.js';
import type { OllamaChatChunk } from '../../../src/providers/ollama/chunks.js';
import { ollama } from '../../../src/providers/ollama/index.js';
import { createOllamaMapper } from '../../../src/providers/ollama/map.js';
import { outcome, type Outcome } from './run.js';

const SAMPLE = readFileSync(new URL('../../fixtures/ollama/chat.ndjson', import.meta.url), 'utf8');

const line = (value: object): string => `${JSON.stringify(value)}\n`;
const msg = (message: object, done = false): string =>
  line({
    model: 'qwen3',
    created_at: '2025-11-19T14:03:21.1Z',
    message: { role: 'assistant', ...message },
    done,
  });

/** Thinking, text in several scripts, a whole tool call, then the final line. */
const RICH =
  msg({ content: '', thinking: 'Think: 東京 → CO₂' }) +
  msg({ content: 'Tōkyō 東京 emits CO₂ 🌤️' }) +
  msg({ content: ' — ok ✓' }) +
  msg({
    content: '',
    tool_calls: [{ function: { name: 'weather', arguments: { city: '東京', note: '🌧₂' } } }],
  }) +
  line({
    model: 'qwen3',
    created_at: '2025-11-19T14:03:22Z',
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 11,
    eval_count: 9,
  });

/** Good lines, then one that is not JSON, then more. */
const MALFORMED =
  msg({ content: 'α ' }) + msg({ content: 'β 🌤️' }) + '{"model":"qwen3","message":{"ro\n' + RICH;

const STREAMS = {
  sample: SAMPLE,
  rich: RICH,
  'rich with CRLF': RICH.replaceAll('\n', '\r\n'),
  malformed: MALFORMED,
};

/** A fetch that answers every call with `pieces` as the body, each a separate network read. */
function fetchOf(pieces: readonly Uint8Array[]): typeof fetch {
  return async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of pieces) controller.enqueue(piece);
          controller.close();
        },
      }),
      { status: 200, headers: { 'content-type': 'application/x-ndjson' } },
    );
}

function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.slice(from, point));
    from = point;
  }
  return pieces;
}

type Transport = 'direct' | 'sdk' | 'client';

function run(transport: Transport, pieces: readonly Uint8Array[]): Promise<Outcome> {
  const fetch = fetchOf(pieces);
  const base = { model: 'qwen3', host: 'http://127.0.0.1:1', pricing: { input: 0, output: 0 } };
  const model =
    transport === 'direct'
      ? ollama({ ...base, fetch })
      : transport === 'sdk'
        ? ollama({ ...base, transport: 'sdk', fetch })
        : ollama({ ...base, client: new Ollama({ host: base.host, fetch }) });
  return outcome(model.stream({ messages: [{ role: 'user', content: 'x' }] }));
}

/** What the mapper alone makes of the lines: the reference every split must reproduce. */
function reference(text: string): Outcome {
  const map = createOllamaMapper({ provider: 'ollama', model: 'qwen3', pricing: { input: 0, output: 0 } });
  const events: TokenEvent[] = [];
  const emit = (e: TokenEvent): void => void events.push(e);
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l.length === 0 || map.done) continue;
    let chunk: OllamaChatChunk;
    try {
      chunk = JSON.parse(l) as OllamaChatChunk;
    } catch {
      return { events };
    }
    map.chunk(chunk, emit);
  }
  map.end(emit);
  return { events };
}

const shape = (o: Outcome) => ({ events: o.events, kind: o.error?.kind });

describe.each(Object.entries(STREAMS))('ollama NDJSON re-split: %s', (name, text) => {
  const bytes = new TextEncoder().encode(text);
  const expected = reference(text);
  const expectedKind = name === 'malformed' ? 'invalid_response' : undefined;
  // The user's own client keeps the SDK's parser, which skips a malformed line instead of failing.
  const transports: Transport[] = name === 'malformed' ? ['direct', 'sdk'] : ['direct', 'sdk', 'client'];

  it.each(transports)(
    '%s: whole, byte by byte, and at random cuts give the same events',
    async (transport) => {
      const whole = await run(transport, [bytes]);
      expect(shape(whole)).toEqual({ events: expected.events, kind: expectedKind });
      const byByte = await run(
        transport,
        Array.from(bytes, (b) => Uint8Array.of(b)),
      );
      expect(shape(byByte)).toEqual(shape(whole));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
          async (cuts) => {
            const result = await run(transport, split(bytes, cuts));
            expect(shape(result)).toEqual(shape(whole));
          },
        ),
        { numRuns: 60 },
      );
    },
  );
});

it('the rich stream exercises splits inside multi-byte characters', () => {
  const bytes = new TextEncoder().encode(RICH);
  const insideChar = Array.from(bytes).filter((b) => (b & 0xc0) === 0x80).length;
  expect(insideChar).toBeGreaterThan(20);
});
