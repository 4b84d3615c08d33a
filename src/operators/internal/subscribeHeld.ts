import { Subscriber, type Observable, type Observer, type Subscription } from 'rxjs';

/** Rethrows outside the producer's call stack, as a plain observer's throw is reported by RxJS. */
function report(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

/**
 * The observer as a subscriber of its own: the source calls `_next`, which calls the handler. A plain
 * observer would be wrapped in a `SafeSubscriber` and its `ConsumerObserver` (two more calls per value).
 */
class Held<T> extends Subscriber<T> {
  private readonly onNext: ((value: T) => void) | undefined;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly onComplete: (() => void) | undefined;

  constructor(observer: Partial<Observer<T>>) {
    super();
    this.onNext = observer.next;
    this.onError = observer.error;
    this.onComplete = observer.complete;
  }

  protected override _next(value: T): void {
    try {
      this.onNext?.(value);
    } catch (error) {
      report(error);
    }
  }

  protected override _error(error: unknown): void {
    try {
      this.onError?.(error);
    } catch (thrown) {
      report(thrown);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.onComplete?.();
    } catch (error) {
      report(error);
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Subscribes `observer` to `source`, handing the subscription to `hold` before any value flows: a
 * handler can then stop a synchronous source from inside its own emission (before `subscribe` returned),
 * which `source.pipe(takeUntil(stop$))` also allows, at the cost of a Subject per call and a subscriber
 * hop per event. The handlers are called as plain functions (write them as arrows); a throw from one is
 * reported asynchronously, as RxJS reports a plain observer's.
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
  const held = new Held(observer);
  hold(held);
  // A subscriber goes to the source as it is: its teardown becomes the held subscription's.
  source.subscribe(held);
  return held;
}
