/**
 * rxllm/react: render token streams in React. React is an optional peer dependency of rxllm; only this
 * entry needs it. The store under the hook is framework-free, for other UI libraries.
 *
 * @packageDocumentation
 */

// Hook
export type { TokenStreamView, UseTokenStreamOptions } from './react/useTokenStream.js';
export { useTokenStream } from './react/useTokenStream.js';

// Framework-free store
export type { StreamStore, StreamStoreOptions } from './react/streamStore.js';
export { createStreamStore } from './react/streamStore.js';
export type {
  StreamStatus,
  TokenStreamProgress,
  TokenStreamState,
  TokenStreamStateOptions,
} from './react/tokenStreamState.js';
export { IDLE_STATE, initialProgress, reduceTokenStream } from './react/tokenStreamState.js';
