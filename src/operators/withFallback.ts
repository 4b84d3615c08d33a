import { type Catalog, defaultCatalog } from '../core/catalog.js';
import { type LLMError, type LLMErrorKind, toLLMError } from '../core/errors.js';
import type { ModelRef, TokenEvent } from '../core/events.js';
import type { LanguageModel, ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { allFailedError } from './internal/allFailed.js';
import { Attempt } from './internal/attempt.js';
import { type CandidateSource, poolModel, refOf } from './internal/candidates.js';
import { withPrefill } from './internal/prefill.js';

export type { CandidateSource } from './internal/candidates.js';

/**
 * What {@link withFallback} does when a candidate fails AFTER some of its content reached the subscriber:
 *
 * - `error`: pass the error on (nothing is ever taken back).
 * - `restart`: emit a `reset` event (a UI clears what it shows), then answer afresh from the next candidate.
 * - `continue`: keep what was shown, emit a `fallback` event, and ask the next candidate to continue it:
 *   the partial text goes to it as a trailing assistant message (a prefill). Only when the next candidate's
 *   catalog entry lists the `prefill` capability and everything shown so far is plain text (never in the
 *   middle of, or after, a tool call, and not after reasoning); otherwise it behaves as `restart`.
 */
export type MidStreamPolicy = 'error' | 'restart' | 'continue';

/** Options of {@link withFallback}. */
export interface FallbackOptions {
  /**
   * The models to walk. Default: the piped model's `candidates(request)` (a provider lists itself, `route()`
   * its ranked pool). An array is tried AFTER those (`gpt.pipe(withFallback({ candidates: [claude] }))`
   * tries gpt, then claude); a function `(request, model) => pool` gives the whole list.
   */
  readonly candidates?: CandidateSource;
  /**
   * Which failures move on to the next candidate. Default: {@link FALLBACK_KINDS}. Anything else is passed
   * on at once (a malformed request fails everywhere). A throw fails the stream with the thrown error.
   * `context_length` moves only to a candidate with a larger context window (see `catalog`).
   */
  readonly shouldFallback?: (error: LLMError) => boolean;
  /**
   * Skips candidates it says are unhealthy (e.g. `createHealthMonitor(…).isHealthy`), unless it says so of
   * every candidate: then all are tried anyway. Asked once per call. Default: every candidate is tried.
   * A throw fails the stream with the thrown error.
   */
  readonly isHealthy?: (model: ModelRef) => boolean;
  /** What to do when a candidate fails after content was shown. Default `error`. */
  readonly onMidStream?: MidStreamPolicy;
  /**
   * Where context windows (for `context_length`) and the `prefill` capability (for `continue`) are looked up,
   * by each candidate's provider and model (a provider's own `capabilities` option wins for `prefill`). Default `defaultCatalog`. After a `context_length` failure only
   * candidates whose window is known and larger than the failed one's are tried.
   */
  readonly catalog?: Catalog;
}

/**
 * The failures that move {@link withFallback} to the next candidate by default: the provider's bad day
 * (`rate_limit`, `overloaded`, `unavailable`, `timeout`, `network`, `incomplete`, `invalid_response`),
 * a policy's refusal that another candidate may not share (`circuit_open`, `budget`, `queue_full`, `quota`,
 * a nested `all_failed`), and `context_length` (only towards a larger window).
 */
export const FALLBACK_KINDS: ReadonlySet<LLMErrorKind> = new Set<LLMErrorKind>([
  'rate_limit',
  'overloaded',
  'unavailable',
  'timeout',
  'network',
  'incomplete',
  'invalid_response',
  'circuit_open',
  'budget',
  'queue_full',
  'quota',
  'all_failed',
  'context_length',
]);

/**
 * The default of `shouldFallback`: the error's kind is one of {@link FALLBACK_KINDS}.
 *
 * ## Example
 * ```ts
 * withFallback({ shouldFallback: (e) => shouldFallbackByDefault(e) || e.kind === 'auth' });
 * ```
 *
 * @param error A candidate's failure.
 * @returns Whether the next candidate may succeed where this one failed.
 */
export function shouldFallbackByDefault(error: LLMError): boolean {
  return FALLBACK_KINDS.has(error.kind);
}

/**
 * Tries candidates in order until one answers: the switch is invisible before the first token (except for a
 * `fallback` event naming the provider that failed and why), and explicit after it (see {@link MidStreamPolicy}).
 *
 * Think RxJS `catchError(() => next$)` over a list, made safe for token streams: each candidate's `start` is
 * held until its first content and dropped if it fails first, so a subscriber never sees events of two
 * providers without a `fallback` (or `reset`) event between them. A candidate stream that completes without
 * `finish` has failed (`incomplete`). When every candidate failed, the stream fails with `all_failed`, whose
 * `causes` hold every candidate's error in order. Unsubscribing stops the candidate in flight.
 *
 * Nesting order (documented once for the whole library):
 *
 * ```ts
 * const breaker = createCircuitBreaker();
 * const spend = createBudget({ limits: { day: 20 } });
 * const pool = [gpt, claude, flash].map((m) =>
 *   m.pipe(withTimeout({ firstTokenMs: 15_000, idleMs: 10_000 }), withCircuitBreaker(breaker), withRetry()),
 * );
 * const model = pipe(route({ strategy: 'cost' }), withFallback({ onMidStream: 'restart' }), spend.policy())(pool);
 * ```
 *
 * Per-provider policies go innermost: the timeout inside the breaker (a stall counts as a failure) and both
 * inside the retry (a stall is retried before content; an open circuit ends the retrying at once); then
 * routing ranks the pool; `withFallback()` walks the ranking; `budget()` bounds the whole call. A `totalMs`
 * bound on a whole call, retries and fallbacks included, goes outermost (`withTimeout({ totalMs })` last).
 *
 * ## Example
 * ```ts
 * const sturdy = gpt.pipe(withFallback({ candidates: [claude, flash], onMidStream: 'restart' }));
 * sturdy.stream(request).subscribe((event) => {
 *   if (event.type === 'fallback') console.warn(`${event.from.provider} failed: ${event.error.kind}`);
 *   if (event.type === 'reset') console.clear();
 * });
 * ```
 *
 * @see {@link hedge} to race candidates instead of waiting for a failure; {@link withRetry}.
 * @param options Candidates, what moves on, the mid-stream policy and the catalog.
 * @returns A policy whose model walks the candidates.
 */
export function withFallback(options: FallbackOptions = {}): ModelPolicy {
  const onMidStream = options.onMidStream ?? 'error';
  const shouldFallback = options.shouldFallback ?? shouldFallbackByDefault;
  const catalog = options.catalog ?? defaultCatalog;
  const windowOf = (m: LanguageModel): number | undefined => catalog.get(m.provider, m.model)?.contextWindow;
  // A provider's `capabilities` option wins over the catalog.
  const prefills = (m: LanguageModel): boolean =>
    (m.profile?.capabilities ?? catalog.get(m.provider, m.model)?.capabilities)?.includes('prefill') === true;

  return (model) =>
    poolModel(model, options, (pool, request, subscriber) => {
      const causes: LLMError[] = [];
      let current: Attempt | undefined;
      /** Content the subscriber holds (since the last reset). */
      let shown = false;
      /** The text shown, kept only for `continue` (its prefill): a long answer must not grow memory. */
      let shownText = '';
      const keepText = onMidStream === 'continue';
      let shownTextOnly = true;
      /** While continuing: the request with the prefill, and whether its trailing space was cut. */
      let continuation: { readonly request: ChatRequest; readonly trimmed: boolean } | undefined;
      let dropLeadingSpace = false;
      /** After a `context_length` failure, candidates need a window larger than this. */
      let minWindow = -1;

      const eligible = (m: LanguageModel): boolean => minWindow < 0 || (windowOf(m) ?? -1) > minWindow;
      const nextIndex = (from: number): number | undefined => {
        for (let i = from; i < pool.length; i++) if (eligible(pool[i] as LanguageModel)) return i;
        return undefined;
      };

      const pass = (event: TokenEvent): void => {
        switch (event.type) {
          case 'text': {
            let text = event.text;
            if (dropLeadingSpace) {
              text = text.replace(/^\s+/, '');
              if (text === '') return;
              dropLeadingSpace = false;
            }
            shown = true;
            if (keepText) shownText += text;
            subscriber.next(text === event.text ? event : { ...event, text });
            return;
          }
          case 'reasoning':
          case 'tool-call-delta':
          case 'tool-call':
            shown = true;
            shownTextOnly = false;
            break;
          default:
            break;
        }
        subscriber.next(event);
      };

      const run = (index: number): void => {
        const candidate = pool[index] as LanguageModel;
        const req = continuation?.request ?? request;
        dropLeadingSpace = continuation?.trimmed === true;
        const attempt = new Attempt(() => candidate.stream(req), refOf(candidate), {
          next: pass,
          error: (error, failed) => onFailure(index, candidate, error, failed),
          complete: () => subscriber.complete(),
          closed: () => subscriber.closed,
        });
        current = attempt;
        attempt.start();
      };

      const onFailure = (index: number, candidate: LanguageModel, error: LLMError, failed: Attempt): void => {
        causes.push(error);
        let move: boolean;
        try {
          move = shouldFallback(error);
        } catch (thrown) {
          subscriber.error(toLLMError(thrown));
          return;
        }
        if (!move || (shown && onMidStream === 'error')) {
          subscriber.error(error);
          return;
        }
        if (error.kind === 'context_length') minWindow = Math.max(minWindow, windowOf(candidate) ?? 0);
        const next = nextIndex(index + 1);
        if (next === undefined) {
          subscriber.error(allFailedError(causes));
          return;
        }
        const from = failed.ref ?? refOf(candidate);
        if (!shown) {
          subscriber.next({ type: 'fallback', from, error });
          run(next);
          return;
        }
        const mode = midStreamMode(
          onMidStream,
          shownText,
          shownTextOnly,
          prefills(pool[next] as LanguageModel),
        );
        switch (mode) {
          case 'error':
            subscriber.error(error);
            return;
          case 'continue':
            continuation = withPrefill(request, shownText);
            subscriber.next({ type: 'fallback', from, error });
            run(next);
            return;
          case 'restart':
            shown = false;
            shownText = '';
            shownTextOnly = true;
            continuation = undefined;
            subscriber.next({ type: 'reset', from, error });
            run(next);
            return;
        }
      };

      const first = nextIndex(0);
      if (first === undefined) subscriber.error(allFailedError(causes));
      else run(first);
      return () => current?.unsubscribe();
    });
}

/** The mid-stream policy that applies: `continue` falls back to `restart` unless it is safe. */
function midStreamMode(
  policy: MidStreamPolicy,
  shownText: string,
  textOnly: boolean,
  nextPrefills: boolean,
): 'error' | 'restart' | 'continue' {
  switch (policy) {
    case 'error':
    case 'restart':
      return policy;
    case 'continue':
      return textOnly && nextPrefills && shownText.trimEnd().length > 0 ? 'continue' : 'restart';
  }
}
