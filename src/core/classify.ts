import { LLMError, type LLMErrorKind } from './errors.js';

/** Headers as either a web `Headers` object or a plain record (what the SDKs expose). */
export type HeaderSource = Headers | { readonly [name: string]: string | readonly string[] | undefined };

function header(headers: HeaderSource | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as { readonly [name: string]: string | readonly string[] | undefined };
  const value = record[name] ?? record[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/**
 * How long the vendor asks us to wait, from `retry-after-ms` (milliseconds), or `retry-after`
 * (seconds, or an HTTP date relative to `now`). `undefined` when neither is present or parseable.
 * Intuition: the server's own backoff hint, in one unit.
 *
 * ## Example
 * ```ts
 * parseRetryAfter(new Headers({ 'retry-after': '2' })); // 2000
 * parseRetryAfter({ 'retry-after-ms': '250' }); // 250
 * ```
 *
 * @param headers The response headers (web `Headers` or a plain record).
 * @param now The time an HTTP date is relative to. Default `Date.now()`.
 * @returns Milliseconds to wait, or `undefined`.
 */
export function parseRetryAfter(
  headers: HeaderSource | undefined,
  now: number = Date.now(),
): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = header(headers, 'retry-after');
  if (after === undefined) return undefined;
  const seconds = Number(after.trim());
  if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// Vendor error codes (OpenAI `error.code`/`type`, Anthropic `error.type`, Google `error.status`).
const BY_CODE: { readonly [code: string]: LLMErrorKind } = {
  insufficient_quota: 'quota',
  billing_hard_limit_reached: 'quota',
  context_length_exceeded: 'context_length',
  string_above_max_length: 'context_length',
  rate_limit_exceeded: 'rate_limit',
  rate_limit_error: 'rate_limit',
  overloaded_error: 'overloaded',
  api_error: 'unavailable',
  server_error: 'unavailable',
  authentication_error: 'auth',
  invalid_api_key: 'auth',
  permission_error: 'auth',
  not_found_error: 'not_found',
  model_not_found: 'not_found',
  content_filter: 'content_filter',
  content_policy_violation: 'content_filter',
  timeout_error: 'timeout',
  request_too_large: 'invalid_request',
  RESOURCE_EXHAUSTED: 'rate_limit',
  UNAVAILABLE: 'unavailable',
  INTERNAL: 'unavailable',
  DEADLINE_EXCEEDED: 'timeout',
  PERMISSION_DENIED: 'auth',
  UNAUTHENTICATED: 'auth',
  NOT_FOUND: 'not_found',
  INVALID_ARGUMENT: 'invalid_request',
  FAILED_PRECONDITION: 'invalid_request',
};

const CONTEXT_PATTERN =
  /context[ _-]?(length|window)|maximum context|too many (input )?tokens|prompt is too long|exceeds the (maximum|context)/i;
const QUOTA_PATTERN = /exceeded your current quota|insufficient[_ ]quota|credit balance is too low/i;

/** The kind for an HTTP status alone. */
export function kindForStatus(status: number): LLMErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'quota';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context_length';
  if (status === 429) return 'rate_limit';
  if (status === 529) return 'overloaded';
  if (status === 504) return 'timeout';
  if (status >= 500) return 'unavailable';
  if (status >= 400) return 'invalid_request';
  return 'unknown';
}

/** What a vendor said went wrong, from an HTTP error body or a mid-stream error event. */
export interface VendorFault {
  readonly status?: number;
  /** The vendor's error code or type (`overloaded_error`, `insufficient_quota`, `RESOURCE_EXHAUSTED`). */
  readonly code?: string;
  readonly message: string;
  readonly provider: string;
  readonly model?: string;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * Classifies a vendor's error: the vendor's code wins over the status, and the message refines a
 * generic `invalid_request` or `rate_limit` into `context_length` or `quota`.
 */
export function classifyFault(fault: VendorFault): LLMError {
  const byCode = fault.code !== undefined ? BY_CODE[fault.code] : undefined;
  let kind: LLMErrorKind = byCode ?? (fault.status !== undefined ? kindForStatus(fault.status) : 'unknown');
  if ((kind === 'invalid_request' || kind === 'unknown') && CONTEXT_PATTERN.test(fault.message)) {
    kind = 'context_length';
  }
  // Refine by message only where the vendor's code did not decide: Google's RESOURCE_EXHAUSTED says
  // "exceeded your current quota" for per-minute limits too, which are worth retrying.
  const refinable = kind === 'rate_limit' || kind === 'unknown' || kind === 'invalid_request';
  if (byCode === undefined && refinable && QUOTA_PATTERN.test(fault.message)) kind = 'quota';
  const where = fault.status !== undefined ? ` (HTTP ${fault.status})` : '';
  return new LLMError(kind, `${fault.provider}: ${fault.message}${where}`, {
    provider: fault.provider,
    ...(fault.model !== undefined && { model: fault.model }),
    ...(fault.status !== undefined && { status: fault.status }),
    ...(fault.retryAfterMs !== undefined && { retryAfterMs: fault.retryAfterMs }),
    ...(fault.cause !== undefined && { cause: fault.cause }),
  });
}

/**
 * Reads `{ error: { message, type | code | status } }`, `{ type: 'error', error: {...} }`,
 * `{ error: "text" }` and `{ message }` shapes: the error bodies of every supported vendor.
 */
export function readErrorBody(body: unknown): { code?: string; message?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as { error?: unknown; message?: unknown; type?: unknown; code?: unknown };
  const inner = record.error;
  if (typeof inner === 'string') return { message: inner };
  if (typeof inner === 'object' && inner !== null) {
    const e = inner as { message?: unknown; type?: unknown; code?: unknown; status?: unknown };
    const code = [e.code, e.type, e.status].find((v): v is string => typeof v === 'string');
    return {
      ...(code !== undefined && { code }),
      ...(typeof e.message === 'string' && { message: e.message }),
    };
  }
  return {
    ...(typeof record.code === 'string' && { code: record.code }),
    ...(typeof record.message === 'string' && { message: record.message }),
  };
}

/** What an HTTP error response said: its status, headers and parsed body (an SDK error carries these). */
export interface HttpFault {
  readonly status: number;
  readonly headers?: HeaderSource | undefined;
  /** The parsed JSON body, in any of the shapes {@link readErrorBody} reads. */
  readonly body: unknown;
  /** Used when the body has no message. */
  readonly fallbackMessage?: string;
  readonly provider: string;
  readonly model?: string;
}

/** An error for a non-2xx HTTP response: the status, the vendor's code and message, and its retry hint. */
export function errorFromStatus(fault: HttpFault): LLMError {
  const { code, message } = readErrorBody(fault.body);
  const retryAfterMs = parseRetryAfter(fault.headers);
  return classifyFault({
    status: fault.status,
    ...(code !== undefined && { code }),
    message: message ?? fault.fallbackMessage ?? `HTTP ${fault.status}`,
    provider: fault.provider,
    ...(fault.model !== undefined && { model: fault.model }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** An error for a non-2xx HTTP response, from its status, headers and body text. */
export function errorFromResponse(input: {
  readonly status: number;
  readonly headers?: HeaderSource;
  readonly bodyText: string;
  readonly provider: string;
  readonly model?: string;
}): LLMError {
  let body: unknown;
  try {
    body = JSON.parse(input.bodyText);
  } catch {
    body = undefined;
  }
  return errorFromStatus({
    status: input.status,
    headers: input.headers,
    body,
    fallbackMessage: input.bodyText.slice(0, 200) || `HTTP ${input.status}`,
    provider: input.provider,
    ...(input.model !== undefined && { model: input.model }),
  });
}
