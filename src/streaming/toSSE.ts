import { asyncScheduler, interval, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { toLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';
import { encodeError, encodeEvent, END_FRAME, HEARTBEAT_FRAME } from './sseFormat.js';

/** Options of {@link toSSE}, {@link toSSEStream} and {@link pipeSSE}. */
export interface ToSSEOptions {
  /** Milliseconds between heartbeat comments while the stream is quiet. Default 15 000; 0 disables. */
  readonly heartbeatMs?: number;
  /**
   * Resume after this event id (a client's `Last-Event-ID`): events up to it are not sent again. It needs
   * a source that replays the same events on resubscription (a cached or recorded stream).
   */
  readonly lastEventId?: string | number;
  /** Scheduler for heartbeats. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Response headers for an SSE stream (no buffering by proxies, no caching). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

/**
 * Turns a token stream into SSE frames (strings): an `id`-numbered frame per event, heartbeats while
 * quiet, then an `end` frame, or an `error` frame carrying the typed error. Errors become frames, so
 * the returned Observable itself completes normally. Unsubscribing unsubscribes the source.
 *
 * @example
 * toSSE(gpt.stream(request)).subscribe((frame) => res.write(frame));
 */
export function toSSE(source: Observable<TokenEvent>, options: ToSSEOptions = {}): Observable<string> {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const skipThrough = options.lastEventId === undefined ? -1 : Number(options.lastEventId);
  return new Observable<string>((subscriber) => {
    let id = 0;
    const heartbeats =
      heartbeatMs > 0
        ? interval(heartbeatMs, options.scheduler ?? asyncScheduler).subscribe(() =>
            subscriber.next(HEARTBEAT_FRAME),
          )
        : undefined;
    const subscription: Subscription = source.subscribe({
      next: (event) => {
        const current = id++;
        if (current > skipThrough) subscriber.next(encodeEvent(event, current));
      },
      error: (error: unknown) => {
        subscriber.next(encodeError(toLLMError(error)));
        subscriber.complete();
      },
      complete: () => {
        subscriber.next(END_FRAME);
        subscriber.complete();
      },
    });
    return () => {
      heartbeats?.unsubscribe();
      subscription.unsubscribe();
    };
  });
}

/**
 * A web `ReadableStream` of SSE bytes, for `new Response(...)` in fetch-style servers (Next.js, Hono,
 * Deno, Bun, workers). Cancelling the body (the client left) unsubscribes, which aborts the upstream call.
 *
 * @example
 * export const POST = async (req: Request) => toSSEResponse(pipeline.stream(await req.json()));
 */
export function toSSEStream(
  source: Observable<TokenEvent>,
  options: ToSSEOptions = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let subscription: Subscription | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      subscription = toSSE(source, options).subscribe({
        next: (frame) => controller.enqueue(encoder.encode(frame)),
        complete: () => controller.close(),
      });
    },
    cancel() {
      subscription?.unsubscribe();
    },
  });
}

/** A web `Response` streaming `source` as SSE. See {@link toSSEStream}. */
export function toSSEResponse(source: Observable<TokenEvent>, options: ToSSEOptions = {}): Response {
  return new Response(toSSEStream(source, options), { headers: SSE_HEADERS });
}

/**
 * What {@link pipeSSE} needs of a Node `http.ServerResponse` (or an Express/Fastify raw response): a
 * structural type, so these types need neither `@types/node` nor a server framework.
 */
export interface SSEResponseSink {
  /** True once the status line and headers went out; `pipeSSE` then writes none of its own. */
  readonly headersSent: boolean;
  /** Sends the status and headers (`pipeSSE` sends 200 and the SSE headers). */
  writeHead(statusCode: number, headers: Readonly<Record<string, string>>): unknown;
  /** Sends the headers at once, before the first frame, when the response supports it. */
  flushHeaders?(): void;
  /** Writes one SSE frame. */
  write(chunk: string): unknown;
  /** Ends the response, after the last frame. */
  end(): unknown;
  /** Listens for the connection closing, which unsubscribes the source. */
  on(event: 'close', listener: () => void): unknown;
}

/**
 * Streams `source` into a Node `http` response as SSE, honouring the request's `Last-Event-ID` when
 * given in `options`. When the client disconnects, the source is unsubscribed (the upstream call aborted).
 * Resolves when the response ends.
 *
 * @example
 * import { createServer } from 'node:http';
 * createServer((req, res) => {
 *   void pipeSSE(pipeline.stream(request), res, { lastEventId: req.headers['last-event-id'] as string });
 * });
 */
export function pipeSSE(
  source: Observable<TokenEvent>,
  res: SSEResponseSink,
  options: ToSSEOptions = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
    res.flushHeaders?.();
    const subscription = toSSE(source, options).subscribe({
      next: (frame) => void res.write(frame),
      complete: () => res.end(),
    });
    res.on('close', () => {
      subscription.unsubscribe();
      resolve();
    });
  });
}
