import { classifyFault, parseRetryAfter, type HeaderSource } from '../../core/classify.js';
import { isAbortError, isNetworkError, LLMError, toLLMError, type LLMErrorKind } from '../../core/errors.js';

/** Where an error happened: the provider name and the model asked for. */
export interface OllamaErrorContext {
  readonly provider: string;
  readonly model: string;
}

// An in-stream error has neither a status nor a code: its message is all there is.
const MESSAGE_KINDS: readonly (readonly [RegExp, LLMErrorKind])[] = [
  [/rate limit|too many requests/i, 'rate_limit'],
  [/unauthori[sz]ed|forbidden|invalid api key|authenticat/i, 'auth'],
  [/not found|no such model|try pulling/i, 'not_found'],
  [/invalid|unsupported|does not support|bad request|required|cannot unmarshal/i, 'invalid_request'],
];

/**
 * The error for an `{"error": "…"}` line that Ollama wrote after HTTP 200.
 *
 * Intuition: Ollama sends no code with it, so the message decides. Context-length and quota phrases
 * are found as for every vendor; "rate limit", "not found", "invalid"/"unsupported" give their kinds;
 * anything else (the model runner crashed, the server is busy or overloaded) is `unavailable`, the kind
 * of Ollama's own 500 and 503, and retryable. That holds wherever the line comes: before any content it
 * is a retryable failure before the first token; after content, policies pass it on.
 *
 * ## Example
 * ```ts
 * streamFault('model runner has unexpectedly stopped', { provider: 'ollama', model: 'llama3.2' }).kind;
 * // 'unavailable'
 * ```
 *
 * @param message The `error` field of the line.
 * @param context The provider and model.
 * @returns A classified, redacted `LLMError`.
 */
export function streamFault(message: string, context: OllamaErrorContext): LLMError {
  const classified = classifyFault({ message, provider: context.provider, model: context.model });
  if (classified.kind !== 'unknown') return classified;
  const kind = MESSAGE_KINDS.find(([pattern]) => pattern.test(message))?.[1] ?? 'unavailable';
  return new LLMError(kind, classified.message, { provider: context.provider, model: context.model });
}

/** What the SDK transport saw of the HTTP response that the SDK's own error does not carry. */
export interface SdkResponseInfo {
  /** Headers of a non-2xx response (the SDK's `ResponseError` drops them, and `retry-after` with them). */
  headers?: HeaderSource;
}

/** The message the `ollama` SDK throws when a stream ends without its `done: true` line. */
const SDK_INCOMPLETE = 'Did not receive done or success response in stream.';

interface ResponseErrorLike {
  readonly name: 'ResponseError';
  readonly error: string;
  readonly status_code: number;
}

function isResponseError(error: unknown): error is ResponseErrorLike {
  return (
    error instanceof Error &&
    error.name === 'ResponseError' &&
    typeof (error as { status_code?: unknown }).status_code === 'number'
  );
}

/**
 * Classifies what the `ollama` SDK throws into an `LLMError`.
 *
 * Intuition: the SDK has three error shapes, each mapped as the direct transport maps the same bytes.
 * A `ResponseError` is an HTTP status with the body's `error` text; a plain `Error` carrying the text
 * of an in-stream `{"error": …}` line is a {@link streamFault}; its "did not receive done" error is a
 * truncated stream (`incomplete`). Aborts become `aborted`, connection failures `network`.
 *
 * ## Example
 * ```ts
 * try {
 *   for await (const chunk of await client.chat({ model, messages, stream: true })) console.log(chunk);
 * } catch (error) {
 *   throw mapOllamaSdkError(error, { provider: 'ollama', model });
 * }
 * ```
 *
 * @param error What the SDK threw.
 * @param context The provider and model.
 * @param seen The response headers the transport kept for an error status (for `retry-after`).
 * @returns A classified, redacted `LLMError` that keeps only a sanitized copy of the SDK error.
 */
export function mapOllamaSdkError(
  error: unknown,
  context: OllamaErrorContext,
  seen: SdkResponseInfo = {},
): LLMError {
  const source = { provider: context.provider, model: context.model };
  if (LLMError.isInstance(error)) return error.withSource(context.provider, context.model);
  if (isAbortError(error) || isNetworkError(error)) return toLLMError(error, context.provider, context.model);
  if (isResponseError(error)) {
    const retryAfterMs = parseRetryAfter(seen.headers);
    return classifyFault({
      status: error.status_code,
      message: error.error || `HTTP ${error.status_code}`,
      ...source,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
  }
  if (error instanceof Error && error.message === SDK_INCOMPLETE) {
    return new LLMError('incomplete', `${context.provider}: the stream ended before its final chunk`, {
      ...source,
      cause: error,
    });
  }
  // The SDK rethrows an in-stream `{"error": "…"}` line as `new Error(line.error)`.
  if (error instanceof Error && error.name === 'Error') return streamFault(error.message, context);
  // Anything else the SDK threw while reading the body (a `TypeError` on a `null` line, say) means the
  // body broke the protocol: the direct transport calls that `invalid_response` too.
  return new LLMError('invalid_response', `${context.provider}: the SDK could not read the stream`, {
    ...source,
    cause: error,
  });
}
