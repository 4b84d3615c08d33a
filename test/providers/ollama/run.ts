import { Subscription, type Observable } from 'rxjs';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';

/** What a stream did: its events, and its error if it failed. */
export interface Outcome {
  readonly events: TokenEvent[];
  readonly error?: LLMError;
}

/** Subscribes and waits for completion or error (an error that is not an `LLMError` fails the test). */
export function outcome(stream: Observable<TokenEvent>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    stream.subscribe({
      next: (event) => events.push(event),
      complete: () => resolve({ events }),
      error: (error: unknown) =>
        LLMError.isInstance(error) ? resolve({ events, error }) : reject(error as Error),
    });
  });
}

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

/** Every string inside `value` (messages, causes, JSON), for secret checks. */
export function allText(value: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || v === undefined || seen.has(v)) return;
    if (typeof v === 'string') return void parts.push(v);
    if (typeof v !== 'object') return void parts.push(String(v));
    seen.add(v);
    if (v instanceof Error) {
      parts.push(v.message, v.stack ?? '', String(v));
      walk(v.cause, depth + 1);
    }
    try {
      parts.push(JSON.stringify(v));
    } catch {
      // cyclic: the walk below covers it
    }
    for (const key of Object.getOwnPropertyNames(v)) walk((v as Record<string, unknown>)[key], depth + 1);
  };
  walk(value, 0);
  return parts.join('\n');
}
