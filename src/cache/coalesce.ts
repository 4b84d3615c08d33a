import { defer, Observable, type Subscriber, type Subscription } from 'rxjs';
import { subscribeHeld } from '../operators/internal/subscribeHeld.js';
import { arrayRecording, type Recording } from './recording.js';

/** Where a subscriber stands in a shared call when a value reaches it. */
export interface CoalescedDelivery {
  /** True for the earliest subscriber still attached (normally the one that started the call). */
  readonly owner: boolean;
}

/** Hooks of {@link Coalescer.observe}. */
export interface CoalesceHooks<T, R extends Recording<T> = Recording<T>> {
  /** Makes what a call this subscriber starts keeps its values in (default: an array of them). */
  readonly record?: () => R;
  /** Called at subscribe time: `joined` is true when the call was already in flight. */
  readonly onSubscribe?: (joined: boolean) => void;
  /** Rewrites a value for one subscriber (for example, zero cost for all but the owner). */
  readonly project?: (value: T, delivery: CoalescedDelivery) => T;
  /**
   * Called once when the upstream this call started completes, with the recording of every value it
   * emitted (what `record` made), before the subscribers complete (a joiner's hooks are not called: the
   * call is the starter's).
   */
  readonly completed?: (recording: R) => void;
}

interface Member<T> {
  readonly subscriber: Subscriber<T>;
  readonly project: (value: T, delivery: CoalescedDelivery) => T;
}

// Deliveries are shared, not built per value.
const OWNER: CoalescedDelivery = Object.freeze({ owner: true });
const JOINER: CoalescedDelivery = Object.freeze({ owner: false });

interface Flight<T> {
  readonly members: Member<T>[];
  readonly recording: Recording<T>;
  upstream: Subscription | undefined;
}

/**
 * In-flight coalescing: identical concurrent calls (same key) share ONE upstream subscription.
 *
 * Each subscriber sees the whole stream from its beginning: a late joiner first gets the values emitted
 * so far, then the live ones. A subscriber that leaves does not disturb the others; when the last one
 * leaves, the upstream is unsubscribed (which aborts the call). Once the upstream completes or fails,
 * the key is free: the next call starts a new upstream.
 *
 * ## Example
 * ```ts
 * const flights = createCoalescer<TokenEvent>();
 * const a = flights.observe(key, () => model.stream(request));
 * const b = flights.observe(key, () => model.stream(request));
 * merge(a, b).subscribe(); // one upstream call
 * ```
 */
export interface Coalescer<T> {
  /** A cold Observable that, on subscribe, joins the call in flight for `key` or starts `start()`. */
  observe<R extends Recording<T>>(
    key: string,
    start: () => Observable<T>,
    hooks?: CoalesceHooks<T, R>,
  ): Observable<T>;
  /** True while a call for `key` is in flight. */
  inFlight(key: string): boolean;
  /** How many calls are in flight. */
  readonly size: number;
}

/**
 * Creates a {@link Coalescer}.
 *
 * ## Example
 * ```ts
 * const flights = createCoalescer<TokenEvent>();
 * flights.observe(key, () => model.stream(request), { onSubscribe: (joined) => joined && count++ });
 * ```
 */
export function createCoalescer<T>(): Coalescer<T> {
  const flights = new Map<string, Flight<T>>();

  const finish = (key: string, flight: Flight<T>): Member<T>[] => {
    if (flights.get(key) === flight) flights.delete(key);
    return flight.members.splice(0);
  };

  return {
    observe<R extends Recording<T>>(
      key: string,
      start: () => Observable<T>,
      hooks: CoalesceHooks<T, R> = {},
    ): Observable<T> {
      const project = hooks.project ?? ((value: T) => value);
      return new Observable<T>((subscriber) => {
        let flight = flights.get(key);
        const joined = flight !== undefined;
        if (!flight) {
          flight = { members: [], recording: hooks.record?.() ?? arrayRecording<T>(), upstream: undefined };
          flights.set(key, flight);
        }
        const current = flight;
        const member: Member<T> = { subscriber, project };
        current.members.push(member);
        // Registered before any value flows: a subscriber closed during a synchronous emission leaves at once.
        subscriber.add(() => {
          const index = current.members.indexOf(member);
          if (index < 0) return;
          current.members.splice(index, 1);
          if (current.members.length === 0) {
            finish(key, current);
            current.upstream?.unsubscribe();
          }
        });
        hooks.onSubscribe?.(joined);
        for (const value of current.recording.values()) {
          if (subscriber.closed) break;
          subscriber.next(project(value, current.members[0] === member ? OWNER : JOINER));
        }
        if (!joined) {
          // The subscription is held before any value flows, so the last member leaving during a
          // synchronous emission closes the upstream at once; `defer` turns a throw of `start` into an error.
          subscribeHeld(
            defer(start),
            {
              next: (value) => {
                current.recording.push(value);
                const { members } = current;
                // One member (the usual case): no copy of the list. A joiner added during the delivery
                // has this value from the recording already, as it would with the copy.
                if (members.length === 1) {
                  const only = members[0] as Member<T>;
                  if (!only.subscriber.closed) only.subscriber.next(only.project(value, OWNER));
                  return;
                }
                for (const m of [...members]) {
                  if (!m.subscriber.closed) {
                    m.subscriber.next(m.project(value, members[0] === m ? OWNER : JOINER));
                  }
                }
              },
              error: (error: unknown) => {
                for (const m of finish(key, current)) m.subscriber.error(error);
              },
              complete: () => {
                const members = finish(key, current);
                // The starter's hooks made this recording (`record`), so it is their R.
                hooks.completed?.(current.recording as R);
                for (const m of members) m.subscriber.complete();
              },
            },
            (held) => (current.upstream = held),
          );
        }
      });
    },
    inFlight: (key) => flights.has(key),
    get size() {
      return flights.size;
    },
  };
}
