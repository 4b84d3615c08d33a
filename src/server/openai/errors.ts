/** rxllm failures in OpenAI's error shape: `{ error: { message, type, param, code } }`. */
import type { LLMError } from '../../core/errors.js';
import { httpStatusOf, retryAfterHeaders } from '../status.js';

/** An OpenAI error answer: status, headers and body. */
export interface OpenAIErrorAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: {
    readonly error: { message: string; type: string; param: string | null; code: string | null };
  };
}

/**
 * The answer for a pipeline failure: the status of {@link httpStatusOf}, OpenAI's `type` for that status,
 * and the `LLMError` kind as `code` (so a client can tell `budget` from `rate_limit`), with `retry-after`.
 */
export function openaiError(error: LLMError): OpenAIErrorAnswer {
  const status = httpStatusOf(error);
  return {
    status,
    headers: retryAfterHeaders(error),
    body: { error: { message: error.message, type: errorType(status), param: null, code: error.kind } },
  };
}

/** An OpenAI error answer for a problem with the request itself (no call was made). */
export function openaiRequestError(
  status: number,
  message: string,
  code: string | null = null,
  param: string | null = null,
): OpenAIErrorAnswer {
  return { status, headers: {}, body: { error: { message, type: errorType(status), param, code } } };
}

/** OpenAI's error `type` for a status. */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
