import { describe, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { createRateLimiter } from '../../src/operators/rateLimiter.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { ask, letters, newScheduler } from './rateLimitSupport.js';

/** A vendor's 429 with `retry-after: 4` as the providers classify it. */
const vendor429 = (): LLMError =>
  new LLMError('rate_limit', 'openai: Rate limit reached', {
    status: 429,
    retryAfterMs: 4_000,
    provider: 'openai',
  });

describe("rateLimit learns from the vendor's 429 (marbles)", () => {
  // Marble letters: s start, t text, u usage, f finish; R rate_limit. At 600 a minute one request refills
  // in 100 ms: the bucket is held empty for the vendor's 4 s, then the next call waits for one refill.

  it('holds the next call until the retry-after has passed, though the bucket had room', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel({ scripts: [{ fail: vendor429() }, {}] });
      const limiter = createRateLimiter({ requestsPerMinute: 600, burst: { requests: 10 }, scheduler });
      const limited = model.pipe(limiter.policy());
      expectObservable(letters(limited.stream(ask()))).toBe('(sR|)');
      expectObservable(letters(limited.stream(ask())), '1ms ^').toBe('4100ms (stuf|)');
    });
  });

  it('pauses every process sharing the store (two limiters, one store)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const store = memoryStore({ now: () => scheduler.now() });
      const shape = { requestsPerMinute: 600, tokensPerMinute: 60_000, scheduler, store };
      const first = scriptedModel({ scripts: [{ fail: vendor429() }] }).pipe(
        createRateLimiter(shape).policy(),
      );
      const second = scriptedModel().pipe(createRateLimiter(shape).policy());
      expectObservable(letters(first.stream(ask()))).toBe('(sR|)');
      expectObservable(letters(second.stream(ask())), '10ms ^').toBe('4100ms (stuf|)');
    });
  });

  it('caps the pause at maxRetryAfterMs, and 0 ignores the hint', () => {
    for (const [maxRetryAfterMs, expected] of [
      [1_000, '1100ms (stuf|)'],
      [0, '1ms (stuf|)'],
    ] as const) {
      const scheduler = newScheduler();
      scheduler.run(({ expectObservable }) => {
        const model = scriptedModel({ scripts: [{ fail: vendor429() }, {}] });
        const limiter = createRateLimiter({ requestsPerMinute: 600, maxRetryAfterMs, scheduler });
        const limited = model.pipe(limiter.policy());
        expectObservable(letters(limited.stream(ask()))).toBe('(sR|)');
        expectObservable(letters(limited.stream(ask())), '1ms ^').toBe(expected);
      });
    }
  });

  it('does not pause on a rate_limit without a vendor status (a policy’s own refusal) nor on other failures', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const own = new LLMError('rate_limit', 'Rate limit openai: the call would wait more than 10ms', {
        retryAfterMs: 4_000,
      });
      const model = scriptedModel({ scripts: [{ fail: own }, { fail: 'overloaded' }, {}] });
      const limited = model.pipe(createRateLimiter({ requestsPerMinute: 600, scheduler }).policy());
      expectObservable(letters(limited.stream(ask()))).toBe('(sR|)');
      expectObservable(letters(limited.stream(ask())), '1ms ^').toBe('1ms (sO|)');
      expectObservable(letters(limited.stream(ask())), '2ms ^').toBe('2ms (stuf|)');
    });
  });
});
