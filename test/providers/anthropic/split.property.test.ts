import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../../src/core/catalog.js';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import { anthropic } from '../../../src/providers/anthropic/index.js';
import type { Transport } from '../../../src/providers/shared/options.js';
import { anthropicProtocol } from '../../../src/testing/simulator/protocols/anthropic.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import { chunksOf, mapChunks, SAMPLE_SSE, SAMPLE_TEXT } from './helpers.js';

const MODEL = 'claude-haiku-4-5';
const TEXT = ['Photo', 'synthesis: 6CO₂ + 6H₂O', ' → C₆H₁₂O₆ 🌱', ' 光合作用', ' ✅ done.'];

/** A rendered stream with multi-byte text and a tool call, as the simulator (and the API) writes it. */
function renderedWire(): string {
  const scenario = resolveScenario(
    {
      text: TEXT,
      toolCalls: [{ id: 'toolu_01X', name: 'lookup', args: { term: 'C₆H₁₂O₆ 🌱', n: 2 }, chunks: 5 }],
      usage: { inputTokens: 50, outputTokens: 20, cachedInputTokens: 10 },
    },
    MODEL,
    10,
  );
  const { head, content, tail } = anthropicProtocol.render(scenario, 'sim-1');
  return [...head, ...content, ...tail].join('');
}

const OVERLOADED_WIRE =
  anthropicProtocol.render(resolveScenario({}, MODEL, 10), 'sim-2').head.join('') +
  anthropicProtocol.errorFrame('overloaded', 'Overloaded');

/** A `fetch` that answers 200 with `bytes` cut at `cuts` (byte offsets), one network read per piece. */
function splitFetch(bytes: Uint8Array, cuts: readonly number[]): typeof fetch {
  return () => {
    const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b);
    const pieces = points.slice(1).map((end, i) => bytes.slice(points[i], end));
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces[next++];
        if (piece === undefined) controller.close();
        else controller.enqueue(piece);
      },
    });
    return Promise.resolve(
      new Response(body, {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'request-id': 'req_1' },
      }),
    );
  };
}

function run(
  transport: Transport,
  fetchImpl: typeof fetch,
): Promise<{ events: TokenEvent[]; error?: LLMError }> {
  const claude = anthropic({ apiKey: 'sk-ant-split-test-123456', model: MODEL, transport, fetch: fetchImpl });
  const events: TokenEvent[] = [];
  return new Promise((resolve) => {
    claude.stream({ messages: [{ role: 'user', content: 'x' }] }).subscribe({
      next: (e) => void events.push(e),
      error: (error: unknown) => resolve({ events, error: error as LLMError }),
      complete: () => resolve({ events }),
    });
  });
}

/** A cut after every byte of the CRLF form of `text`. */
const everyByte = (text: string): number[] =>
  Array.from({ length: new TextEncoder().encode(text.replace(/\n/g, '\r\n')).length }, (_, i) => i);

const wires = [
  { name: 'rendered stream (emoji, CJK, subscripts, a tool call)', text: renderedWire() },
  { name: 'recorded wire sample', text: SAMPLE_SSE },
];

describe('any split of the wire gives the same events', () => {
  for (const wire of wires) {
    const expected = mapChunks(chunksOf(wire.text, MODEL), {
      model: MODEL,
      pricing: defaultCatalog.get('anthropic', MODEL)?.pricing,
    });
    it(`reference mapping of the ${wire.name} is a complete stream`, () => {
      expect(expected.error).toBeUndefined();
      expect(expected.events.at(-1)?.type).toBe('finish');
      const text = expected.events.map((e) => (e.type === 'text' ? e.text : '')).join('');
      expect(text).toBe(wire.text === SAMPLE_SSE ? SAMPLE_TEXT : TEXT.join(''));
    });

    for (const transport of ['direct', 'sdk'] as const) {
      it(`${transport}: ${wire.name}, split anywhere (inside UTF-8, between CR and LF)`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.boolean(), fc.array(fc.nat(), { maxLength: 40 }), async (crlf, rawCuts) => {
            const text = crlf ? wire.text.replace(/\n/g, '\r\n') : wire.text;
            const bytes = new TextEncoder().encode(text);
            const cuts = rawCuts.map((c) => c % (bytes.length + 1));
            const { events, error } = await run(transport, splitFetch(bytes, cuts));
            expect(error).toBeUndefined();
            expect(events).toEqual(expected.events);
          }),
          // Plus the extreme: one byte per read, which cuts inside every multi-byte character and CRLF.
          { numRuns: 60, examples: [[true, everyByte(wire.text)]] },
        );
      });
    }
  }

  for (const transport of ['direct', 'sdk'] as const) {
    it(`${transport}: HTTP 200 then overloaded_error, split anywhere → overloaded, retryable, no content`, async () => {
      const bytes = new TextEncoder().encode(OVERLOADED_WIRE);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { maxLength: 20 }), async (rawCuts) => {
          const { events, error } = await run(
            transport,
            splitFetch(
              bytes,
              rawCuts.map((c) => c % (bytes.length + 1)),
            ),
          );
          expect(events.map((e) => e.type)).toEqual(['start']);
          expect(LLMError.isInstance(error) && error.kind).toBe('overloaded');
          expect(error?.retryable).toBe(true);
        }),
        { numRuns: 30 },
      );
    });
  }
});
