import type { Observable, Subscription } from 'rxjs';
import { toLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';
import {
  IDLE_STATE,
  initialProgress,
  reduceTokenStream,
  type TokenStreamProgress,
  type TokenStreamState,
  type TokenStreamStateOptions,
} from './tokenStreamState.js';

/**
 * Options of {@link createStreamStore}: where prices for the running cost estimate come from.
 *
 * ## Example
 * ```ts
 * createStreamStore(stream$, { catalog: createCatalog([myModelSpec]) });
 * ```
 */
export type StreamStoreOptions = TokenStreamStateOptions;

/**
 * A framework-free external store over one token stream, in the shape React's `useSyncExternalStore`
 * wants (and any other UI can use): `subscribe(listener)` and `getSnapshot()`.
 *
 * ## Example
 * ```ts
 * const store = createStreamStore(fromSSE('/api/generate', { body: request }));
 * const off = store.subscribe(() => render(store.getSnapshot()));
 * document.querySelector('button')!.onclick = () => store.stop();
 * ```
 */
export interface StreamStore {
  /**
   * Adds a listener, called after every change of the snapshot. The first listener subscribes to the
   * source (once per store: a finished or stopped stream is not started again). When the last listener
   * leaves and none comes back within the same microtask, the source is unsubscribed (aborting the call)
   * and the status becomes `stopped`; the microtask grace lets React's StrictMode unmount-remount keep
   * the one upstream call.
   * @returns The function that removes the listener.
   */
  subscribe(listener: () => void): () => void;
  /** The current snapshot: the same object until something changes (a new immutable object after). */
  getSnapshot(): TokenStreamState;
  /** Subscribes to the source now, without waiting for a listener. Does nothing if it ran already. */
  connect(): void;
  /** Unsubscribes from the source (aborting the call upstream); the status becomes `stopped` if it was streaming. */
  stop(): void;
}

/**
 * Makes the {@link StreamStore} a UI renders a token stream from: text so far (cleared on `reset`),
 * status, the answering provider and model, the switches seen, usage, a running cost and the typed error.
 *
 * Think `source.pipe(scan(reduceTokenStream))`, held as a current value with listeners, subscribed only
 * while someone watches. State lives in the store: create one per stream (the `useTokenStream` hook does).
 *
 * ## Example
 * ```ts
 * const store = createStreamStore(pipeline.stream(request));
 * store.subscribe(() => {
 *   const { text, status, provider, cost } = store.getSnapshot();
 *   console.log(status, provider, cost, text);
 * });
 * ```
 *
 * @see {@link reduceTokenStream} for how each event changes the snapshot.
 * @param source The stream to render; `null` or `undefined` for none (the snapshot stays `idle`).
 * @param options Where prices for the running cost estimate come from.
 * @returns The store.
 */
export function createStreamStore(
  source: Observable<TokenEvent> | null | undefined,
  options: StreamStoreOptions = {},
): StreamStore {
  const listeners = new Set<() => void>();
  let progress: TokenStreamProgress | undefined = source ? initialProgress() : undefined;
  let snapshot: TokenStreamState = progress?.view ?? IDLE_STATE;
  let subscription: Subscription | undefined;
  /** The source was subscribed once (or stopped before): it is never subscribed again. */
  let used = false;
  let releasePending = false;

  const publish = (view: TokenStreamState): void => {
    if (view === snapshot) return;
    snapshot = Object.freeze(view);
    for (const listener of [...listeners]) listener();
  };

  const settle = (status: 'done' | 'error' | 'stopped', error?: unknown): void => {
    if (snapshot.status !== 'streaming') return;
    publish({ ...snapshot, status, ...(status === 'error' && { error: toLLMError(error) }) });
  };

  const connect = (): void => {
    if (used || !source) return;
    used = true;
    const sub = source.subscribe({
      next: (event) => {
        if (!progress || snapshot.status !== 'streaming') return;
        progress = reduceTokenStream(progress, event, options);
        publish(progress.view);
      },
      error: (error: unknown) => settle('error', error),
      complete: () => settle('done'),
    });
    // A synchronous source may have finished inside subscribe(): nothing is left to tear down then.
    if (snapshot.status === 'streaming') subscription = sub;
  };

  const stop = (): void => {
    used = true;
    const sub = subscription;
    subscription = undefined;
    settle('stopped');
    sub?.unsubscribe();
  };

  const release = (): void => {
    if (releasePending) return;
    releasePending = true;
    queueMicrotask(() => {
      releasePending = false;
      if (listeners.size === 0) stop();
    });
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      connect();
      return () => {
        if (!listeners.delete(listener)) return;
        if (listeners.size === 0) release();
      };
    },
    getSnapshot: () => snapshot,
    connect,
    stop,
  };
}
