import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { gemini } from '../../../src/providers/gemini/index.js';
import { geminiProtocol } from '../../../src/testing/simulator/protocols/gemini.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { type Outcome, run, WIRE_SAMPLE, withoutResponseId } from './helpers.js';

const MODEL = 'gemini-2.0-flash';
const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const encoder = new TextEncoder();

function rendered(scenario: Parameters<typeof resolveScenario>[0], errorAtEnd = false): Uint8Array {
  const { head, content, tail } = geminiProtocol.render(resolveScenario(scenario, MODEL, 40), 'resp-1');
  const frames = [
    ...head,
    ...content,
    ...(errorAtEnd ? [geminiProtocol.errorFrame('overloaded', 'Busy')] : tail),
  ];
  return encoder.encode(frames.join(''));
}

/** Valid Gemini bodies: the recorded sample, and simulator renderings full of multi-byte text. */
const BODIES: readonly Uint8Array[] = [
  new Uint8Array(WIRE_SAMPLE),
  rendered({
    text: ['Hé', ' 👋🏽', ' 世界', ' CO₂', ' ₂₂', ' 🇫🇷&<>', ' 😀😀'],
    toolCalls: [{ name: 'weather', args: { city: 'Zürich', note: '雨 ☔' } }],
    usage: { inputTokens: 7, outputTokens: 9, cachedInputTokens: 2 },
  }),
  rendered({ text: ['日本語', 'のテキスト', '🎌'], usage: { inputTokens: 3, outputTokens: 3 } }, true),
];

/** Positions where a cut is hardest: inside a UTF-8 sequence, and between CR and LF. */
function awkwardCuts(bytes: Uint8Array): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if ((byte & 0xc0) === 0x80 || (bytes[i - 1] === 13 && byte === 10)) cuts.push(i);
  }
  return cuts;
}

function cutAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const sorted = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const cut of sorted) {
    pieces.push(bytes.slice(from, cut));
    from = cut;
  }
  pieces.push(bytes.slice(from));
  return pieces;
}

function sseResponse(pieces: readonly Uint8Array[]): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
}

/** The direct transport on these exact network pieces (a custom fetch). */
function direct(pieces: readonly Uint8Array[]): Promise<Outcome> {
  const fetch = async (): Promise<Response> => sseResponse(pieces);
  return run(gemini({ apiKey: 'test-key-123456', model: MODEL, fetch }).stream(request));
}

/**
 * The real SDK on these exact pieces. `@google/generative-ai` takes no custom fetch, but it looks the
 * global one up on every call, so the test stubs the global.
 */
