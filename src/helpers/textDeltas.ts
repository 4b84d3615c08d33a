import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../core/events.js';

/**
 * Projects a stream to its text deltas: the strings to append to what a UI shows.
 *
 * A `reset` event (a fallback restarted after content had streamed) is emitted as `null`, meaning
 * "clear what you have shown", so that concatenating the strings since the last `null` is the answer.
 *
 * @example
 * const output = document.querySelector('#answer')!;
 * gpt.stream(request).pipe(textDeltas()).subscribe((delta) => {
 *   if (delta === null) output.textContent = ''; // a reset: the text so far is void
 *   else output.textContent += delta;
 * });
 *
 * @returns An operator from events to text pieces, `null` for a reset.
 */
export function textDeltas(): OperatorFunction<TokenEvent, string | null> {
  return (source: Observable<TokenEvent>) =>
    new Observable<string | null>((subscriber) =>
      source.subscribe({
        next: (event) => {
          if (event.type === 'text') subscriber.next(event.text);
          else if (event.type === 'reset') subscriber.next(null);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
