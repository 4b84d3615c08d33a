import type { ReasoningEvent, TextEvent } from '../../core/events.js';
import type { Emit } from './run.js';

/** The text events {@link coalesceText} merges. */
type Piece = TextEvent | ReasoningEvent;

/** What {@link coalesceText} gives the transport: where to emit, and when a read has been fed. */
export interface TextCoalescer {
  /** Takes one event in stream order. */
  readonly emit: Emit;
  /** Delivers the merged text held back (the transport calls it at the end of every network read). */
  flush(): void;
}

/** Longest merged piece: a bound on how long text waits inside one large read. */
export const MAX_MERGED_CHARS = 1024;

/**
 * Merges the `text` (and `reasoning`) pieces a transport finds in one network read into one event, so
 * every policy downstream pays its per-event cost once per read instead of once per token. Nothing waits
 * for the network: held text is delivered when the read has been fed (`flush`), when any other event
 * comes, or when it reaches {@link MAX_MERGED_CHARS}. The first piece of each kind passes at once, so the
 * time to first token is unchanged.
 *
 * Only the event boundaries move: concatenating the pieces gives the same text, and every other event
 * keeps its place. A model streaming at human speed sends one token per read, which passes unmerged.
 *
 * ## Example
 * ```ts
 * const out: TokenEvent[] = [];
 * const { emit, flush } = coalesceText((event) => out.push(event));
 * emit({ type: 'text', text: 'Hel' }); // out: [Hel] (the first piece, at once)
 * emit({ type: 'text', text: 'lo' });
 * emit({ type: 'text', text: ', world' });
 * flush(); // out: [Hel, 'lo, world']
 * ```
 *
 * @param next - where events go
 * @param maxChars - the longest merged piece (default {@link MAX_MERGED_CHARS})
 * @returns the merging `emit` and the end-of-read `flush`
 */
export function coalesceText(next: Emit, maxChars: number = MAX_MERGED_CHARS): TextCoalescer {
  let held: Piece | undefined;
  let text = '';
  let merged = false;
  let sawText = false;
  let sawReasoning = false;

  const flush = (): void => {
    if (held === undefined) return;
    // One piece held alone goes on as it came; only a merge allocates an event.
    const event: Piece = merged ? { type: held.type, text } : held;
    held = undefined;
    text = '';
    merged = false;
    next(event);
  };
  const hold = (piece: Piece): void => {
    if (held === undefined) {
      held = piece;
      text = piece.text;
    } else {
      text += piece.text;
      merged = true;
    }
    if (text.length >= maxChars) flush();
  };
  const emit: Emit = (event) => {
    switch (event.type) {
      case 'text':
        if (held?.type === 'reasoning') flush();
        if (sawText) return hold(event);
        sawText = true;
        return next(event);
      case 'reasoning':
        if (held?.type === 'text') flush();
        if (sawReasoning) return hold(event);
        sawReasoning = true;
        return next(event);
      default:
        flush();
        return next(event);
    }
  };
  return { emit, flush };
}
