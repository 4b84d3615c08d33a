import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { LanguageModel, ModelPolicy } from '../../src/core/model.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterState,
  type RatePermit,
} from '../../src/operators/rateLimiter.js';

describe('rateLimit types', () => {
  it('is a policy from model to model, from a config or a shared limiter', () => {
    const limiter = createRateLimiter({ requestsPerMinute: 60, key: 'model' });
    expectTypeOf(limiter).toEqualTypeOf<RateLimiter>();
    expectTypeOf(rateLimit({ tokensPerMinute: 1000 })).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(rateLimit(limiter)).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(limiter.policy()).returns.toEqualTypeOf<LanguageModel>();
    expectTypeOf(limiter.acquire('openai', { tokens: 10 })).toEqualTypeOf<Observable<RatePermit>>();
    expectTypeOf(limiter.state$).toEqualTypeOf<Observable<RateLimiterState>>();
  });

  it('rejects unknown keys and options', () => {
    // @ts-expect-error: 'tenant' is not a built-in key; pass a function instead
    createRateLimiter({ key: 'tenant' });
    // @ts-expect-error: estimateTokens takes a request and returns a number
    createRateLimiter({ estimateTokens: () => 'many' });
  });
});
