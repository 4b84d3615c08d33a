import type { ProtocolName } from './protocols.js';

/** Receives each piece of answer text as the client's stack delivers it. */
export type OnText = (text: string) => void;

/**
 * One streamed call through a stack: POST to the server under `base` (which fixes the answer's size),
 * pass every text piece to `onText`, resolve when the stream ended normally.
 */
export type Call = (base: string, onText: OnText) => Promise<void>;

/** Everything a client needs to build its stack. */
export interface ClientContext {
  readonly protocol: ProtocolName;
  /** A `fetch` to use instead of the global one (the micro-benchmark's in-memory responses). */
  readonly fetch?: typeof fetch;
}

/** Builds a client's stack once per process; the returned `call` is then used for every measured call. */
export type ClientFactory = (context: ClientContext) => Promise<Call>;

/** A user prompt; each call gets a distinct one, so a pipeline's response cache always misses. */
let counter = 0;
export function prompt(): string {
  return `Write a long answer. (call ${++counter} of process ${process.pid})`;
}

/** The fixed prompt of cache-hit calls. */
export const CACHED_PROMPT = 'Write a long answer. (the cached call)';
