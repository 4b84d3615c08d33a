import { LLMError } from '../../core/errors.js';
import type { OllamaErrorContext, SdkResponseInfo } from './errors.js';
import { isJson } from '../../transport/http.js';

const NEWLINE = 0x0a;

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
  // One streaming decode per network read (a character split across reads is joined); only the text of
  // the last, unfinished line is carried over. Newlines are single bytes that never occur inside a UTF-8
  // sequence, so the n-th newline of the text is the n-th newline byte of the read.
  const decoder = new TextDecoder();
  let partial = '';
  let failure: LLMError | undefined;

  /** Offset in `bytes` where the first malformed complete line starts, or -1 if every complete line is JSON. */
  function scan(bytes: Uint8Array): number {
    const text = partial + decoder.decode(bytes, { stream: true });
    let start = 0;
    let lines = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (!isSimpleJsonLine(text, start, nl)) {
        const line = text.slice(start, nl).trim();
        if (line.length > 0 && !isJson(line)) return lineStart(bytes, lines);
      }
      lines++;
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

/** Offset in `bytes` just after its `lines`-th newline (0 for the line that began in an earlier read). */
function lineStart(bytes: Uint8Array, lines: number): number {
  let offset = 0;
  for (let n = 0; n < lines; n++) offset = bytes.indexOf(NEWLINE, offset) + 1;
  return offset;
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
