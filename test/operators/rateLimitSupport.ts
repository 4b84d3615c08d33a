import { catchError, map, type Observable, of, type SchedulerLike } from 'rxjs';
import type { VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { ChatRequest } from '../../src/core/request.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import type { StateStore } from '../../src/state/store.js';
import { scriptedModel, type ScriptedModel } from '../../src/testing/scriptedModel.js';

/** A request whose `maxTokens` is the token estimate the tests use. */
export const ask = (tokens = 10): ChatRequest => ({
  messages: [{ role: 'user', content: 'hi' }],
  maxTokens: tokens,
});

/** Estimate = `maxTokens`, so each test states its calls' sizes. */
export const byMaxTokens = (request: ChatRequest): number => request.maxTokens ?? 0;

export const newScheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const LETTERS: Record<TokenEvent['type'], string> = {
  start: 's',
  text: 't',
  usage: 'u',
  finish: 'f',
  reasoning: 'r',
  'tool-call-delta': 'd',
  'tool-call': 'c',
  fallback: 'b',
  reset: 'z',
  route: 'o',
  object: 'j',
  element: 'e',
  'tool-result': 'x',
  'tool-approval': 'a',
  step: 'p',
};
const KINDS: Partial<Record<string, string>> = {
  queue_full: 'Q',
  rate_limit: 'R',
  overloaded: 'O',
  unknown: 'X',
};

/**
 * Events as one letter each (`s t u f`), an error as its kind's capital letter followed by completion, so
 * marbles read `(stuf|)` for a call and `(Q|)` for a refused one.
 */
export function letters(stream: Observable<TokenEvent>): Observable<string> {
  return stream.pipe(
    map((event) => LETTERS[event.type]),
    catchError((error: unknown) => of(LLMError.isInstance(error) ? (KINDS[error.kind] ?? '?') : '!')),
  );
}

/** A model whose usage equals the request's `maxTokens`, so settling changes nothing unless a test says. */
export function exactModel(scheduler?: SchedulerLike, provider = 'scripted'): ScriptedModel {
  return scriptedModel({
    provider,
    ...(scheduler && { scheduler }),
    scripts: (request) => ({ usage: { inputTokens: request.maxTokens ?? 0, outputTokens: 0 } }),
  });
}

/** Scheduled actions not yet run (a cancelled action leaves the list). */
export function pendingActions(scheduler: VirtualTimeScheduler): number {
  return scheduler.actions.length;
}

/** A memory store that answers every call with a promise (like a networked store). */
export function promiseStore(inner: StateStore = memoryStore()): StateStore & { calls: () => number } {
  let calls = 0;
  const later = <T>(value: T | PromiseLike<T>): Promise<T> => {
    calls++;
    return Promise.resolve(value);
  };
  return {
    calls: () => calls,
    get: (key) => later(inner.get(key)),
    set: (key, value, options) => later(inner.set(key, value, options)),
    delete: (key) => later(inner.delete(key)),
    compareAndSet: (key, expected, next, options) => later(inner.compareAndSet(key, expected, next, options)),
    increment: (key, delta, options) => later(inner.increment(key, delta, options)),
    takeTokens: (key, take) => later(inner.takeTokens(key, take)),
    append: (key, value, options) => later(inner.append(key, value, options)),
    list: (key) => later(inner.list(key)),
    keys: (prefix) => later(inner.keys(prefix)),
    close: () => later(inner.close()),
  };
}

/**
 * Runs a virtual-time scheduler together with promises: settles pending microtasks and macrotasks, then
 * moves the clock to the next scheduled action, until nothing is left (or `until` is reached).
 */
export async function driveAsync(scheduler: VirtualTimeScheduler, until = Infinity): Promise<void> {
  for (let guard = 0; guard < 100_000; guard++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = scheduler.actions[0];
    if (!next || next.delay > until) return;
    scheduler.maxFrames = next.delay;
    scheduler.flush();
  }
  throw new Error('driveAsync: the scheduler never ran dry');
}
