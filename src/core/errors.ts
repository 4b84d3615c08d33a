import { redactSecrets } from './redact.js';

/**
 * What went wrong, normalized across vendors and policies.
 *
 * Provider kinds come from HTTP statuses, SDK error classes and mid-stream error events; policy kinds
 * (`budget`, `circuit_open`, `queue_full`, `all_failed`) come from the operators.
 */
export type LLMErrorKind =
  | 'rate_limit'
  | 'auth'
  | 'quota'
  | 'not_found'
  | 'invalid_request'
  | 'context_length'
  | 'unavailable'
  | 'overloaded'
  | 'timeout'
  | 'network'
  | 'content_filter'
  | 'aborted'
  | 'incomplete'
  | 'invalid_response'
  | 'budget'
  | 'circuit_open'
  | 'queue_full'
  | 'all_failed'
  | 'unknown';

/** Kinds worth trying again (on the same or another provider): the vendor may answer next time. */
const RETRYABLE: ReadonlySet<LLMErrorKind> = new Set<LLMErrorKind>([
  'rate_limit',
  'unavailable',
  'overloaded',
  'timeout',
  'network',
  'incomplete',
  'invalid_response',
]);

/**
 * True when an error of this kind is transient by default (rate limits, overload, timeouts, network
 * failures, truncated or garbled streams). Intuition: would the same call succeed a bit later?
 *
 * ## Example
 * ```ts
 * isRetryableKind('rate_limit'); // true
 * isRetryableKind('auth'); // false
 * ```
 *
 * @param kind The error kind.
 * @returns Whether a retry may succeed.
 */
export function isRetryableKind(kind: LLMErrorKind): boolean {
  return RETRYABLE.has(kind);
}

/** Fields of an {@link LLMError} besides its kind and message. */
export interface LLMErrorInit {
  /** Whether a retry may succeed. Default: from the kind (`isRetryableKind`). */
  readonly retryable?: boolean;
  /** How long the server asked to wait, in ms. */
  readonly retryAfterMs?: number;
  /** The HTTP status, when there was a response. */
  readonly status?: number;
  /** The provider that failed. */
  readonly provider?: string;
  /** The model that failed. */
  readonly model?: string;
  /** The underlying error. It is copied to a plain `Error` with secrets redacted, never kept as is. */
  readonly cause?: unknown;
  /** For `all_failed`: every candidate's error, in the order they were tried. */
  readonly causes?: readonly LLMError[];
}

const MARK = Symbol.for('rxllm.LLMError');

/**
 * The one error every rxllm stream fails with.
 *
 * It carries data, not just text: `kind` says what happened, `retryable` whether trying again may help,
 * `retryAfterMs` what the vendor asked for, and `provider`/`model`/`status` where it happened. Messages
 * and causes are redacted of every registered secret before they are stored.
 *
 * @example
 * gpt.stream(request).subscribe({
 *   error: (e) => {
 *     if (LLMError.isInstance(e) && e.kind === 'rate_limit') console.log('retry in', e.retryAfterMs);
 *   },
 * });
 */
export class LLMError extends Error {
  /** Always `LLMError`. */
  override readonly name = 'LLMError';
  /** What went wrong, normalized across vendors; switch on it. */
  readonly kind: LLMErrorKind;
  /** Whether a retry may succeed (from the kind unless the vendor said otherwise). */
  readonly retryable: boolean;
  /** How long the server asked to wait, in ms (from `retry-after-ms` or `retry-after`). */
  readonly retryAfterMs?: number;
  /** The HTTP status, when there was a response. */
  readonly status?: number;
  /** The provider that failed. */
  readonly provider?: string;
  /** The model that failed. */
  readonly model?: string;
  /** Every candidate's error, in order (kind `all_failed`). */
  readonly causes?: readonly LLMError[];
  /** Marks rxllm errors across copies of the package (see `isInstance`). */
  readonly [MARK] = true;

