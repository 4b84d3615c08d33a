import { LLMError } from '../../core/errors.js';

/**
 * The error for "every candidate failed": kind `all_failed`, with every cause in the order tried.
 * It is retryable only if every cause was, and carries the shortest `retryAfterMs` when every cause
 * had one (the soonest any candidate said it would answer again).
 */
export function allFailedError(causes: readonly LLMError[], what = 'candidate'): LLMError {
  const summary = causes.map((c) => `${c.provider ?? '?'}/${c.model ?? '?'}: ${c.kind}`).join(', ');
  const hints = causes.map((c) => c.retryAfterMs);
  const retryAfterMs =
    causes.length > 0 && hints.every((h): h is number => h !== undefined) ? Math.min(...hints) : undefined;
  return new LLMError(
    'all_failed',
    causes.length === 0 ? `No ${what} to try` : `Every ${what} failed (${summary})`,
    {
      causes,
      retryable: causes.length > 0 && causes.every((c) => c.retryable),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    },
  );
}
