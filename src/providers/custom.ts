/**
 * Custom sources: turn your own token source (a function, or any SSE endpoint) into a `LanguageModel`
 * that every rxllm policy accepts.
 *
 * ## When is a custom stream complete?
 * - A **function source** ends cleanly when its iterable returns: that is a deliberate end (failures throw),
 *   so a missing `finish` is synthesized (`stop`, with the last `usage` the source gave, else zero usage).
 * - An **SSE source** ends when the body ends, which may be a cut connection: the stream succeeds only if
 *   the `map` function emitted a `finish` (mapping the endpoint's terminal frame); otherwise it fails with
 *   `incomplete`, as every vendor adapter does. Once `map` emits `finish`, the stream completes and the
 *   request is closed (some SSE servers keep the connection open after their last frame).
 *
 * @module
 */
import { Observable } from 'rxjs';
import { costOf, type Pricing } from '../core/catalog.js';
import { LLMError, toLLMError } from '../core/errors.js';
import { ZERO_USAGE, type TokenEvent, type Usage } from '../core/events.js';
import { defineModel, type LanguageModel } from '../core/model.js';
import { registerSecret } from '../core/redact.js';
import type { ChatRequest } from '../core/request.js';
import { httpStream } from '../transport/http.js';

/** A function source: yields events, or plain strings (each becomes a `text` event). */
export type CustomSourceFunction = (
  request: ChatRequest,
  signal: AbortSignal,
) => AsyncIterable<TokenEvent | string>;

/** What one SSE frame maps to: nothing (skip it), one event or string, or several. */
export type SseMapResult = TokenEvent | string | readonly (TokenEvent | string)[] | undefined | void;

/** Configuration of {@link sseSource}. */
export interface SseSourceConfig {
  /** The endpoint to POST to. */
  readonly url: string;
  /** Request headers. `authorization`, `x-api-key` and `api-key` values are registered for redaction. */
  readonly headers?: { readonly [name: string]: string };
  /** The JSON body for a request. */
  body(request: ChatRequest): unknown;
  /**
   * Maps one frame (its raw `data` and its `event` name) to events. Throw (an `LLMError`, or anything) to
   * fail the stream; emit a `finish` for the terminal frame, or the stream fails as `incomplete`.
   */
  map(data: string, event: string | undefined): SseMapResult;
  /** A `fetch` to use instead of the global one. */
  readonly fetch?: typeof fetch;
}

/** An SSE endpoint as a source, made by {@link sseSource}. */
export interface SseSource extends SseSourceConfig {
  /** The discriminant, from `sseSource()`. */
  readonly kind: 'sse';
}

/** Either kind of custom source. */
export type CustomSource = CustomSourceFunction | SseSource;

/** Options of {@link customModel}. */
export interface CustomModelOptions {
  /** Provider label of events and errors. */
  readonly provider: string;
  /** Model label of events and errors. */
  readonly model: string;
  /** Where the events come from: an async iterable function, or `sseSource()`. */
  readonly source: CustomSource;
  /** Prices for the `finish` cost of a synthesized finish. Default: zero cost. */
  readonly pricing?: Pricing;
}

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key']);

/**
 * Describes an SSE endpoint as a custom source: rxllm POSTs `body(request)` with `fetch`, parses the
 * stream with `eventsource-parser` (split UTF-8 characters and CRLF handled) and maps each frame with `map`.
 *
 * ## Example
 * ```ts
 * const source = sseSource({
 *   url: 'https://llm.internal/generate',
 *   headers: { authorization: `Bearer ${process.env.INTERNAL_TOKEN}` },
 *   body: (request) => ({ prompt: request.messages.at(-1)?.content, stream: true }),
 *   map: (data, event) =>
 *     event === 'done' ? { type: 'finish', reason: 'stop', usage: ZERO_USAGE, cost: ZERO_COST } : JSON.parse(data).token,
 * });
 * const internal = customModel({ provider: 'internal', model: 'v3', source });
 * ```
 *
 * @param config - endpoint, headers, body and frame mapping
 * @returns the source, for {@link customModel}
 */
export function sseSource(config: SseSourceConfig): SseSource {
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (SECRET_HEADERS.has(name.toLowerCase())) registerSecret(value.replace(/^Bearer\s+/i, ''));
  }
  return { ...config, kind: 'sse' };
}

