import type { Observable } from 'rxjs';
import { useMemo, useSyncExternalStore } from 'react';
import type { TokenEvent } from '../core/events.js';
import { createStreamStore, type StreamStoreOptions } from './streamStore.js';
import type { TokenStreamState } from './tokenStreamState.js';

/**
 * Options of {@link useTokenStream}: where prices for the running cost estimate come from.
 *
 * ## Example
 * ```ts
 * const catalog = createCatalog([myModelSpec]); // module scope: a stable identity
 * useTokenStream(stream$, { catalog });
 * ```
 */
export type UseTokenStreamOptions = StreamStoreOptions;

/**
 * What {@link useTokenStream} returns: the current snapshot and a way to stop the stream.
 *
 * ## Example
 * ```tsx
 * const { text, status, stop }: TokenStreamView = useTokenStream(stream$);
 * ```
 */
export interface TokenStreamView extends TokenStreamState {
  /** Unsubscribes from the stream (aborting the call upstream); `status` becomes `stopped`. Stable per stream. */
  readonly stop: () => void;
}

/**
 * Renders a live token stream in a React component: the text so far, status, the provider answering,
 * the switches seen, usage, a running cost and the typed error, re-rendering on every change.
 *
 * Think `useSyncExternalStore` over {@link createStreamStore}: the stream is subscribed when the component
 * commits, once, and unsubscribed (the call aborted) on unmount or when `source` changes. Pass a stable
 * Observable: keep it in state (set it in an event handler) or memoize it; every new Observable is a
 * new call. `null` renders `idle`.
 *
 * ## Example
 * ```tsx
 * import { useMemo } from 'react';
 * function Answer({ prompt }: { prompt: string }) {
 *   const stream = useMemo(() => fromSSE('/api/generate', { body: { prompt } }), [prompt]);
 *   const { text, status, provider, cost, stop } = useTokenStream(stream);
 *   return <p>{text} <small>{provider} · {status} · ${cost.toFixed(5)}</small> <button onClick={stop}>Stop</button></p>;
 * }
 * ```
 *
 * @see {@link createStreamStore} for the framework-free store, {@link TokenStreamState} for each field.
 * @param source The stream to render, or `null`/`undefined` for none.
 * @param options Where prices for the running cost come from (read when `source` changes).
 * @returns The current view of the stream and `stop`.
 */
export function useTokenStream(
  source: Observable<TokenEvent> | null | undefined,
  options: UseTokenStreamOptions = {},
): TokenStreamView {
  const catalog = options.catalog;
  // The store is lazy (nothing runs before React subscribes), so a render React throws away costs nothing.
  const store = useMemo(
    () => createStreamStore(source, catalog === undefined ? {} : { catalog }),
    [source, catalog],
  );
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return useMemo(() => ({ ...state, stop: store.stop }), [state, store]);
}
