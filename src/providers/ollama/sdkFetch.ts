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
  const decoder = new TextDecoder();
  let line: Uint8Array[] = [];
  let failure: LLMError | undefined;

  /** Offset in `bytes` where the first malformed complete line starts, or -1 if every complete line is JSON. */
  function scan(bytes: Uint8Array): number {
    let start = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, start)) {
      line.push(bytes.subarray(start, nl));
      const text = decoder.decode(concat(line)).trim();
      line = [];
      if (text.length > 0 && !isJson(text)) return start;
      start = nl + 1;
    }
    line.push(bytes.slice(start));
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

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
