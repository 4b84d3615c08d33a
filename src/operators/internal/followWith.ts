import { Observable, take } from 'rxjs';

/**
 * `first`'s first value, then `next(value)` streamed straight into the subscriber: what
 * `first.pipe(take(1), switchMap(next))` does, without a subscriber in between for every event of the
 * follow-up (a token stream's hot path). `first` completing empty completes; its error, or a throw from
 * `next`, fails the stream.
 *
 * ## Example
 * ```ts
 * followWith(limiter.acquire('openai'), () => model.stream(request)); // tokens pass with no extra hop
 * ```
 */
export function followWith<T, R>(first: Observable<T>, next: (value: T) => Observable<R>): Observable<R> {
  return new Observable<R>((subscriber) => {
    let followed = false;
    subscriber.add(
      first.pipe(take(1)).subscribe({
        next: (value) => {
          followed = true;
          let inner: Observable<R>;
          try {
            inner = next(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          // Handing the subscriber itself over: its events and its teardown are the follow-up's.
          inner.subscribe(subscriber);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          if (!followed) subscriber.complete();
        },
      }),
    );
  });
}
