import { Subscription, type Observable } from 'rxjs';
import type { TokenEvent } from '../../../src/core/events.js';

export { type Outcome, allText, outcome } from '../support.js';

/** Subscribes, and unsubscribes at the first event `until` accepts. */
export function unsubscribeAt(
  stream: Observable<TokenEvent>,
  until: (event: TokenEvent) => boolean,
): Promise<TokenEvent[]> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    // Unsubscribing the holder before `add` unsubscribes what is added: safe for synchronous sources too.
    const holder = new Subscription();
    holder.add(
      stream.subscribe({
        next: (event) => {
          events.push(event);
          if (until(event)) {
            holder.unsubscribe();
            resolve(events);
          }
        },
        complete: () => reject(new Error('completed before the unsubscribe point')),
        error: (error: unknown) => reject(error as Error),
      }),
    );
  });
}
