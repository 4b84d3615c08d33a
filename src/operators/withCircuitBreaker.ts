import { defineModel, type ModelPolicy } from '../core/model.js';
import type { CircuitBreaker } from './createCircuitBreaker.js';

/**
 * Guards a model with `breaker`'s circuit for its provider and model: while the circuit is open, calls fail
 * at once with `circuit_open` (not retryable, `retryAfterMs` = time until half-open), which a surrounding
 * `withFallback()` answers by moving on to the next candidate without waiting on a sick provider.
 *
 * Apply it to each provider model, inside the retry and outside the timeouts (see {@link withRetry} for the
 * whole nesting order): `m.pipe(withTimeout({ idleMs }), withCircuitBreaker(breaker), withRetry())`.
 *
 * ## Example
 * ```ts
 * const breaker = createCircuitBreaker({ consecutiveFailures: 3, openMs: 15_000 });
 * const guarded = gpt.pipe(withCircuitBreaker(breaker));
 * breaker.watch(gpt).subscribe((s) => console.log('gpt circuit', s.state));
 * ```
 *
 * @see {@link createCircuitBreaker} for the rules, the store and `state$`.
 * @param breaker The shared breaker (its circuits are keyed by provider and model: the request's `model`
 *   when it overrides the bound one).
 * @returns A policy.
 */
export function withCircuitBreaker(breaker: CircuitBreaker): ModelPolicy {
  return (model) =>
    defineModel({
      provider: model.provider,
      model: model.model,
      profile: model.profile,
      stream: (request) =>
        breaker.guard(
          { provider: model.provider, model: request.model ?? model.model },
          model.stream(request),
        ),
    });
}
