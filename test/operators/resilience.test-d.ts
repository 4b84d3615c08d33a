import { type MonoTypeOperatorFunction, pipe } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel, ModelPolicy } from '../../src/core/model.js';
import { type Backoff, type BackoffFactory, exponentialBackoff } from '../../src/operators/backoff.js';
import type { CircuitState } from '../../src/operators/circuitMachine.js';
import { type CircuitBreaker, createCircuitBreaker } from '../../src/operators/createCircuitBreaker.js';
import { hedge } from '../../src/operators/hedge.js';
import { retryEvents } from '../../src/operators/retryEvents.js';
import { type StreamTimeoutError, timeoutEvents } from '../../src/operators/timeoutEvents.js';
import { withCircuitBreaker } from '../../src/operators/withCircuitBreaker.js';
import { type MidStreamPolicy, withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { withTimeout } from '../../src/operators/withTimeout.js';

declare const gpt: LanguageModel;
declare const claude: LanguageModel;

describe('resilience operator types', () => {
  it('policies are ModelPolicy and compose with model.pipe and RxJS pipe', () => {
    const breaker = createCircuitBreaker();
    expectTypeOf(withRetry()).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(withTimeout({ idleMs: 1 })).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(withCircuitBreaker(breaker)).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(withFallback()).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(hedge({ delayMs: 1 })).toEqualTypeOf<ModelPolicy>();
    expectTypeOf(
      gpt.pipe(withTimeout({ idleMs: 1 }), withCircuitBreaker(breaker), withRetry()),
    ).toEqualTypeOf<LanguageModel>();
    expectTypeOf(
      pipe(withRetry(), withFallback({ candidates: [claude] }))(gpt),
    ).toEqualTypeOf<LanguageModel>();
  });

  it('stream-level operators keep the event type', () => {
    expectTypeOf(retryEvents()).toEqualTypeOf<MonoTypeOperatorFunction<TokenEvent>>();
    expectTypeOf(timeoutEvents({ totalMs: 1 })).toEqualTypeOf<MonoTypeOperatorFunction<TokenEvent>>();
  });

  it('options are checked', () => {
    // @ts-expect-error hedge needs its delay
    hedge({});
    // @ts-expect-error not a mid-stream policy
    withFallback({ onMidStream: 'retry' });
    expectTypeOf<MidStreamPolicy>().toEqualTypeOf<'error' | 'restart' | 'continue'>();
    expectTypeOf(withRetry)
      .parameter(0)
      .exclude<undefined>()
      .toHaveProperty('shouldRetry')
      .toEqualTypeOf<((error: LLMError, attempts: number) => boolean) | undefined>();
  });

  it('backoff is a value with a next step', () => {
    expectTypeOf(exponentialBackoff()).toEqualTypeOf<BackoffFactory>();
    expectTypeOf<Backoff['next']>().returns.toEqualTypeOf<Backoff>();
    expectTypeOf<Backoff['duration']>().toEqualTypeOf<number>();
  });

  it('circuit states narrow on their tag', () => {
    const state = {} as CircuitState;
    if (state.state === 'open') expectTypeOf(state.until).toEqualTypeOf<number>();
    if (state.state === 'half-open') expectTypeOf(state.probes).toEqualTypeOf<number>();
    if (state.state === 'closed') expectTypeOf(state.consecutiveFailures).toEqualTypeOf<number>();
    expectTypeOf<CircuitBreaker['state$']>().toMatchTypeOf<{ subscribe: unknown }>();
  });

  it('a timeout error is an LLMError with its phase', () => {
    expectTypeOf<StreamTimeoutError>().toMatchTypeOf<LLMError>();
    expectTypeOf<StreamTimeoutError['phase']>().toEqualTypeOf<'first-token' | 'idle' | 'total'>();
  });
});
