import { Observable, Subscriber, type MonoTypeOperatorFunction } from 'rxjs';

/** What {@link relay} calls: `tap`'s observer, with the same meaning. */
export interface RelayHooks<T> {
  /** Each value, before it is passed on. A throw fails the stream. */
  next?(value: T): void;
  /** The source's error, before it is passed on. A throw replaces the error. */
  error?(error: unknown): void;
  /** The source's completion, before it is passed on. A throw fails the stream. */
  complete?(): void;
  /** The subscriber left before the source ended. */
  unsubscribe?(): void;
  /** Once, however the subscription ends (after `unsubscribe`, when that is how). */
  finalize?(): void;
}

/**
 * The per-subscription subscriber of {@link relay}: the source calls `_next`, which calls the hook and
 * then the destination. `tap` does the same through `OperatorSubscriber`'s closures, two more calls per
 * value, and every policy of a pipeline pays that once per token.
 */
class Relay<T> extends Subscriber<T> {
  /** The source completed or failed (so a later teardown is not an early unsubscribe). */
  ended = false;
  private readonly out: Subscriber<T>;
  private readonly hooks: RelayHooks<T>;
  private readonly onNext: ((value: T) => void) | undefined;

  constructor(out: Subscriber<T>, hooks: RelayHooks<T>) {
    super();
    this.out = out;
    this.hooks = hooks;
    this.onNext = hooks.next;
  }

  protected override _next(value: T): void {
    if (this.onNext !== undefined) {
      try {
        this.onNext.call(this.hooks, value);
      } catch (error) {
        // As in `tap`: the source did not end, so this counts as leaving early (`unsubscribe` is called).
        this.out.error(error);
        this.unsubscribe();
        return;
      }
    }
    this.out.next(value);
  }

  protected override _error(error: unknown): void {
    this.ended = true;
    try {
      this.hooks.error?.(error);
    } catch (thrown) {
      error = thrown;
    }
    try {
      this.out.error(error);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    this.ended = true;
    try {
      this.hooks.complete?.();
    } catch (error) {
      this.out.error(error);
      this.unsubscribe();
      return;
    }
    try {
      this.out.complete();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * `tap` for the library's per-token hot path: the hooks are called as `tap` calls its observer (a throw
 * fails the stream; `unsubscribe` for a subscriber that left early, then `finalize`), with one call per
 * value fewer on each side of the hook.
 *
 * ## Example
 * ```ts
 * stream$.pipe(relay({ next: (event) => event.type === 'finish' && record(event), finalize: release }));
 * ```
 */
export function relay<T>(hooks: RelayHooks<T>): MonoTypeOperatorFunction<T> {
  const { unsubscribe, finalize } = hooks;
  return (source) =>
    new Observable<T>((subscriber) => {
      const inner = new Relay(subscriber, hooks);
      // Unsubscribing downstream tears the relay, and so the source, down.
      subscriber.add(inner);
      source.subscribe(inner);
      if (unsubscribe === undefined && finalize === undefined) return undefined;
      return () => {
        if (!inner.ended) unsubscribe?.call(hooks);
        finalize?.call(hooks);
      };
    });
}
