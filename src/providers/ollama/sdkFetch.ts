import { LLMError } from '../../core/errors.js';
import type { OllamaErrorContext, SdkResponseInfo } from './errors.js';
import { isJson } from '../../transport/http.js';

/**
 * The `fetch` rxllm hands the `ollama` SDK it creates: the caller's `fetch`, plus three things the SDK
 * does not do on its own.
 *
 * Intuition: the SDK has no per-request signal, skips malformed NDJSON lines with a `console.warn`, and
 * drops the headers of an error response. This `fetch` aborts with `signal` in every phase (also before
 * the headers arrive, when the SDK's iterator does not exist yet), fails the body with `invalid_response`
 * at the first complete line that is not JSON (after every good line before it was read, so both
 * transports emit the same events), and keeps an error response's headers in `seen` for `retry-after`.
 * The bytes pass through unchanged, split as the network split them.
 *
 * ## Example
 * ```ts
 * const seen: SdkResponseInfo = {};
 * const client = new Ollama({ host, fetch: guardedFetch(fetch, controller.signal, seen, context) });
 * ```
 *
 * @param base The `fetch` to call.
 * @param signal Aborts the request (and its body) when it fires.
 * @param seen Receives the headers of a non-2xx response.
 * @param context Provider and model, for the `invalid_response` error.
 * @returns A `fetch` for the SDK's `Config.fetch`.
 */
export function guardedFetch(
  base: typeof fetch,
  signal: AbortSignal,
  seen: SdkResponseInfo,
  context: OllamaErrorContext,
): typeof fetch {
  return async (input, init) => {
    const combined = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const response = await base(input, { ...init, signal: combined });
    if (!response.ok) {
      seen.headers = response.headers;
      return response;
    }
    if (response.body === null) return response;
    return new Response(guardNdjson(response.body, context), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * `body` unchanged, except that it fails with `invalid_response` instead of passing on a complete line
 * that is not JSON. Bytes before that line are delivered first; the error comes on the next read.
 */
function guardNdjson(
  body: ReadableStream<Uint8Array>,
  context: OllamaErrorContext,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // Each read is scanned as Latin-1 text: one character per byte, so string offsets are byte offsets, a
  // character split across reads needs no care, and no UTF-8 decode runs per read (the SDK decodes
  // again anyway). JSON's structure is ASCII; bytes above 0x7f are legal only inside strings, where the
  // simple-line expression accepts any character from U+0080 up, so it gives the verdict it would give
  // the UTF-8 text. Only a line it does not match is decoded as UTF-8, for `JSON.parse`.
  let partial = '';
  let failure: LLMError | undefined;

  /** Offset in `bytes` where the first malformed complete line starts, or -1 if every complete line is JSON. */
  function scan(bytes: Uint8Array): number {
    const text = partial + latin1(bytes);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (!isSimpleJsonLine(text, start, nl)) {
        const line = utf8(text.slice(start, nl)).trim();
        // A line that began in an earlier read is cut at this read's first byte.
        if (line.length > 0 && !isJson(line)) return Math.max(0, start - partial.length);
      }
      start = nl + 1;
    }
    partial = start === 0 ? text : text.slice(start);
    return -1;
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (failure) {
            controller.error(failure);
            reader.cancel().catch(() => undefined);
            return;
          }
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          const cut = scan(value);
          if (cut !== -1) {
            failure = new LLMError('invalid_response', `${context.provider}: malformed chunk in the stream`, {
              provider: context.provider,
              model: context.model,
            });
            // Deliver the good bytes now. The error waits for the next read: erroring a stream discards what
            // it still queues, and these bytes must reach the SDK before the failure does.
            if (cut > 0) {
              controller.enqueue(value.subarray(0, cut));
              return;
            }
            continue;
          }
          if (value.byteLength > 0) {
            controller.enqueue(value);
            return;
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

interface NodeBufferClass {
  from(buffer: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'latin1'): string };
}
const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;
const latin1Decoder = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder();
/** The byte behind each character `latin1Decoder` gives; built on first use, where there is no Buffer. */
let decodedBytes: Map<number, number> | undefined;

/**
 * `bytes` as Latin-1 text, one character per byte. Node's `Buffer` gives each byte's own code;
 * elsewhere `TextDecoder('latin1')` (windows-1252, by the Encoding standard) maps each byte to one
 * character too: ASCII unchanged, every other byte to a character from U+0080 up.
 */
function latin1(bytes: Uint8Array): string {
  return NodeBuffer
    ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    : latin1Decoder.decode(bytes);
}

/** The UTF-8 text of bytes held as {@link latin1} text. */
function utf8(text: string): string {
  if (!NodeBuffer && !decodedBytes) {
    const all = latin1Decoder.decode(Uint8Array.from({ length: 256 }, (_, byte) => byte));
    decodedBytes = new Map();
    for (let byte = 0; byte < 256; byte++) decodedBytes.set(all.charCodeAt(byte), byte);
  }
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes[i] = decodedBytes?.get(code) ?? code;
  }
  return utf8Decoder.decode(bytes);
}

// A strict subset of JSON, as a regular expression: objects nested at most three deep whose values are
// strings, numbers, `true`, `false` or `null` (no arrays), with no newline inside. Every Ollama token line
// has this shape. A line it matches is JSON for certain, checked in place without copying the line or
// building its object; any other line is settled by `JSON.parse`, so the outcome is the same.
const CHARS = String.raw`[^"\\\u0000-\u001f]*`;
const STRING = String.raw`"${CHARS}(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})${CHARS})*"`;
const SCALAR = String.raw`(?:${STRING}|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)`;
const WS = '[ \\t\\r]*';
const object = (value: string): string =>
  `\\{${WS}(?:${STRING}${WS}:${WS}${value}${WS}(?:,${WS}${STRING}${WS}:${WS}${value}${WS})*)?\\}`;
const NESTED = object(`(?:${SCALAR}|${object(`(?:${SCALAR}|${object(SCALAR)})`)})`);
const SIMPLE_JSON_LINE = new RegExp(`${WS}${NESTED}${WS}\n`, 'y');

/** True when `text` from `start` to the newline at `nl` is certainly JSON (false: it may still be). */
function isSimpleJsonLine(text: string, start: number, nl: number): boolean {
  SIMPLE_JSON_LINE.lastIndex = start;
  return SIMPLE_JSON_LINE.test(text) && SIMPLE_JSON_LINE.lastIndex === nl + 1;
}
