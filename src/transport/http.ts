import { createParser } from 'eventsource-parser';
import { errorFromResponse } from '../core/classify.js';
import { LLMError } from '../core/errors.js';

/** How a streamed HTTP body is framed. */
export type Framing = 'sse' | 'ndjson';

/** One streamed POST: where, what, and how the answer is framed. */
export interface HttpStreamRequest {
  readonly url: string;
  readonly headers: { readonly [name: string]: string };
  readonly body: unknown;
  readonly framing: Framing;
  /** A `fetch` to use instead of the global one (proxies, instrumentation). */
  readonly fetch?: typeof fetch;
  readonly provider: string;
  readonly model: string;
}

/**
 * Receives each frame's payload: for SSE the `data` field and the `event` name, for NDJSON one line.
 * Throwing (an `LLMError` for a mid-stream error event) ends the stream and closes the connection.
 */
export type FrameHandler = (data: string, event: string | undefined) => void;

/**
 * The direct transport: POSTs `request.body` as JSON with `fetch`, rejects with a classified `LLMError`
 * on a non-2xx status, then feeds every frame of the body to `onFrame` until the body ends.
 *
 * Bytes are decoded with a streaming `TextDecoder`, so a UTF-8 character split across network reads is
 * joined; SSE is parsed by `eventsource-parser`, which accepts LF, CR and CRLF line endings.
 */
export async function httpStream(
  request: HttpStreamRequest,
  onFrame: FrameHandler,
  signal: AbortSignal,
  /** Called after the frames of each network read have been handed to `onFrame`. */
  onRead?: () => void,
): Promise<void> {
  const doFetch = request.fetch ?? fetch;
  const response = await doFetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...request.headers },
    body: JSON.stringify(request.body),
    signal,
  });
  if (!response.ok) {
    const bodyText = await response.text().catch(() => '');
    throw errorFromResponse({
      status: response.status,
      headers: response.headers,
      bodyText,
      provider: request.provider,
      model: request.model,
    });
  }
  if (!response.body) {
    throw new LLMError('invalid_response', `${request.provider}: the response has no body`, {
      provider: request.provider,
      model: request.model,
      status: response.status,
    });
  }
  const feed = request.framing === 'sse' ? sseFeeder(onFrame) : ndjsonFeeder(onFrame);
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }), false);
      onRead?.();
    }
    feed(decoder.decode(), true);
  } finally {
    // On a handler's error, cancelling the reader closes the socket instead of draining it.
    reader.cancel().catch(() => undefined);
  }
}

type Feeder = (text: string, last: boolean) => void;

function sseFeeder(onFrame: FrameHandler): Feeder {
  let failure: unknown;
  let failed = false;
  const parser = createParser({
    onEvent: (message) => {
      if (failed) return;
      try {
        onFrame(message.data, message.event);
      } catch (error) {
        failed = true;
        failure = error;
      }
    },
  });
  let endsWithCr = false;
  return (text, last) => {
    if (text.length > 0) {
      parser.feed(text);
      endsWithCr = text.endsWith('\r');
    }
    // eventsource-parser holds a trailing CR until it knows whether an LF follows: with CR-only line
    // endings the body's last event would never be dispatched. At the end, an LF settles it.
    if (last && endsWithCr && !failed) parser.feed('\n');
    // eventsource-parser swallows nothing but it calls back synchronously: rethrow outside its loop.
    if (failed) throw failure;
  };
}

function ndjsonFeeder(onFrame: FrameHandler): Feeder {
  let buffered = '';
  return (text, last) => {
    buffered += text;
    let start = 0;
    for (let nl = buffered.indexOf('\n', start); nl !== -1; nl = buffered.indexOf('\n', start)) {
      const line =
        buffered.charCodeAt(nl - 1) === 13 ? buffered.slice(start, nl - 1) : buffered.slice(start, nl);
      start = nl + 1;
      if (line.length > 0) onFrame(line, undefined);
    }
    buffered = buffered.slice(start);
    if (last && buffered.trim().length > 0) {
      const line = buffered;
      buffered = '';
      // A final line without its newline counts only if it is whole: a cut-off line is truncation,
      // which the adapter reports as `incomplete` when it sees no terminal chunk.
      if (isJson(line)) onFrame(line, undefined);
    }
  };
}

/** True when `text` parses as JSON (a whole NDJSON line). */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