async function sdk(pieces: readonly Uint8Array[]): Promise<Outcome> {
  vi.stubGlobal('fetch', async () => sseResponse(pieces));
  try {
    return await run(gemini({ apiKey: 'test-key-123456', model: MODEL, transport: 'sdk' }).stream(request));
  } finally {
    vi.unstubAllGlobals();
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const split = fc
  .integer({ min: 0, max: BODIES.length - 1 })
  .chain((index) => {
    const bytes = BODIES[index] as Uint8Array;
    return fc.record({
      index: fc.constant(index),
      cuts: fc.tuple(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        fc.subarray(awkwardCuts(bytes)),
      ),
    });
  })
  .map(({ index, cuts }) => ({
    index,
    pieces: cutAt(BODIES[index] as Uint8Array, [...cuts[0], ...cuts[1]]),
  }));

describe('any split of a valid Gemini body gives the same events', () => {
  let expected: Outcome[];
  beforeAll(async () => {
    expected = await Promise.all(BODIES.map((bytes) => direct([bytes])));
  });

  it('the unsplit bodies map as expected (sanity)', () => {
    expect(expected[0]?.events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(expected[1]?.events.map((e) => e.type)).toEqual([
      'start',
      ...Array<'text'>(7).fill('text'),
      'tool-call-delta',
      'tool-call',
      'usage',
      'finish',
    ]);
    expect(expected[2]?.error).toMatchObject({ kind: 'unavailable', status: 503 });
  });

  it('direct transport (custom fetch, exact pieces)', async () => {
    await fc.assert(
      fc.asyncProperty(split, async ({ index, pieces }) => {
        expect(await direct(pieces)).toEqual(expected[index]);
      }),
      { numRuns: 100 },
    );
  });

  it('sdk transport (stubbed global fetch, exact pieces)', async () => {
    await fc.assert(
      fc.asyncProperty(split, async ({ index, pieces }) => {
        expect(await sdk(pieces)).toEqual(expected[index]);
      }),
      { numRuns: 100 },
    );
  });

  it('every piece one byte long, both transports', async () => {
    for (const [index, bytes] of BODIES.entries()) {
      const pieces = cutAt(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      );
      expect(await direct(pieces)).toEqual(expected[index]);
      expect(await sdk(pieces)).toEqual(expected[index]);
    }
  });
});

describe('the sdk transport over a real socket, frames split by the simulator', () => {
  let sizes: readonly number[] = [1];
  let sim: Simulator;
  beforeAll(async () => {
    sim = await createSimulator({
      protocols: [geminiProtocol],
      split: (frame) => {
        const pieces: Buffer[] = [];
        for (let at = 0, i = 0; at < frame.length; i++) {
          const size = sizes[i % sizes.length] as number;
          pieces.push(frame.subarray(at, at + size));
          at += size;
        }
        return pieces;
      },
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('gives the events of the unsplit stream', async () => {
    const scenario = {
      text: ['Hé', ' 👋🏽', ' 世界', ' CO₂ ₂'],
      toolCalls: [{ name: 'f', args: { q: '☔' } }],
      usage: { inputTokens: 4, outputTokens: 5 },
    };
    sizes = [1 << 20];
    sim.enqueue(scenario);
    const whole = await run(gemini({ apiKey: 'k-12345678', baseURL: sim.url, model: MODEL }).stream(request));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
        async (next) => {
          sizes = next;
          sim.enqueue(scenario);
          const model = gemini({ apiKey: 'k-12345678', baseURL: sim.url, model: MODEL, transport: 'sdk' });
          const got = await run(model.stream(request));
          expect(withoutResponseId(got.events)).toEqual(withoutResponseId(whole.events));
          expect(got.error).toBeUndefined();
        },
      ),
      { numRuns: 20 },
    );
  });
});

/**
 * Where `@google/generative-ai` 0.24's SSE reader (`/^data\: (.*)(?:\n\n|\r\r|\r\n\r\n)/` over the
 * buffered text) is narrower than SSE: valid bodies Google does not send, on which the transports differ.
 * These tests pin the divergence so a change in the SDK shows up.
 */
describe('known SDK divergences on valid SSE that Google does not send', () => {
  const ok =
    'data: {"candidates": [{"content": {"parts": [{"text": "ok"}]},"finishReason": "STOP"}]}\r\n\r\n';

  it.each([
    ['a comment (keep-alive) line', `: keep-alive\r\n\r\n${ok}`],
    ['a data field without the space', ok.replace('data: ', 'data:')],
    ['a raw U+2028 inside a JSON string', ok.replace('"ok"', '"o\u2028k"')],
    ['a payload spread over two data lines', ok.replace('{"text": "ok"}', '{"text":\r\ndata: "ok"}')],
    ['an id field before the data', `id: 1\r\n${ok}`],
  ])('%s: direct parses it, the SDK fails with incomplete', async (_name, body) => {
    const pieces = [encoder.encode(body)];
    const viaDirect = await direct(pieces);
    expect(viaDirect.error).toBeUndefined();
    expect(viaDirect.events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    const viaSdk = await sdk(pieces);
    // The SDK's reader never matches the frame, holds the rest of the body, and at its end reports
    // "Failed to parse stream", which maps to `incomplete` (retryable) — never a silent success.
    expect(viaSdk.error?.kind).toBe('incomplete');
  });

  it('both accept LF and CR line endings, and both fail with incomplete on a last frame cut before its blank line', async () => {
    const lf = encoder.encode(ok.replace(/\r\n/g, '\n'));
    const cr = encoder.encode(ok.replace(/\r\n/g, '\r'));
    for (const bytes of [lf, cr]) {
      expect((await direct([bytes])).events.at(-1)).toMatchObject({ type: 'finish' });
      expect((await sdk([bytes])).events.at(-1)).toMatchObject({ type: 'finish' });
    }
    const cut = [encoder.encode(ok.slice(0, -2))];
    expect((await direct(cut)).error?.kind).toBe('incomplete');
    expect((await sdk(cut)).error?.kind).toBe('incomplete');
  });

  it('invalid UTF-8: direct decodes it as U+FFFD, the SDK (fatal decoder) fails with network', async () => {
    const bytes = encoder.encode(ok.replace('"ok"', '"oXk"'));
    bytes[bytes.indexOf(0x58)] = 0xff;
    const viaDirect = await direct([bytes]);
    expect(viaDirect.events.find((e) => e.type === 'text')).toEqual({ type: 'text', text: 'o\uFFFDk' });
    const viaSdk = await sdk([bytes]);
    expect(viaSdk.error?.kind).toBe('network');
  });
});
