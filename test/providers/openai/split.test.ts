import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openai } from '../../../src/providers/openai/index.js';
import { openaiProtocol } from '../../../src/testing/simulator/protocols/openai.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import type { TokenEvent } from '../../../src/core/events.js';
import { outcome } from './run.js';

const TEXT = ['Ça', ' coûte', ' 5 €', ' — CO₂', ' 漢字', ' かな', ' 🎉🧪', ' 👩‍👩‍👧', ' done.'];

/** A valid OpenAI stream, rendered by the simulator's protocol, with multi-byte text and a tool call. */
function wire(lineEnding: '\n' | '\r\n'): Uint8Array {
  const scenario = resolveScenario(
    {
      text: TEXT,
      toolCalls: [{ id: 'call_1', name: 'note', args: { text: '温度 22 °C ☀️', unit: 'm²' }, chunks: 5 }],
      usage: { inputTokens: 12, outputTokens: 14, cachedInputTokens: 4 },
    },
    'gpt-4o-mini',
    40,
  );
  const r = openaiProtocol.render(scenario, 'split', { stream_options: { include_usage: true } });
  const text = [...r.head, ...r.content, ...r.tail].join('');
  return new TextEncoder().encode(lineEnding === '\n' ? text : text.replace(/\n/g, '\r\n'));
}

/** Cuts `bytes` at the given offsets. */
function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets)].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const at of points) {
    pieces.push(bytes.slice(from, at));
    from = at;
  }
  pieces.push(bytes.slice(from));
  return pieces;
}

let pieces: readonly Uint8Array[] = [];

/** A `fetch` that answers every request with the current pieces, each as its own network read. */
const fakeFetch: typeof fetch = async () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );

const common = { apiKey: 'sk-test-split-key-000001', model: 'gpt-4o-mini', fetch: fakeFetch };
const models = { direct: openai(common), sdk: openai({ ...common, transport: 'sdk' }) };
const request = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('any split of a valid stream gives the same events', () => {
  const lf = wire('\n');

  it('the unsplit stream gives the expected text and tool call', async () => {
    pieces = [lf];
    const { events, error } = await outcome(models.direct.stream(request));
    expect(error).toBeUndefined();
    const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    expect(text).toBe(TEXT.join(''));
    expect(events.find((e) => e.type === 'tool-call')).toMatchObject({
      args: { text: '温度 22 °C ☀️', unit: 'm²' },
    });
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      usage: { inputTokens: 12, outputTokens: 14, cachedInputTokens: 4 },
    });
  });

  it.each(['direct', 'sdk'] as const)('%s: random cuts, LF or CRLF', async (transport) => {
    pieces = [lf];
    const expected = (await outcome(models.direct.stream(request))).events;
    const crlf = wire('\r\n');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(fc.nat(), { maxLength: 40 }), async (useCrlf, cuts) => {
        const bytes = useCrlf ? crlf : lf;
        pieces = cutAt(
          bytes,
          cuts.map((c) => (c % (bytes.length - 1)) + 1),
        );
        const { events, error } = await outcome(models[transport].stream(request));
        expect(error).toBeUndefined();
        expect(events).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it.each(['direct', 'sdk'] as const)('%s: one byte per read', async (transport) => {
    pieces = [lf];
    const expected = (await outcome(models.direct.stream(request))).events;
    const crlf = wire('\r\n');
    pieces = cutAt(
      crlf,
      Array.from({ length: crlf.length - 1 }, (_, i) => i + 1),
    );
    expect((await outcome(models[transport].stream(request))).events).toEqual(expected);
  });
});

/** `events` with each run of adjacent `text` events joined into one. */
function joinTextRuns(events: readonly TokenEvent[]): TokenEvent[] {
  const out: TokenEvent[] = [];
  for (const event of events) {
    const last = out.at(-1);
    if (event.type === 'text' && last?.type === 'text')
      out[out.length - 1] = { type: 'text', text: last.text + event.text };
    else out.push(event);
  }
  return out;
}

describe('coalesceText: the text of one read becomes one event', () => {
  const lf = wire('\n');
  const coalescing = openai({ ...common, coalesceText: true });

  it('any split gives the same events once adjacent text is joined; one read gives two text events', async () => {
    pieces = [lf];
    const expected = joinTextRuns((await outcome(models.direct.stream(request))).events);
    const whole = (await outcome(coalescing.stream(request))).events;
    // The first piece at once (time to first token), the rest of the read merged.
    expect(whole.filter((e) => e.type === 'text').map((e) => e.type === 'text' && e.text)).toEqual([
      TEXT[0],
      TEXT.slice(1).join(''),
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        pieces = cutAt(
          lf,
          cuts.map((c) => (c % (lf.length - 1)) + 1),
        );
        const { events, error } = await outcome(coalescing.stream(request));
        expect(error).toBeUndefined();
        expect(joinTextRuns(events)).toEqual(expected);
        // Never more text events than reads (plus the first piece's own).
        expect(events.filter((e) => e.type === 'text').length).toBeLessThanOrEqual(pieces.length + 1);
      }),
      { numRuns: 60 },
    );
  });

  it('text mapped before a mid-stream error is delivered before the error', async () => {
    const errorFrame = 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
    const text = new TextDecoder().decode(lf);
    const cut = text.indexOf('data: ', text.indexOf(' done.'));
    pieces = [new TextEncoder().encode(text.slice(0, cut) + errorFrame)];
    const { events, error } = await outcome(coalescing.stream(request));
    expect(error?.kind).toBe('unavailable');
    expect(events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('')).toBe(TEXT.join(''));
  });
});
