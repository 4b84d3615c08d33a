import { LLMError, type SerializedLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';

/**
 * The wire form of a token stream over Server-Sent Events, shared by `toSSE` and `fromSSE`:
 *
 * ```text
 * id: 3            ← ordinal of the event in the stream, for Last-Event-ID resumption
 * event: text      ← the TokenEvent's type
 * data: {"type":"text","text":"Hel"}
 *
 * event: error     ← the stream failed: data is LLMError.toJSON()
 * event: end       ← the stream completed: without it the client reports `incomplete`
 * : ping           ← heartbeat comment, ignored by parsers
 * ```
 */
export const SSE_END = 'end';
/** The SSE event name of a failed stream's last frame (its data is `LLMError.toJSON()`). */
export const SSE_ERROR = 'error';

/** One event as an SSE frame. `LLMError`s inside events serialize through their `toJSON`. */
export function encodeEvent(event: TokenEvent, id: number): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The frame for a failed stream. */
export function encodeError(error: LLMError): string {
  return `event: ${SSE_ERROR}\ndata: ${JSON.stringify(error.toJSON())}\n\n`;
}

/** The frame for a completed stream. */
export const END_FRAME = `event: ${SSE_END}\ndata: {}\n\n`;

/** A heartbeat: an SSE comment, which keeps proxies from closing an idle connection. */
export const HEARTBEAT_FRAME = ': ping\n\n';

/** Rebuilds a TokenEvent from its JSON, reviving the `LLMError` that `fallback` and `reset` events carry. */
export function decodeEvent(data: string): TokenEvent {
  const event = JSON.parse(data) as TokenEvent;
  if (event.type === 'fallback' || event.type === 'reset') {
    return { ...event, error: LLMError.fromJSON(event.error as unknown as SerializedLLMError) };
  }
  return event;
}
