import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import { guardedFetch } from '../../../src/providers/ollama/sdkFetch.js';

const context = { provider: 'ollama', model: 'llama3.2' };

/** Serves `reads` of raw bytes through `guard`; returns the delivered bytes and the error kind. */
async function bytesThrough(
  reads: readonly Uint8Array[],
  guard: typeof guardedFetch = guardedFetch,
): Promise<{ bytes: number[]; error?: string }> {
  const base: typeof fetch = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const read of reads) controller.enqueue(read);
          controller.close();
        },
      }),
    );
  const response = await guard(base, new AbortController().signal, {}, context)('http://x/api/chat');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const bytes: number[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes };
      bytes.push(...value);
    }
  } catch (error) {
    return { bytes, error: LLMError.isInstance(error) ? error.kind : String(error) };
  }
}

/** Serves `reads` (each one network read) as UTF-8 through the guard; the delivered text and error kind. */
async function through(reads: readonly string[]): Promise<{ text: string; error?: string }> {
  const encoder = new TextEncoder();
  const { bytes, error } = await bytesThrough(reads.map((read) => encoder.encode(read)));
  const text = new TextDecoder().decode(Uint8Array.from(bytes));
  return error === undefined ? { text } : { text, error };
}

/** What the guard must deliver, line by line: every byte, or those before the first bad complete line. */
function reference(body: Uint8Array, cuts: readonly number[]): { bytes: number[]; error?: string } {
  const decoder = new TextDecoder();
  let start = 0;
  for (let nl = body.indexOf(0x0a); nl !== -1; nl = body.indexOf(0x0a, start)) {
    const line = decoder.decode(body.subarray(start, nl)).trim();
    if (line.length > 0 && !isJsonText(line)) {
      // Reads before the one holding the newline were passed on whole.
      const readStart = Math.max(0, ...cuts.filter((cut) => cut <= nl));
      return { bytes: [...body.subarray(0, Math.max(start, readStart))], error: 'invalid_response' };
    }
    start = nl + 1;
  }
  return { bytes: [...body] };
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const goodLine = fc
  .record({
    message: fc.record({ role: fc.constant('assistant'), content: fc.string({ unit: 'binary' }) }),
    done: fc.boolean(),
    extra: fc.jsonValue({ maxDepth: 2 }),
  })
  .map((chunk) => JSON.stringify(chunk));
const badLine = fc.oneof(
  fc.constantFrom('{"a":01}', '{"a":1,}', 'oops', '{"content":"caf\u00e9', '{"é":"東京"'),
  fc.string({ unit: 'binary', maxLength: 8 }).map((text) => `{"a":"${text}"`),
);
/** Bytes that are not UTF-8 (a lone continuation byte, a cut-off sequence) inside and outside strings. */
const rawLine = fc.constantFrom(
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0xff, 0x22, 0x7d]),
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xe6, 0x9d, 0x7d]),
  // In an array, so the line is settled by JSON.parse; windows-1252 reads 0x91 as U+2018.
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x5b, 0x22, 0x91, 0xe2, 0x80, 0x99, 0x22, 0x5d, 0x7d]),
);
const body = fc
  .record({
    lines: fc.array(fc.oneof({ arbitrary: goodLine, weight: 6 }, badLine, rawLine, fc.constant('  ')), {
      maxLength: 8,
    }),
    ending: fc.constantFrom('\n', '\r\n', ''),
  })
  .map(({ lines, ending }) => {
    const encoder = new TextEncoder();
    const parts = lines.map((line) => (typeof line === 'string' ? encoder.encode(line) : line));
    const joined: number[] = [];
    parts.forEach((part, i) => {
      joined.push(...part);
      if (i < parts.length - 1 || ending !== '')
        joined.push(...encoder.encode(i < parts.length - 1 ? '\n' : ending));
    });
    return Uint8Array.from(joined);
  });
const split = body.chain((bytes) =>
  fc.record({
    bytes: fc.constant(bytes),
    cuts: fc
      .uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 6 })
      .map((cuts) => cuts.filter((cut) => cut < bytes.length).sort((a, b) => a - b)),
  }),
);
const readsOf = (bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] =>
  [0, ...cuts].map((from, i) => bytes.slice(from, cuts[i] ?? bytes.length));

// Node's TextDecoder('latin1') decodes ISO-8859-1; a browser's follows the Encoding standard
// (windows-1252), whose bytes 0x80-0x9f are other characters. The browser test gets that decoder.
const CP1252 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
  0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
  0x153, 0x9d, 0x17e, 0x178,
];
class Windows1252Decoder extends TextDecoder {
  override decode(input?: AllowSharedBufferSource, options?: TextDecodeOptions): string {
    const text = super.decode(input, options);
    if (this.encoding !== 'windows-1252') return text;
    return text.replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252[c.charCodeAt(0) - 0x80] ?? 0));
  }
}

describe('guardedFetch', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('delivers what a line-by-line UTF-8 check would, under any split of the bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(split, async ({ bytes, cuts }) => {
        expect(await bytesThrough(readsOf(bytes, cuts))).toEqual(reference(bytes, cuts));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same verdicts where there is no Buffer (TextDecoder latin1, as in a browser)', async () => {
    vi.stubGlobal('Buffer', undefined);
    vi.stubGlobal('TextDecoder', Windows1252Decoder);
    vi.resetModules();
    const { guardedFetch: browserGuard } = await import('../../../src/providers/ollama/sdkFetch.js');
    vi.unstubAllGlobals(); // The module looked for Buffer as it loaded; Node's own Response needs it back.
    await fc.assert(
      fc.asyncProperty(split, async ({ bytes, cuts }) => {
        expect(await bytesThrough(readsOf(bytes, cuts), browserGuard)).toEqual(reference(bytes, cuts));
      }),
      { numRuns: 100 },
    );
  });

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
      expect(result.error).toBe('invalid_response');
    },
  );

  it('finds the bad line in a later read, delivering that read up to it', async () => {
    const good = '{"done":false}\n';
    const result = await through([good + '{"do', 'ne":fal}\n' + good, good]);
    expect(result.text).toBe(good + '{"do');
    expect(result.error).toBe('invalid_response');
    const second = await through([good, good + good + '{x}\n']);
    expect(second.text).toBe(good + good + good);
    expect(second.error).toBe('invalid_response');
  });
});