  constructor(kind: LLMErrorKind, message: string, init: LLMErrorInit = {}) {
    super(
      redactSecrets(message),
      init.cause === undefined ? undefined : { cause: sanitizeCause(init.cause) },
    );
    this.kind = kind;
    this.retryable = init.retryable ?? isRetryableKind(kind);
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.status !== undefined) this.status = init.status;
    if (init.provider !== undefined) this.provider = init.provider;
    if (init.model !== undefined) this.model = init.model;
    if (init.causes !== undefined) this.causes = init.causes;
  }

  /** True for an `LLMError` from any copy of this package (checks a global symbol, not the class). */
  static isInstance(value: unknown): value is LLMError {
    return typeof value === 'object' && value !== null && (value as { [MARK]?: unknown })[MARK] === true;
  }

  /** This error with provider and model filled in where they were missing. */
  withSource(provider: string, model: string): LLMError {
    if (this.provider !== undefined && this.model !== undefined) return this;
    return new LLMError(this.kind, this.message, {
      ...this.init(),
      provider: this.provider ?? provider,
      model: this.model ?? model,
    });
  }

  /** A plain object for logs and the wire: no stack, no cause chain, nothing secret. */
  toJSON(): SerializedLLMError {
    return {
      name: 'LLMError',
      kind: this.kind,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs !== undefined && { retryAfterMs: this.retryAfterMs }),
      ...(this.status !== undefined && { status: this.status }),
      ...(this.provider !== undefined && { provider: this.provider }),
      ...(this.model !== undefined && { model: this.model }),
      ...(this.causes !== undefined && { causes: this.causes.map((c) => c.toJSON()) }),
    };
  }

  /** Rebuilds an error serialized with {@link LLMError.toJSON} (for example after crossing SSE). */
  static fromJSON(json: SerializedLLMError): LLMError {
    return new LLMError(json.kind, json.message, {
      retryable: json.retryable,
      ...(json.retryAfterMs !== undefined && { retryAfterMs: json.retryAfterMs }),
      ...(json.status !== undefined && { status: json.status }),
      ...(json.provider !== undefined && { provider: json.provider }),
      ...(json.model !== undefined && { model: json.model }),
      ...(json.causes !== undefined && { causes: json.causes.map((c) => LLMError.fromJSON(c)) }),
    });
  }

  private init(): LLMErrorInit {
    return {
      retryable: this.retryable,
      ...(this.retryAfterMs !== undefined && { retryAfterMs: this.retryAfterMs }),
      ...(this.status !== undefined && { status: this.status }),
      ...(this.causes !== undefined && { causes: this.causes }),
      ...(this.cause !== undefined && { cause: this.cause }),
    };
  }
}

/** The JSON form of an {@link LLMError}. */
export interface SerializedLLMError {
  /** Always `LLMError`. */
  readonly name: 'LLMError';
  /** What went wrong. */
  readonly kind: LLMErrorKind;
  /** The redacted message. */
  readonly message: string;
  /** Whether a retry may succeed. */
  readonly retryable: boolean;
  /** How long the server asked to wait, in ms. */
  readonly retryAfterMs?: number;
  /** The HTTP status, when there was a response. */
  readonly status?: number;
  /** The provider that failed. */
  readonly provider?: string;
  /** The model that failed. */
  readonly model?: string;
  /** Every candidate's error, in order (kind `all_failed`). */
  readonly causes?: readonly SerializedLLMError[];
}

/** A copy of the cause that keeps its name and redacted message, and drops everything else (headers, requests). */
function sanitizeCause(cause: unknown): Error {
  if (LLMError.isInstance(cause)) return cause;
  if (cause instanceof Error) {
    const copy = new Error(redactSecrets(cause.message));
    copy.name = cause.name;
    return copy;
  }
  return new Error(redactSecrets(String(cause)));
}

/**
 * Turns anything thrown into an `LLMError`: an `LLMError` passes through, an `AbortError` becomes
 * `aborted`, a network failure `network`, anything else `unknown`. Intuition: one error type out of
 * whatever a callback or a library threw, with its message redacted.
 *
 * ## Example
 * ```ts
 * toLLMError(new Error('socket hang up'), 'openai', 'gpt-4o-mini').kind;
 * ```
 *
 * @param error What was thrown.
 * @param provider The provider to name, when the error names none.
 * @param model The model to name, when the error names none.
 * @returns The error as an `LLMError`.
 */
export function toLLMError(error: unknown, provider?: string, model?: string): LLMError {
  const source = { ...(provider !== undefined && { provider }), ...(model !== undefined && { model }) };
  if (LLMError.isInstance(error)) return provider && model ? error.withSource(provider, model) : error;
  if (isAbortError(error))
    return new LLMError('aborted', 'The request was aborted', { ...source, cause: error });
  if (isNetworkError(error)) {
    return new LLMError('network', `Network error: ${describe(error)}`, { ...source, cause: error });
  }
  return new LLMError('unknown', describe(error), { ...source, cause: error });
}

/** True for the errors `fetch` and the SDKs throw when an `AbortSignal` fires. */
export function isAbortError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // SDK error classes may keep the name `Error`: look at the constructor too.
  const names = [error.name, error.constructor.name];
  return names.some((n) => n === 'AbortError' || n === 'APIUserAbortError');
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for connection failures: refused, reset, closed early, DNS. Looks through `cause` chains. */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    const sdkConnection =
      current.name === 'APIConnectionError' || current.constructor.name === 'APIConnectionError';
    if (sdkConnection || current.message === 'terminated') return true;
    if (current instanceof TypeError && current.message === 'fetch failed') return true;
    current = current.cause;
  }
  return false;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
