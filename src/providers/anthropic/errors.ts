import { errorFromStatus, type HeaderSource } from '../../core/classify.js';
import { LLMError, toLLMError } from '../../core/errors.js';
import { malformedChunk, streamError } from './map.js';

/** The fields of `@anthropic-ai/sdk`'s `APIError` that classification reads (duck-typed: no SDK import). */
interface SdkApiErrorLike extends Error {
  readonly status: number | undefined;
  readonly headers: HeaderSource | undefined;
  readonly error: unknown;
}

function isSdkApiError(error: unknown): error is SdkApiErrorLike {
  return error instanceof Error && 'status' in error && 'headers' in error && 'error' in error;
}

/**
 * Classifies an error thrown by `@anthropic-ai/sdk` as an `LLMError`, the way the direct transport
 * classifies the same bytes: the HTTP status, `retry-after` headers and the body's `error.type` go
 * through `classifyFault`; an in-stream `event: error` (which the SDK throws as an `APIError` without a
 * status) is classified by its `error.type` alone; a chunk that is not JSON is `invalid_response`;
 * `APIUserAbortError` is `aborted`, `APIConnectionTimeoutError` `timeout`, `APIConnectionError` and
 * sockets closed mid-body `network`. The SDK error itself is never kept (only a redacted copy as cause).
 *
 * ## Example
 * ```ts
 * try {
 *   await client.messages.create(body, { maxRetries: 0 });
 * } catch (error) {
 *   throw mapAnthropicSdkError(error, 'anthropic', 'claude-haiku-4-5');
 * }
 * ```
 *
 * @param error - what the SDK threw.
 * @param provider - provider name for the error.
 * @param model - model name for the error.
 * @returns the classified error.
 */
export function mapAnthropicSdkError(error: unknown, provider: string, model: string): LLMError {
  if (LLMError.isInstance(error)) return error.withSource(provider, model);
  if (error instanceof Error) {
    switch (error.name) {
      case 'APIUserAbortError':
        return toLLMError(error, provider, model);
      case 'APIConnectionTimeoutError':
        return new LLMError('timeout', `${provider}: the request timed out`, { provider, model });
      case 'APIConnectionError':
        return new LLMError('network', `${provider}: ${connectionMessage(error)}`, {
          provider,
          model,
          cause: error,
        });
      case 'SyntaxError':
        // The SDK's stream parses each `data:` with JSON.parse and rethrows its SyntaxError.
        return malformedChunk(provider, model);
    }
  }
  if (isSdkApiError(error)) {
    // Without a status the error came in the stream (`event: error`): classify it as the direct
    // transport does; its headers are the 200 response's, not a retry hint.
    if (error.status === undefined) return streamError(error.error ?? error.message, provider, model);
    return errorFromStatus({
      status: error.status,
      headers: error.headers,
      body: error.error,
      provider,
      model,
    });
  }
  return toLLMError(error, provider, model);
}

function connectionMessage(error: Error): string {
  const cause = error.cause;
  const code = cause instanceof Error ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
