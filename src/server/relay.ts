/**
 * How a call's events reach an HTTP response, shared by every endpoint: as a stream (SSE of one dialect or
 * another) or as one answer at the end. Either way the client leaving unsubscribes the call, which aborts
 * the upstream request, and a draining gateway can cut the call with a typed error.
 */
import type { ServerResponse } from 'node:http';
import { from, type Observable } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import { isContentEvent, type TokenEvent } from '../core/events.js';
import { type Completion, collect } from '../helpers/collect.js';
import { HEARTBEAT_FRAME } from '../streaming/sseFormat.js';
import { SSE_HEADERS } from '../streaming/toSSE.js';

/** One dialect of a streamed answer. */
export interface StreamDialect {
  /** Frames written once the call is committed (before the first held event). */
  readonly open?: () => string;
  /** The frames of one event (may be empty). */
  event(event: TokenEvent): string;
  /** The last frame of a failed stream. */
  fail(error: LLMError): string;
  /** The last frame of a completed stream. */
  end(): string;
}

/** What a relay needs from the gateway. */
export interface RelayContext {
  readonly heartbeatMs: number;
  /** Registers a call the gateway may cut while draining; returns the function that unregisters it. */
  track(cut: (error: LLMError) => void): () => void;
  /** A failure before anything was sent: the endpoint's error answer with its status. */
  reject(res: ServerResponse, error: LLMError): void;
}

/** Why a draining gateway cut a call. */
export const SHUTTING_DOWN = (): LLMError =>
  new LLMError('unavailable', 'The gateway is shutting down; the call was cut', { retryable: true });

/**
 * Streams `source` as SSE. Events before the first content (route, fallback, start, usage) are held, so a
 * call failing before any content still gets its HTTP status instead of a 200 followed by an error frame.
 */
export function relayStream(
  source: Observable<TokenEvent>,
  res: ServerResponse,
  dialect: StreamDialect,
  context: RelayContext,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let held: TokenEvent[] | undefined = [];
    const commit = (): void => {
      if (!held) return;
      res.writeHead(200, SSE_HEADERS);
      // The held events are mapped first: the `start` among them may shape the opening frame.
      const frames = held.map((e) => dialect.event(e)).join('');
      res.write((dialect.open?.() ?? '') + frames);
      held = undefined;
      if (context.heartbeatMs > 0) {
        heartbeat = setInterval(() => res.write(HEARTBEAT_FRAME), context.heartbeatMs);
      }
    };
    const stop = (): void => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      untrack();
    };
    const fail = (error: LLMError): void => {
      stop();
      if (held) context.reject(res, error);
      else res.end(dialect.fail(error));
    };
    const untrack = context.track((error) => {
      subscription.unsubscribe();
      fail(error);
    });
    const subscription = source.subscribe({
      next(event) {
        if (held && !isContentEvent(event) && event.type !== 'finish') {
          held.push(event);
          return;
        }
        commit();
        const frame = dialect.event(event);
        if (frame) res.write(frame);
      },
      error: (error: unknown) => fail(toLLMError(error)),
      complete() {
        commit();
        stop();
        res.end(dialect.end());
      },
    });
    res.on('close', () => {
      // The client left (or the answer ended): unsubscribing aborts the upstream call if still running.
      stop();
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** Runs `source` to its end and answers once, with `answer(completion)` or the endpoint's error. */
export function relayCompletion(
  source: Observable<TokenEvent>,
  res: ServerResponse,
  answer: (done: Completion) => void,
  context: RelayContext,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const events: TokenEvent[] = [];
    const fail = (error: LLMError): void => {
      untrack();
      context.reject(res, error);
    };
    const untrack = context.track((error) => {
      subscription.unsubscribe();
      fail(error);
    });
    const subscription = source.subscribe({
      next: (event) => void events.push(event),
      error: (error: unknown) => fail(toLLMError(error)),
      complete() {
        untrack();
        collect(from(events)).then(answer, (error: unknown) => context.reject(res, toLLMError(error)));
      },
    });
    res.on('close', () => {
      untrack();
      subscription.unsubscribe();
      resolve();
    });
  });
}
