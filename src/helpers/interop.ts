import { Observable } from 'rxjs';

/**
 * An `AsyncIterable` over an Observable: `for await (const event of toAsyncIterable(stream))`.
 *
 * Values are buffered while the loop body runs (a token stream is small); leaving the loop early
 * (`break`, `return`, a throw) unsubscribes, which aborts the call. Errors are thrown from the loop.
 *
 * @example
 * for await (const event of toAsyncIterable(gpt.stream(request))) {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * }
 *
 * @param source The Observable.
 * @returns An async iterable of its values; breaking out of the loop unsubscribes.
 */
export function toAsyncIterable<T>(source: Observable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const buffer: T[] = [];
      let head = 0;
      let done = false;
      let failure: { error: unknown } | undefined;
      let wake: (() => void) | undefined;
      const notify = (): void => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const subscription = source.subscribe({
        next: (value) => {
          buffer.push(value);
          notify();
        },
        error: (error: unknown) => {
          failure = { error };
          notify();
        },
        complete: () => {
          done = true;
          notify();
        },
      });
      const finish = (): IteratorReturnResult<undefined> => {
        subscription.unsubscribe();
        buffer.length = 0;
        head = 0;
        return { done: true, value: undefined };
      };
      return {
        async next(): Promise<IteratorResult<T>> {
          for (;;) {
            if (head < buffer.length) {
              const value = buffer[head++] as T;
              if (head > 1024 && head * 2 > buffer.length) {
                buffer.splice(0, head);
                head = 0;
              }
              return { done: false, value };
            }
            if (failure) {
              const { error } = failure;
              finish();
              throw error;
            }
            if (done) return finish();
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return(): Promise<IteratorResult<T>> {
          return finish();
        },
      };
    },
  };
}

/**
 * A cold Observable over an `AsyncIterable`: each subscription starts a new iteration, and
 * unsubscribing calls the iterator's `return()` (which lets a generator run its `finally`).
 *
 * @example
 * fromAsyncIterable(async function* () { yield 1; yield 2; }()).subscribe(console.log);
 *
 * @param iterable The iterable, or a function that makes a fresh one per subscription.
 * @returns A cold Observable of its values.
 */
export function fromAsyncIterable<T>(iterable: AsyncIterable<T> | (() => AsyncIterable<T>)): Observable<T> {
  return new Observable<T>((subscriber) => {
    const source = typeof iterable === 'function' ? iterable() : iterable;
    const iterator = source[Symbol.asyncIterator]();
    let stopped = false;
    (async () => {
      for (;;) {
        const result = await iterator.next();
        if (stopped) return;
        if (result.done) break;
        subscriber.next(result.value);
      }
      subscriber.complete();
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      void iterator.return?.()?.catch?.(() => undefined);
    };
  });
}

/**
 * A web `ReadableStream` over an Observable, for `Response` bodies and web APIs. Cancelling the
 * stream unsubscribes. Values are enqueued as they come (the stream's own queue buffers them).
 *
 * @example
 * export const GET = () => new Response(toReadableStream(gpt.stream(request).pipe(textDeltas(), filter(Boolean))));
 *
 * @param source The Observable.
 * @returns A stream of its values; cancelling it unsubscribes.
 */
export function toReadableStream<T>(source: Observable<T>): ReadableStream<T> {
  let subscription: { unsubscribe(): void } | undefined;
  return new ReadableStream<T>({
    start(controller) {
      subscription = source.subscribe({
        next: (value) => controller.enqueue(value),
        error: (error: unknown) => controller.error(error),
        complete: () => controller.close(),
      });
    },
    cancel() {
      subscription?.unsubscribe();
    },
  });
}

/**
 * A cold Observable over a web `ReadableStream`: it reads on subscribe and cancels the stream on
 * unsubscribe. A stream can be read once: a second subscription fails with the stream's own error.
 *
 * @example
 * fromReadableStream(response.body!).subscribe((bytes) => console.log(bytes.length));
 *
 * @param stream The stream to read.
 * @returns A cold Observable of its chunks.
 */
export function fromReadableStream<T>(stream: ReadableStream<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const reader = stream.getReader();
    let stopped = false;
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (stopped) return;
        if (done) break;
        subscriber.next(value);
      }
      subscriber.complete();
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      reader.cancel().catch(() => undefined);
    };
  });
}
