/**
 * The checks every mapper makes on what a vendor sends: small `typeof` tests on the fields it reads
 * (no schema library on the per-token path). A value of the wrong type is an `invalid_response`
 * error, which retry and fallback move past, never a wrong number or a crash classified `unknown`.
 *
 * @module
 */
import { LLMError } from '../../core/errors.js';
import type { MapperContext } from './run.js';

/** Who an error is about. */
export type Source = Pick<MapperContext, 'provider' | 'model'>;

/**
 * The error for a chunk that breaks its protocol.
 *
 * ## Example
 * ```ts
 * throw invalidChunk({ provider: 'openai', model: 'gpt-4o-mini' }, 'a chunk that is not an object');
 * ```
 *
 * @param source - provider and model
 * @param what - what was wrong, without the vendor's values (they may hold anything)
 * @returns an `invalid_response` error
 */
export function invalidChunk(source: Source, what: string, cause?: unknown): LLMError {
  return new LLMError('invalid_response', `${source.provider}: ${what}`, {
    provider: source.provider,
    model: source.model,
    ...(cause !== undefined && { cause }),
  });
}

/**
 * `value` when it is a JSON object (not `null`, not an array), else an `invalid_response` error.
 *
 * ## Example
 * ```ts
 * const chunk = objectChunk<OpenAIChunk>(JSON.parse(data), source);
 * ```
 *
 * @param value - a parsed frame
 * @param source - provider and model
 * @returns the same value, typed
 */
export function objectChunk<T>(value: unknown, source: Source): T {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as T;
  throw invalidChunk(source, 'a chunk that is not a JSON object');
}

/**
 * A token count as a vendor reports it: `undefined` when absent (`undefined` or `null`), the number
 * when it is a finite non-negative integer, else an `invalid_response` error (so no cost becomes NaN).
 *
 * ## Example
 * ```ts
 * tokenCount(12, 'prompt_tokens', source); // 12
 * tokenCount('x', 'input_tokens', source); // throws invalid_response
 * ```
 *
 * @param value - the vendor's field
 * @param field - its name, for the message
 * @param source - provider and model
 * @returns the count, or `undefined`
 */
export function tokenCount(value: unknown, field: string, source: Source): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw invalidChunk(source, `usage field ${field} is not a token count`);
}

/**
 * An optional string field: `undefined` when absent (`undefined` or `null`), else the string, else an
 * `invalid_response` error (a number as `text` must not reach the answer).
 *
 * ## Example
 * ```ts
 * optionalString(delta.content, 'content', source); // 'Hello' | undefined
 * ```
 *
 * @param value - the vendor's field
 * @param field - its name, for the message
 * @param source - provider and model
 * @returns the string, or `undefined`
 */
export function optionalString(value: unknown, field: string, source: Source): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  throw invalidChunk(source, `field ${field} is not a string`);
}

/**
 * An error a vendor reported that no rule classifies (`{"error":"msg"}`, a code of the wrong type)
 * becomes `invalid_response`: the vendor failed, and `unknown` would stop retry and fallback.
 *
 * ## Example
 * ```ts
 * named(classifyFault({ message: 'msg', provider: 'openai' })).kind; // 'invalid_response'
 * ```
 *
 * @param error - a classified vendor error
 * @returns the same error, or an `invalid_response` one in place of `unknown`
 */
export function named(error: LLMError): LLMError {
  if (error.kind !== 'unknown') return error;
  return new LLMError('invalid_response', error.message, {
    ...(error.status !== undefined && { status: error.status }),
    ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
    ...(error.provider !== undefined && { provider: error.provider }),
    ...(error.model !== undefined && { model: error.model }),
  });
}
