import type { ModelPolicy } from '../core/model.js';
import { createRateLimiter, type RateLimitConfig, type RateLimiter } from './rateLimiter.js';

/**
 * Rate-limits a model: calls wait in a bounded FIFO queue until the token buckets (requests and tokens per
 * minute, per provider by default) have room, instead of failing with the vendor's 429.
 *
 * Intuition: the vendor counts your calls per minute; count them first, and queue the excess politely.
 *
 * Given a config, the policy creates its limiter once, so every model it is applied to shares the same
 * buckets. Given a limiter from {@link createRateLimiter}, it uses that one (and its `state$`). With no
 * limit set it returns each model unchanged. In a pipeline, put it innermost, next to the provider, so
 * retries and fallbacks wait for their own turn: `openai(...).pipe(rateLimit(cfg), withRetry(), withTimeout())`.
 *
 * ## Example
 * ```ts
 * const limited = openai({ model: 'gpt-4o-mini' }).pipe(rateLimit({ requestsPerMinute: 60, maxQueue: 20 }));
 * limited.stream(request).subscribe({
 *   error: (e) => LLMError.isInstance(e) && e.kind === 'queue_full' && console.log('busy, try later'),
 * });
 * ```
 *
 * @see createRateLimiter
 * @param config Limits and queue bounds (see {@link RateLimitConfig}), or a shared {@link RateLimiter}.
 * @returns A policy from model to model.
 */
export function rateLimit(config: RateLimitConfig | RateLimiter = {}): ModelPolicy {
  const limiter = isRateLimiter(config) ? config : createRateLimiter(config);
  return limiter.policy();
}

function isRateLimiter(value: RateLimitConfig | RateLimiter): value is RateLimiter {
  return typeof (value as { policy?: unknown }).policy === 'function';
}