/**
 * A `LanguageModel` over your own source: a function yielding events or strings, or an {@link sseSource}.
 *
 * The stream is cold (the source runs per subscription) and normalized: `start` comes first (added when
 * the source gives none), strings become `text`, anything after `finish` is ignored, and `finish` is last
 * (see the module notes for when a missing one is synthesized). Unsubscribing aborts the `signal` given
 * to a function source (and returns its iterator), or aborts an SSE request. Errors become `LLMError`s.
 *
 * ## Example
 * ```ts
 * const echo = customModel({
 *   provider: 'echo',
 *   model: 'v1',
 *   source: async function* (request) {
 *     yield* contentText(request.messages.at(-1)?.content ?? '').split(/(?<= )/);
 *   },
 * });
 * await collect(echo.stream({ messages: [{ role: 'user', content: 'say it back' }] })); // text: 'say it back'
 * ```
 *
 * @param options - provider label, model name, source and optional pricing
 * @returns the model
 */
export function customModel(options: CustomModelOptions): LanguageModel {
  const { source } = options;
  return defineModel({
    provider: options.provider,
    model: options.model,
    profile: options.pricing !== undefined ? { pricing: options.pricing } : {},
    stream: (request) =>
      typeof source === 'function'
        ? fromFunction(source, request, options)
        : fromSse(source, request, options),
  });
}

/** Per-subscription normalizer: adds `start`, turns strings to text, drops what follows `finish`. */
function normalizer(options: CustomModelOptions, emit: (event: TokenEvent) => void) {
  const { provider, model } = options;
  let started = false;
  let finished = false;
  let usage: Usage | undefined;
  const start = (): void => {
    if (started) return;
    started = true;
    emit({ type: 'start', provider, model });
  };
  return {
    get finished() {
      return finished;
    },
    push(item: TokenEvent | string): void {
      if (finished) return;
      if (typeof item === 'string') {
        if (item === '') return;
        start();
        emit({ type: 'text', text: item });
        return;
      }
      if (item.type === 'start') {
        if (!started) {
          started = true;
          emit(item);
        }
        return;
      }
      start();
      if (item.type === 'usage') usage = item.usage;
      if (item.type === 'finish') finished = true;
      emit(item);
    },
    /** The source ended: synthesize the missing finish, or fail as incomplete. */
    end(synthesize: boolean): void {
      if (finished) return;
      if (!synthesize) {
        throw new LLMError('incomplete', `${provider}: the stream ended without a finish`, {
          provider,
          model,
        });
      }
      start();
      const final = usage ?? ZERO_USAGE;
      finished = true;
      emit({ type: 'finish', reason: 'stop', usage: final, cost: costOf(final, options.pricing) });
    },
  };
}

function fromFunction(
  source: CustomSourceFunction,
  request: ChatRequest,
  options: CustomModelOptions,
): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const controller = new AbortController();
    const out = normalizer(options, (event) => subscriber.next(event));
    let iterator: AsyncIterator<TokenEvent | string> | undefined;
    let settled = false;
    const run = async (): Promise<void> => {
      iterator = source(request, controller.signal)[Symbol.asyncIterator]();
      for (;;) {
        const step = await iterator.next();
        if (controller.signal.aborted) return;
        if (step.done === true) break;
        out.push(step.value);
        if (out.finished) {
          // Let the source clean up (its `finally`); it yields nothing more we would use.
          await iterator.return?.();
          break;
        }
      }
      out.end(true);
    };
    run().then(
      () => {
        settled = true;
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        subscriber.error(toLLMError(error, options.provider, options.model));
      },
    );
    return () => {
      controller.abort();
      if (!settled) iterator?.return?.().catch(() => undefined);
    };
  });
}

function fromSse(
  source: SseSource,
  request: ChatRequest,
  options: CustomModelOptions,
): Observable<TokenEvent> {
  const { provider, model } = options;
  return new Observable<TokenEvent>((subscriber) => {
    const controller = new AbortController();
    const out = normalizer(options, (event) => subscriber.next(event));
    const fail = (error: unknown): void => {
      subscriber.error(toLLMError(error, provider, model));
      controller.abort();
    };
    const onFrame = (data: string, event: string | undefined): void => {
      if (out.finished) return;
      const mapped = source.map(data, event);
      const items = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
      for (const item of items as readonly (TokenEvent | string)[]) out.push(item);
      if (out.finished) {
        subscriber.complete();
        controller.abort();
      }
    };
    try {
      const http = {
        url: source.url,
        headers: { accept: 'text/event-stream', ...source.headers },
        body: source.body(request),
        framing: 'sse' as const,
        ...(source.fetch !== undefined && { fetch: source.fetch }),
        provider,
        model,
      };
      httpStream(http, onFrame, controller.signal)
        .then(() => {
          if (subscriber.closed) return;
          out.end(false);
          subscriber.complete();
        })
        .catch((error: unknown) => {
          if (!subscriber.closed) fail(error);
        });
    } catch (error) {
      fail(error);
    }
    return () => controller.abort();
  });
}
