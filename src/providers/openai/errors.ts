import { errorFromStatus, type HeaderSource } from '../../core/classify.js';
import { LLMError, toLLMError } from '../../core/errors.js';
import type { MapperContext } from '../shared/run.js';
import { malformedChunk, streamFault } from './map.js';

/** The fields of the SDK's `APIError` we read (duck-typed: the SDK is loaded lazily). */
interface SdkApiError {
  readonly status?: number;
  readonly headers?: HeaderSource;
  readonly error?: unknown;
}

function isSdkApiError(error: unknown): error is Error & SdkApiError {
  return error instanceof Error && 'status' in error && 'error' in error && 'headers' in error;
}

/**
 * Maps an error thrown by the `openai` SDK to the `LLMError` the direct transport gives on the same bytes:
 * an HTTP status error is classified from its status, body and `retry-after` headers; an `APIError`
 * without a status (an `{"error": …}` chunk in the stream) by {@link streamFault}; a frame that is not JSON
 * (the SDK's `SyntaxError`) is `invalid_response`; connection failures are `network` (`timeout` for the
 * SDK's own timeout); aborts are `aborted`. The SDK error itself is never kept (only a redacted copy).
 *
 * ## Example
 * ```ts
 * sdkStream(open, mapper, (error) => mapOpenAIError(error, { provider: 'openai', model: 'gpt-4o-mini' }));
 * ```
 *
 * @param error - what the SDK threw
 * @param context - provider and model, for the error
 * @returns the classified error
 */
export function mapOpenAIError(error: unknown, context: Pick<MapperContext, 'provider' | 'model'>): LLMError {
  const { provider, model } = context;
  if (LLMError.isInstance(error)) return error.withSource(provider, model);
  if (error instanceof SyntaxError) return malformedChunk(context);
  // The SDK's error classes keep the name `Error`: tell them apart by constructor.
  const sdkClass = error instanceof Error ? error.constructor.name : '';
  if (sdkClass === 'APIUserAbortError') {
    return new LLMError('aborted', 'The request was aborted', { provider, model, cause: error });
  }
  if (sdkClass === 'APIConnectionTimeoutError') {
    return new LLMError('timeout', `${provider}: the request timed out`, { provider, model, cause: error });
  }
  if (sdkClass === 'APIConnectionError') {
    // Classify what fetch threw (as the direct transport does), not the SDK's wrapper.
    const cause = (error as Error).cause;
    const mapped = toLLMError(cause ?? error, provider, model);
    return mapped.kind === 'unknown'
      ? new LLMError('network', `Network error: ${(error as Error).message}`, { provider, model, cause })
      : mapped;
  }
  if (isSdkApiError(error)) {
    if (typeof error.status === 'number') {
      const body = { error: error.error };
      return errorFromStatus({ status: error.status, headers: error.headers, body, provider, model });
    }
    // No status: the SDK's error for an `{"error": …}` chunk in the stream.
    if (error.error !== undefined) return streamFault(error.error, context);
  }
  return toLLMError(error, provider, model);
}

/**
 * A 4xx that names `stream_options` (Mistral answers 422 `extra_forbidden`, older servers 400
 * "Unrecognized request argument") means the server rejects the usage request: an `invalid_request` error
 * that says how to turn it off. Other errors pass through.
 *
 * ## Example
 * ```ts
 * rejectedStreamOptions(error, bodyText).message;
 * // 'mistral: the server rejects stream_options; set includeUsage: false … (HTTP 422)'
 * ```
 *
 * @param error - the classified error
 * @param bodyText - the response body, when the error's message may not hold it (the SDK drops
 * bodies that are not OpenAI-shaped)
 * @returns the same error, or the explained `invalid_request`
 */
export function rejectedStreamOptions(error: LLMError, bodyText?: string): LLMError {
  const status = error.status;
  if (status === undefined || status < 400 || status >= 500 || status === 429) return error;
  if (!(bodyText ?? '').includes('stream_options') && !error.message.includes('stream_options')) return error;
  const provider = error.provider ?? 'provider';
  return new LLMError(
    'invalid_request',
    `${provider}: the server rejects stream_options; set includeUsage: false for it (usage is then estimated) (HTTP ${status})`,
    {
      status,
      ...(error.provider !== undefined && { provider: error.provider }),
      ...(error.model !== undefined && { model: error.model }),
    },
  );
}
