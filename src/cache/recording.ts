import type { TokenEvent } from '../core/events.js';

/** Values kept in arrival order: for a shared call's late joiners and for its final write. */
export interface Recording<T> {
  push(value: T): void;
  /** Every value so far, in order: equal to those pushed. */
  values(): readonly T[];
}

/** A {@link Recording} that is an array of the values themselves. */
export function arrayRecording<T>(): Recording<T> {
  const values: T[] = [];
  return {
    push: (value) => void values.push(value),
    values: () => values,
  };
}

/** Consecutive `text` events as stored: their text joined, and the length of each piece. */
export type StoredRun = readonly [text: string, lengths: readonly number[]];

/** A recorded stream as stored: each run of `text` events one {@link StoredRun}, other events whole. */
export type StoredEvents = readonly (StoredRun | TokenEvent)[];

/** A {@link Recording} of token events that keeps text compact, and gives its stored form. */
export interface EventRecording extends Recording<TokenEvent> {
  /** The last event pushed. */
  last(): TokenEvent | undefined;
  /** What is stored for the events so far. */
  stored(): StoredEvents;
}

/** An open or closed run of text events. */
class Run {
  /** The run's text, joined in pieces of up to {@link JOIN} events. */
  readonly chunks: string[] = [];
  readonly lengths: number[] = [];
}

/** Text events joined at a time: the pieces die young, and a long answer keeps one string per JOIN. */
const JOIN = 64;

/**
 * Records token events for the cache. Most of an answer is `text` events, and keeping each one (an
 * object and its string per token, alive until the call ends) cost the garbage collector more than
 * anything else a cache miss does; a run of them is kept as joined text and the pieces' lengths, which
 * is also what is stored (no quotes per piece to write or compress).
 *
 * ## Example
 * ```ts
 * const recording = eventRecording();
 * recording.push({ type: 'text', text: 'Hel' });
 * recording.push({ type: 'text', text: 'lo' });
 * recording.stored(); // [['Hello', [3, 2]]]
 * recording.values(); // [{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }]
 * ```
 */
export function eventRecording(): EventRecording {
  const parts: (Run | TokenEvent)[] = [];
  let run: Run | undefined;
  const pending: string[] = [];
  let last: TokenEvent | undefined;

  const join = (): void => {
    if (run === undefined || pending.length === 0) return;
    run.chunks.push(pending.length === 1 ? (pending[0] as string) : pending.join(''));
    pending.length = 0;
  };
  /** A run's text as one string (kept so, for the next reader). */
  const textOf = (r: Run): string => {
    if (r.chunks.length > 1) r.chunks.splice(0, r.chunks.length, r.chunks.join(''));
    return r.chunks[0] ?? '';
  };

  return {
    push(event) {
      last = event;
      if (event.type === 'text') {
        if (run === undefined) parts.push((run = new Run()));
        pending.push(event.text);
        run.lengths.push(event.text.length);
        if (pending.length === JOIN) join();
        return;
      }
      join();
      run = undefined;
      parts.push(event);
    },
    values() {
      join();
      const out: TokenEvent[] = [];
      for (const part of parts) {
        if (!(part instanceof Run)) {
          out.push(part);
          continue;
        }
        const text = textOf(part);
        let at = 0;
        for (const length of part.lengths) {
          out.push({ type: 'text', text: text.slice(at, (at += length)) });
        }
      }
      return out;
    },
    last: () => last,
    stored() {
      join();
      return parts.map((part) => (part instanceof Run ? ([textOf(part), part.lengths] as const) : part));
    },
  };
}

/**
 * The pieces of a stored stream in order, each `text` event as its bare string; `undefined` when a run is
 * malformed (its lengths do not add up to its text: a corrupt entry, which the cache treats as a miss).
 *
 * ## Example
 * ```ts
 * storedPieces([['Hello', [3, 2]], finish]); // ['Hel', 'lo', finish]
 * ```
 */
export function storedPieces(events: readonly unknown[]): (string | TokenEvent)[] | undefined {
  const out: (string | TokenEvent)[] = [];
  for (const part of events) {
    if (!Array.isArray(part)) {
      out.push(part as TokenEvent);
      continue;
    }
    const [text, lengths] = part as [unknown, unknown];
    if (typeof text !== 'string' || !Array.isArray(lengths)) return undefined;
    let at = 0;
    for (const length of lengths) {
      if (typeof length !== 'number' || !(length >= 0) || at + length > text.length) return undefined;
      out.push(text.slice(at, (at += length)));
    }
    if (at !== text.length) return undefined;
  }
  return out;
}
