import { Observable, type Observer, type Subscription } from 'rxjs';

/**
 * Subscribes `observer` to `source`, handing the subscription to `hold` before any value flows: a
 * handler can then stop a synchronous source from inside its own emission (before `subscribe` returned),
 * which `source.pipe(takeUntil(stop$))` also allows, at the cost of a Subject per call and a subscriber
 * hop per event.
 *
 * ## Example
 * ```ts
 * let subscription: Subscription | undefined;
 * subscribeHeld(tokens$, { next: (e) => e.type === 'finish' && subscription?.unsubscribe() }, (s) => (subscription = s));
 * ```
 */
export function subscribeHeld<T>(
  source: Observable<T>,
  observer: Partial<Observer<T>>,
  hold: (subscription: Subscription) => void,
): Subscription {
  return new Observable<T>((subscriber) => {
    hold(subscriber);
    // The subscriber itself goes to the source: no subscriber in between, and the source's teardown is its.
    source.subscribe(subscriber);
  }).subscribe(observer);
}
