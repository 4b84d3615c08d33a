import { Observable } from 'rxjs';
import type { Pricing } from '../../core/catalog.js';
import { LLMError, toLLMError } from '../../core/errors.js';
import type { StartEvent, TokenEvent } from '../../core/events.js';
import type { ChatRequest } from '../../core/request.js';
import { httpStream, type HttpStreamRequest } from '../../transport/http.js';
import { coalesceText, type TextCoalescer } from './coalesceText.js';

/** Passes one normalized event on. */
export type Emit = (event: TokenEvent) => void;

/** What a mapper knows of the call it maps. */
export interface MapperContext {
  readonly provider: string;
  /** The model asked for; the vendor's answer may name a dated snapshot of it. */
  readonly model: string;
  readonly pricing: Pricing | undefined;
  /** The call's request, to estimate usage from when the vendor reports none. */
  readonly request?: ChatRequest;
}

/**
 * Maps one vendor's chunks to events, for one stream. Both transports drive the same mapper, which is
 * what makes them give identical events on identical bytes.
 */
export interface StreamMapper<Chunk> {
  /** Maps one parsed chunk. Throws an `LLMError` for a vendor error chunk. */
  chunk(chunk: Chunk, emit: Emit): void;
  /** The body ended: emits the closing `usage` and `finish`, or throws `incomplete` if no terminal was seen. */
  end(emit: Emit): void;
  /** True once the vendor's terminal chunk arrived: later frames (such as OpenAI's `[DONE]`) are ignored. */
  readonly done?: boolean;
}

/**
 * The reason every unsubscribe aborts with: one shared `AbortError`, the same kind `abort()` builds,
 * without building it (with its stack) on every call. `fetch` and the SDKs surface it, and
 * `isAbortError` / `toLLMError` classify it as `aborted`, exactly as the default reason.
 */
const ABORTED: Error = new DOMException('This operation was aborted', 'AbortError');

/**
 * A provider's `start` event: the model asked for (what routing, breakers and budgets key on), the
 * vendor's response id and the model the vendor says answered, each when it sent one.
 */
export function startEvent(
  context: MapperContext,
  id: string | undefined,
  responseModel: string | undefined,
): StartEvent {
  return {
    type: 'start',
    provider: context.provider,
    model: context.model,
    ...(id !== undefined && { id }),
    ...(responseModel !== undefined && { responseModel }),
  };
}

/** Decodes one direct-transport frame to a chunk; `undefined` skips it (keep-alives, `[DONE]`). */
export type FrameDecoder<Chunk> = (data: string, event: string | undefined) => Chunk | undefined;

/** JSON frame decoder: a frame that is not JSON is an `invalid_response` error. */
export function jsonFrame<Chunk>(provider: string, model: string): FrameDecoder<Chunk> {
  return (data) => {
    try {
      return JSON.parse(data) as Chunk;
    } catch {
      throw new LLMError('invalid_response', `${provider}: malformed chunk in the stream`, {
        provider,
        model,
      });
    }
  };
}

/**
 * What a mapper threw: its `LLMError`, or, for anything else (a chunk shaped so that reading it
 * failed), `invalid_response`, never `unknown`, so retry and fallback still act.
 */
function mapperFailure(error: unknown, source: { provider: string; model: string } | undefined): LLMError {
  if (LLMError.isInstance(error)) return error;
  return new LLMError(
    'invalid_response',
    `${source?.provider ?? 'provider'}: a chunk the mapper could not read`,
    {
      ...(source !== undefined && { provider: source.provider, model: source.model }),
      cause: error,
    },
  );
}

/** How the direct transport delivers what it maps. */
export interface DirectStreamOptions {
  /**
   * Merge the text pieces of one network read into one event (see `coalesceText`). Default `false`:
   * one event per vendor chunk, as the SDK transport gives.
   */
  readonly coalesceText?: boolean | undefined;
  /** Adjusts the classified error the stream fails with (a vendor's own error conventions). */
  readonly refineError?: (error: LLMError) => LLMError;
}

/**
 * A cold stream over the direct transport: `fetch` → frame parser → `decode` → mapper.
 * Unsubscribing aborts the request, which closes the socket.
 */
export function directStream<Chunk>(
  request: () => HttpStreamRequest,
  decode: FrameDecoder<Chunk>,
  mapper: () => StreamMapper<Chunk>,
  options: DirectStreamOptions = {},
): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const controller = new AbortController();
    const deliver: Emit = (event) => subscriber.next(event);
    const { emit, flush }: TextCoalescer =
      options.coalesceText === true ? coalesceText(deliver) : { emit: deliver, flush: () => undefined };
    let http: HttpStreamRequest | undefined;
    try {
      http = request();
      const map = mapper();
      const onFrame = (data: string, event: string | undefined): void => {
        if (map.done) return;
        try {
          const chunk = decode(data, event);
          if (chunk !== undefined) map.chunk(chunk, emit);
        } catch (error) {
          throw mapperFailure(error, http);
        }
      };
      httpStream(http, onFrame, controller.signal, flush)
        .then(() => {
          // `end()` throws `incomplete` when the terminal chunk never came: that must fail the stream,
          // not become an unhandled rejection.
          map.end(emit);
          flush();
          subscriber.complete();
        })
        .catch((error: unknown) => fail(error));
    } catch (error) {
      fail(error);
    }
    function fail(error: unknown): void {
      if (subscriber.closed) return;
      try {
        // Text mapped before the failure is delivered before it, as it would be unmerged.
        flush();
        const classified = toLLMError(error, http?.provider, http?.model);
        subscriber.error(options.refineError ? options.refineError(classified) : classified);
      } finally {
        controller.abort(ABORTED);
      }
    }
    return () => controller.abort(ABORTED);
  });
}

/**
 * A cold stream over a vendor SDK: `open(signal)` starts the SDK's streaming call, whose chunks feed
 * the same mapper as the direct transport; SDK errors are classified by `mapError`.
 */
export function sdkStream<Chunk>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<Chunk>>,
  mapper: () => StreamMapper<Chunk>,
  mapError: (error: unknown) => LLMError,
): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const controller = new AbortController();
    const emit: Emit = (event) => subscriber.next(event);
    const run = async (): Promise<void> => {
      const map = mapper();
      const iterable = await open(controller.signal);
      for await (const chunk of iterable) {
        // Unsubscribing closes the subscriber before it aborts: a plain field read per chunk.
        if (subscriber.closed) return;
        if (map.done) continue;
        try {
          map.chunk(chunk, emit);
        } catch (error) {
          throw mapperFailure(error, undefined);
        }
      }
      map.end(emit);
    };
    run().then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (controller.signal.aborted && subscriber.closed) return;
        // A mapper's own failure has no source yet: every `mapError` fills it in for an `LLMError`.
        const known = LLMError.isInstance(error) && error.provider !== undefined;
        subscriber.error(known ? error : mapError(error));
        controller.abort(ABORTED);
      },
    );
    return () => controller.abort(ABORTED);
  });
}
