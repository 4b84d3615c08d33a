import type { VirtualTimeScheduler } from 'rxjs';
import { type SchedulerLike } from 'rxjs';
import type { ModelSpec } from '../../src/core/catalog.js';
import type { ChatRequest } from '../../src/core/request.js';
import { createEstimator, type TokenCounter } from '../../src/routing/estimate.js';
import type { MaybePromise, StateStore } from '../../src/state/store.js';

/** One token per word: estimates in these tests are exact, so the arithmetic is too. */
export const words: TokenCounter = (text) => text.split(/\s+/).filter(Boolean).length;
export const wordEstimator = () => createEstimator({ tokenizers: () => words });

/** $0.001 per prompt token, $0.002 per output token. */
export const A: ModelSpec = {
  provider: 'sim',
  model: 'a',
  pricing: { input: 1000, output: 2000 },
  contextWindow: 100_000,
  maxOutputTokens: 1_000,
  capabilities: ['streaming'],
  quality: 0.9,
  local: false,
};
/** Half of A's prices, another provider. */
export const B: ModelSpec = { ...A, provider: 'other', model: 'b', pricing: { input: 500, output: 1000 } };

/** A prompt of 'hi' costs 3 + 4 + 1 = 8 tokens with the word counter. */
export const hi = (maxTokens?: number, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: 'hi' }],
  ...(maxTokens !== undefined && { maxTokens }),
  ...extra,
});

/** `n` one-word chunks. */
export const chunks = (n: number): string[] => Array.from({ length: n }, (_, i) => (i === 0 ? 'w' : ' w'));

/** A scheduler reading `base + virtual time`, scheduling on the virtual scheduler. */
export function clock(virtual: VirtualTimeScheduler, base: number): SchedulerLike {
  return {
    now: () => base + virtual.now(),
    schedule: virtual.schedule.bind(virtual) as SchedulerLike['schedule'],
  };
}

/** Advances `virtual` by `ms`, running what is due by then and nothing later. */
export function advance(virtual: VirtualTimeScheduler, ms: number): void {
  const until = virtual.frame + ms;
  virtual.schedule(() => undefined, ms);
  virtual.maxFrames = until;
  virtual.flush();
  virtual.maxFrames = Infinity;
}

/** The same store answering every call with a promise (as Redis would). */
export function asyncStore(
  inner: StateStore,
  delay: <T>(value: () => MaybePromise<T>) => Promise<T>,
): StateStore {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => MaybePromise<R>) =>
    (...args: A): Promise<R> =>
      delay(() => fn(...args));
  return {
    get: wrap(inner.get),
    set: wrap(inner.set),
    delete: wrap(inner.delete),
    compareAndSet: wrap(inner.compareAndSet),
    increment: wrap(inner.increment),
    takeTokens: wrap(inner.takeTokens),
    append: wrap(inner.append),
    list: wrap(inner.list),
    keys: wrap(inner.keys),
    close: wrap(inner.close),
  };
}
