import type { Observable, Subscription } from 'rxjs';
import { LLMError, toLLMError } from '../../core/errors.js';
import { isContentEvent, type ModelRef, type TokenEvent } from '../../core/events.js';
import { subscribeHeld } from './subscribeHeld.js';

/** What an {@link Attempt} calls as it runs. */
export interface AttemptHandlers {
  /**
   * The attempt's first content event (or its `finish`) arrived, before anything of it is passed on.
   * Hedging picks its winner here; the attempt may be unsubscribed from inside (then nothing is passed on).
   */
  readonly commit?: (attempt: Attempt) => void;
  /** An event to pass on. Held events (`start`, `usage`, …) come just before the first content. */
  readonly next: (event: TokenEvent, attempt: Attempt) => void;
  /** The attempt failed; `attempt.committed` says whether any of it reached the subscriber. */
  readonly error: (error: LLMError, attempt: Attempt) => void;
  /** The attempt finished (a `finish` arrived, then the source completed). */
  readonly complete: (attempt: Attempt) => void;
  /**
   * True once the policy's own subscriber is closed. Checked after each event passed on, so that a
   * synchronous source cut short downstream (`take`) stops at once instead of running to its end.
   */
  readonly closed: () => boolean;
}

/**
 * One subscription to one candidate's stream, as policies that may resubscribe or switch provider
 * (retry, fallback, hedging) need it:
 *
 * - its `start` (and any `usage` or `fallback` before content) is HELD until its first content
 *   event or its `finish`, and dropped if it fails before that, so a failed attempt leaves no trace;
 * - after the first content it is committed: everything passes through, and a failure is reported with
 *   `committed` set, so the policy passes the error on (or emits a `reset`) instead of resubscribing;
 * - a source that completes without a `finish` fails with `incomplete`;
 * - errors become `LLMError`s naming the attempt's provider and model.
 *
 * Created idle: call {@link Attempt.start}. That lets a policy record the attempt before a synchronous
 * source can call back into it.
 */
export class Attempt {
  /** Held before any value flows: stops the source even from inside its synchronous emission. */
  private subscription: Subscription | undefined;
  private held: TokenEvent[] = [];
  private finished = false;
  private done = false;
  private source: ModelRef | undefined;
  private _committed = false;

  constructor(
    private readonly stream: () => Observable<TokenEvent>,
    private readonly fallbackRef: ModelRef | undefined,
    private readonly handlers: AttemptHandlers,
  ) {}

  /** Where this attempt's events come from: its `start` event's provider and model once seen. */
  get ref(): ModelRef | undefined {
    return this.source ?? this.fallbackRef;
  }

  /** True once the first content (or the finish) of this attempt reached the subscriber. */
  get committed(): boolean {
    return this._committed;
  }

  /** True once the attempt ended: completed, failed or unsubscribed. */
  get closed(): boolean {
    return this.done;
  }

  /** Subscribes to the source. Synchronous sources may finish (and call back) before this returns. */
  start(): void {
    if (this.done || this.subscription) return;
    let source: Observable<TokenEvent>;
    try {
      source = this.stream();
    } catch (error) {
      this.fail(error);
      return;
    }
    subscribeHeld(
      source,
      {
        next: (event) => this.onNext(event),
        error: (error: unknown) => this.fail(error),
        complete: () => this.onComplete(),
      },
      (subscription) => (this.subscription = subscription),
    );
  }

  /** Stops the attempt (unsubscribing aborts the call). No handler is called afterwards. */
  unsubscribe(): void {
    this.done = true;
    this.held = [];
    this.subscription?.unsubscribe();
  }

  private onNext(event: TokenEvent): void {
    if (this.done || this.finished) return;
    if (event.type === 'start') this.source = { provider: event.provider, model: event.model };
    if (!this._committed) {
      // A routing decision precedes every attempt: it is the policy's, not the provider's, so it is
      // shown at once (before any `fallback` it leads to) and never dropped.
      if (event.type === 'route') {
        this.pass(event);
        return;
      }
      if (!isContentEvent(event) && event.type !== 'finish') {
        this.held.push(event);
        return;
      }
      this.handlers.commit?.(this);
      if (this.done) return;
      this._committed = true;
      const held = this.held;
      this.held = [];
      for (const e of held) {
        this.pass(e);
        if (this.done) return;
      }
    }
    if (event.type === 'finish') this.finished = true;
    this.pass(event);
  }

  private pass(event: TokenEvent): void {
    this.handlers.next(event, this);
    if (!this.done && this.handlers.closed()) this.unsubscribe();
  }

  private onComplete(): void {
    if (this.done) return;
    if (!this.finished) {
      const ref = this.ref;
      this.fail(
        new LLMError('incomplete', 'The stream completed without a finish event', {
          ...(ref && { provider: ref.provider, model: ref.model }),
        }),
      );
      return;
    }
    this.done = true;
    this.handlers.complete(this);
  }

  private fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.held = [];
    this.subscription?.unsubscribe();
    const ref = this.ref;
    this.handlers.error(toLLMError(error, ref?.provider, ref?.model), this);
  }
}
