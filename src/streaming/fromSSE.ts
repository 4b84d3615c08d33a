import { createParser } from 'eventsource-parser';
import { Observable } from 'rxjs';
import { kindForStatus, parseRetryAfter } from '../core/classify.js';
import { LLMError, toLLMError, type SerializedLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';
import { decodeEvent, SSE_END, SSE_ERROR } from './sseFormat.js';

/** Options of {@link fromSSE}. */
export interface FromSSEOptions {
  /** `fetch` to use (a browser's, a test's). Default: the global one. */
  readonly fetch?: typeof fetch;
  /** Request method, headers and body when `input` is a URL. Default `GET` (`POST` when a body is given). */
  readonly method?: string;
  /**
   * Extra request headers, e.g. `authorization`. `accept: text/event-stream` is sent unless overridden;
   * `content-type` (with a body) and `last-event-id` (on reconnect) are set by rxllm.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON-serializable request body. */
  readonly body?: unknown;
  /**
   * Reconnections allowed after the connection drops mid-stream; each sends `Last-Event-ID` so a
   * server that supports it resumes after the last event received. Default 0: a drop is `incomplete`
   * (with the network error as its `cause`). A `Response` given as `input` cannot reconnect.
   */
  readonly maxReconnects?: number;
}

/**
 * Reads a token stream sent by `toSSE`, from a `fetch` `Response` or a URL, in a browser or in Node.
 * Frames are parsed with `eventsource-parser`; an `error` frame fails the Observable with the same typed
 * `LLMError` the server saw; a body that ends without the `end` frame fails with `incomplete` (after any
 * allowed reconnects). Unsubscribing aborts the request.
 *
 * @example
 * fromSSE('/v1/generate', { body: { messages: [{ role: 'user', content: 'Hi' }] } })
 *   .pipe(textDeltas())
 *   .subscribe(append); // null after a reset: clear what is shown
 */
export function fromSSE(
  input: string | URL | Response,
  options: FromSSEOptions = {},
): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const controller = new AbortController();
    let lastEventId: string | undefined;
    let ended = false;
    let failed: LLMError | undefined;

    const open = async (attempt: number): Promise<Response> => {
      if (input instanceof Response) {
        if (attempt > 0)
          throw new LLMError('incomplete', 'The SSE stream ended early and a Response cannot reconnect');
        return input;
      }
      const doFetch = options.fetch ?? fetch;
      const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      return doFetch(input, {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal: controller.signal,
      });
    };

    const parser = createParser({
      onEvent: (message) => {
        if (ended || failed) return;
        if (message.event === SSE_END) {
          ended = true;
          return;
        }
        if (message.event === SSE_ERROR) {
          failed = LLMError.fromJSON(JSON.parse(message.data) as SerializedLLMError);
          return;
        }
        if (message.id !== undefined) lastEventId = message.id;
        subscriber.next(decodeEvent(message.data));
      },
    });

    // The body being read, so that unsubscribing can cancel it: a caller's `Response` has no signal of
    // ours, and cancelling its body is what closes that connection.
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // Once a response opened, a stream that does not reach its `end` frame is `incomplete`, whether the
    // body ended or the connection dropped; before that, a failure to connect keeps its own kind.
    let opened = false;

    const read = async (response: Response): Promise<void> => {
      if (!response.ok) throw await errorOfResponse(response);
      if (!response.body) throw new LLMError('invalid_response', 'The SSE response has no body');
      opened = true;
      reader = response.body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || controller.signal.aborted) break;
          parser.feed(decoder.decode(value, { stream: true }));
          if (ended || failed) break;
        }
        parser.feed(decoder.decode());
      } finally {
        reader.cancel().catch(() => undefined);
      }
    };

    const run = async (): Promise<void> => {
      const maxReconnects = options.maxReconnects ?? 0;
      for (let attempt = 0; ; attempt++) {
        let dropped: LLMError | undefined;
        try {
          await read(await open(attempt));
        } catch (error) {
          // A dropped connection may be resumed; any other failure ends the stream.
          dropped = toLLMError(error);
          if (dropped.kind !== 'network' || controller.signal.aborted) throw dropped;
        }
        if (failed) throw failed;
        if (ended) return;
        if (attempt >= maxReconnects) {
          if (dropped && !opened) throw dropped;
          throw new LLMError(
            'incomplete',
            dropped
              ? "The SSE connection dropped before the stream's end event"
              : 'The SSE stream ended without its end event',
            { ...(dropped && { cause: dropped }) },
          );
        }
        parser.reset();
      }
    };

    run().then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (!controller.signal.aborted) subscriber.error(toLLMError(error));
      },
    );
    return () => {
      controller.abort();
      reader?.cancel().catch(() => undefined);
    };
  });
}

/**
 * The error a non-2xx answer carries: the server's own typed error when its body is `{ error: LLMError JSON }`
 * (as `toJSON()` writes it, and the example gateway answers), otherwise one classified from the status.
 */
async function errorOfResponse(response: Response): Promise<LLMError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: Partial<SerializedLLMError> };
    const error = body.error;
    if (error?.name === 'LLMError' && typeof error.kind === 'string' && typeof error.message === 'string') {
      return LLMError.fromJSON(error as SerializedLLMError);
    }
  } catch {
    // Not JSON: classify by status below.
  }
  const retryAfterMs = parseRetryAfter(response.headers);
  const message = `SSE endpoint answered HTTP ${response.status}: ${text.slice(0, 200)}`;
  return new LLMError(kindForStatus(response.status), message, {
    status: response.status,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}
