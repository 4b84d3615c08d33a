import { classifyFault } from '../../core/classify.js';
import { isAbortError, LLMError, toLLMError } from '../../core/errors.js';
import { named } from '../shared/validate.js';
import { googleStatusName, refineGeminiError, retryDelayMs } from './map.js';

/** What `GoogleGenerativeAIFetchError` carries (it keeps neither the response headers nor Google's status string). */
interface SdkFetchError {
  readonly message: string;
  readonly status: number;
  readonly statusText?: string;
  readonly errorDetails?: readonly unknown[];
}

const SDK_PREFIX = '[GoogleGenerativeAI Error]: ';

function isSdkError(error: unknown): error is Error {
  return error instanceof Error && error.message.startsWith(SDK_PREFIX);
}

function isFetchError(error: Error): error is Error & SdkFetchError {
  return typeof (error as { status?: unknown }).status === 'number';
}

/**
 * Google's own message, out of the SDK's `Error fetching from URL: [429 Too Many Requests] message
 * [details JSON]`, so both transports report the same text.
 */
function vendorMessage(error: SdkFetchError): string {
  const match = /\] ([\s\S]*)$/.exec(error.message);
  let message = match?.[1] ?? error.statusText ?? `HTTP ${error.status}`;
  if (error.errorDetails !== undefined) {
    const suffix = ` ${JSON.stringify(error.errorDetails)}`;
    if (message.endsWith(suffix)) message = message.slice(0, -suffix.length);
  }
  return message || `HTTP ${error.status}`;
}

/**
 * Turns what `@google/generative-ai` throws into an `LLMError`, with the same kind the direct transport
 * gives for the same bytes.
 *
 * The SDK wraps everything in `GoogleGenerativeAIError`s that keep only a message (the original error
 * is not kept as `cause`), so they are told apart by their messages:
 *
 * - `GoogleGenerativeAIFetchError` (an HTTP error status): classified from its `status`, its message, and
 *   its `errorDetails` (`RetryInfo` → `retryAfterMs`; the SDK drops the `retry-after` header).
 * - "Error fetching from …: fetch failed" and "Error reading from the stream" (a connection refused or
 *   reset before or during the body) → `network`.
 * - "Request aborted …" (`GoogleGenerativeAIAbortError`) → `aborted`.
 * - "Error parsing JSON response" (a frame that is not JSON) → `invalid_response`.
 * - "Failed to parse stream" (the body ended inside a frame) → `incomplete`: the direct transport's SSE
 *   parser drops such a cut-off frame, and then the stream lacks its finish reason.
 * - `GoogleGenerativeAIRequestInputError` (bad custom headers) → `invalid_request`;
 *   `GoogleGenerativeAIResponseError` (a blocked answer, from the SDK's helpers) → `content_filter`.
 *
 * ## Example
 * ```ts
 * try {
 *   await model.generateContentStream(body);
 * } catch (error) {
 *   throw mapGeminiSdkError(error, 'gemini', 'gemini-2.0-flash');
 * }
 * ```
 *
 * @param error - What the SDK threw or the stream rejected with.
 * @param provider - Provider name for the error.
 * @param model - Model for the error.
 * @returns A classified, redacted error (the SDK error object itself is not kept).
 */
export function mapGeminiSdkError(error: unknown, provider: string, model: string): LLMError {
  if (LLMError.isInstance(error)) return error.withSource(provider, model);
  if (isAbortError(error)) return toLLMError(error, provider, model);
  // Anything else (a `TypeError` from the SDK's helpers on a `null` chunk, say) came from reading the
  // response: `invalid_response`, as the direct transport calls such a chunk.
  if (!isSdkError(error)) return named(toLLMError(error, provider, model));
  const source = { provider, model };
  if (isFetchError(error)) {
    const retryAfterMs = retryDelayMs(Array.isArray(error.errorDetails) ? error.errorDetails : undefined);
    // The SDK drops Google's `status` string: restore it from the number, so a 429 RESOURCE_EXHAUSTED
    // saying "exceeded your current quota" stays `rate_limit` (retryable, RetryInfo's delay) as on the
    // direct transport, instead of being refined into `quota` by its message.
    const code = googleStatusName(error.status);
    return refineGeminiError(
      classifyFault({
        status: error.status,
        ...(code !== undefined && { code }),
        message: vendorMessage(error),
        ...source,
        ...(retryAfterMs !== undefined && { retryAfterMs }),
      }),
    );
  }
  const text = error.message.slice(SDK_PREFIX.length);
  if (text.startsWith('Request aborted')) {
    return new LLMError('aborted', 'The request was aborted', source);
  }
  if (text.startsWith('Error parsing JSON response')) {
    return new LLMError('invalid_response', `${provider}: malformed chunk in the stream`, source);
  }
  if (text.startsWith('Failed to parse stream')) {
    return new LLMError('incomplete', `${provider}: the stream ended inside a frame`, source);
  }
  if (text.startsWith('Error reading from the stream') || /^Error fetching from .*fetch failed/s.test(text)) {
    return new LLMError('network', `Network error: ${text}`, { ...source, cause: error });
  }
  // The SDK's error classes do not set `name`; their constructors still carry it (the SDK is not minified).
  switch (error.constructor.name) {
    case 'GoogleGenerativeAIRequestInputError':
      return new LLMError('invalid_request', `${provider}: ${text}`, source);
    case 'GoogleGenerativeAIResponseError':
      return new LLMError('content_filter', `${provider}: ${text}`, source);
  }
  return named(new LLMError('unknown', `${provider}: ${text}`, { ...source, cause: error }));
}
