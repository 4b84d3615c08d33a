import type { Observable } from 'rxjs';
import { from, of } from 'rxjs';
import type { MaybePromise } from './store.js';

/** True when `value` is a promise-like (has a `then` method). */
export function isPromiseLike<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * An Observable of a store's answer: synchronous for a synchronous store (so marble tests keep virtual
 * time), from the promise for an asynchronous one.
 *
 * @example
 * const store = memoryStore();
 * fromMaybePromise(store.get('breaker:openai/gpt-4o')).subscribe((state) => console.log(state ?? 'closed'));
 *
 * @param value A store's answer, a value or a promise of one.
 * @returns An Observable of the value.
 */
export function fromMaybePromise<T>(value: MaybePromise<T>): Observable<T> {
  return isPromiseLike(value) ? from(value) : of(value);
}

/** Applies `fn` to a store's answer, staying synchronous when the answer is. */
export function thenMaybe<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromiseLike(value) ? Promise.resolve(value).then(fn) : fn(value);
}
