import type { LLMError, LLMErrorKind } from '../core/errors.js';
import { assertNever } from '../core/events.js';

/**
 * The HTTP status the gateway answers for a pipeline failure (before any content was sent).
 *
 * | kind                                   | status | why                                                          |
 * | -------------------------------------- | ------ | ------------------------------------------------------------ |
 * | invalid_request, context_length        | 400    | the client's request is wrong (too long, unsupported)        |
 * | content_filter                         | 422    | the request was understood, the vendor refused its content   |
 * | budget                                 | 402    | the configured spending limit is reached                     |
 * | rate_limit, queue_full                 | 429    | too many requests (vendor limit or the gateway's own queue)  |
 * | auth, quota, not_found                 | 502    | the gateway's upstream credentials/account/model are wrong:  |
 * |                                        |        | the client's call was fine, so no 401/403/404 to the client   |
 * | network, incomplete, invalid_response  | 502    | the upstream answered badly or the connection broke          |
 * | unavailable, overloaded, circuit_open  | 503    | every upstream is down or resting; retry later               |
 * | timeout                                | 504    | the upstream did not answer in time                          |
 * | aborted                                | 499    | the client went away (never actually sent)                   |
 * | unknown                                | 500    | a bug                                                        |
 * | all_failed                             | the status every cause agrees on, else 503                    |
 *
 * A `Retry-After` header (seconds) is added when the error (or, for `all_failed`, any cause) carries
 * `retryAfterMs`.
 *
 * ## Example
 * ```ts
 * import { LLMError } from 'rxllm';
 * import { httpStatusOf } from 'rxllm/server';
 *
 * httpStatusOf(new LLMError('budget', 'The daily budget is spent')); // 402
 * ```
 *
 * @param error A pipeline failure.
 * @returns The HTTP status to answer.
 */
export function httpStatusOf(error: LLMError): number {
  if (error.kind === 'all_failed' && error.causes && error.causes.length > 0) {
    const statuses = new Set(error.causes.map((c) => httpStatusOf(c)));
    return statuses.size === 1 ? (statuses.values().next().value as number) : 503;
  }
  return statusOfKind(error.kind);
}

function statusOfKind(kind: LLMErrorKind): number {
  switch (kind) {
    case 'invalid_request':
    case 'context_length':
      return 400;
    case 'content_filter':
      return 422;
    case 'budget':
      return 402;
    case 'rate_limit':
    case 'queue_full':
      return 429;
    case 'auth':
    case 'quota':
    case 'not_found':
    case 'network':
    case 'incomplete':
    case 'invalid_response':
      return 502;
    case 'unavailable':
    case 'overloaded':
    case 'circuit_open':
    case 'all_failed':
      return 503;
    case 'timeout':
      return 504;
    case 'aborted':
      return 499;
    case 'unknown':
      return 500;
    default:
      return assertNever(kind);
  }
}

/** Seconds for a `Retry-After` header, when the error says how long to wait. */
export function retryAfterSeconds(error: LLMError): number | undefined {
  const waits = [error, ...(error.causes ?? [])]
    .map((e) => e.retryAfterMs)
    .filter((ms): ms is number => ms !== undefined && ms >= 0);
  return waits.length === 0 ? undefined : Math.max(1, Math.ceil(Math.min(...waits) / 1000));
}

/** A `Retry-After` header when the error says how long to wait, else none. */
export function retryAfterHeaders(error: LLMError): Record<string, string> {
  const seconds = retryAfterSeconds(error);
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}
