import { Observable, type OperatorFunction } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import type { ElementEvent, FinishEvent, ObjectEvent, TokenEvent } from '../core/events.js';
import { subscribeHeld } from '../operators/internal/subscribeHeld.js';
import { jsonPrefixParser, type JsonPrefixParser } from './jsonPrefix.js';
import type { StandardSchema } from './standardSchema.js';
import { validateThen } from './validate.js';

/** The events of a stream read by {@link streamObject}: the source's, plus typed `object` (and `element`). */
export type ObjectStreamEvent<T, E = never> =
  | Exclude<
      TokenEvent,
      {
        /** The untyped `object` and `element` events, replaced by the typed ones. */
        readonly type: 'object' | 'element';
      }
    >
  | ObjectEvent<T>
  | ElementEvent<E>;

/** Options of {@link streamObject}. */
export interface StreamObjectOptions {
  /**
   * `object` (default): the answer is one JSON value, validated whole. `elements`: the answer is a JSON
   * array and the schema is its elements'; each element is validated and emitted as an `element` event
   * once complete, and the final `object` is the array of validated elements.
   */
  readonly mode?: 'object' | 'elements';
  /**
   * Where the JSON is: `auto` (default) reads the answer's text, or the first tool call's arguments when a
   * tool call comes before any text (a forced tool, as Anthropic's older models answer `objectRequest`);
   * `text`; or the arguments of the tool call with this name.
   */
  readonly from?:
    | 'auto'
    | 'text'
    | {
        /** The name of the tool whose call's arguments hold the JSON. */
        readonly tool: string;
      };
}

/**
 * Reads the JSON a stream's text (or a tool call's arguments) carries and emits it as it grows: after each
 * piece of text that changed it, an `object` event with `partial: true` holding a prefix of the final value;
 * right before `finish`, one `object` event with `partial: false` holding the complete value validated by
 * `schema`. Every source event passes on unchanged.
 *
 * Think `scan` with a JSON parser that never waits for the closing brace. Any Standard Schema validates
 * (zod 4, valibot, arktype); a mismatch fails the stream with a {@link SchemaMismatchError} carrying the
 * issues, text that is not JSON with an `invalid_response` error. A `reset` starts the value over.
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const City = z.object({ name: z.string(), population: z.number() });
 * gpt
 *   .stream(objectRequest({ messages: [{ role: 'user', content: 'Largest city?' }] }, City))
 *   .pipe(streamObject(City))
 *   .subscribe((e) => {
 *     if (e.type === 'object') console.log(e.partial, e.value);
 *   });
 * ```
 *
 * @see {@link objectRequest} asks the vendor for JSON matching the schema.
 * @param schema Validates the final value (in `elements` mode: each element).
 * @param options The mode and where the JSON is.
 * @returns An operator over a stream of events.
 */
export function streamObject<T>(
  schema: StandardSchema<unknown, T>,
  options?: StreamObjectOptions & { readonly mode?: 'object' },
): OperatorFunction<TokenEvent, ObjectStreamEvent<T>>;
export function streamObject<T>(
  schema: StandardSchema<unknown, T>,
  options: StreamObjectOptions & { readonly mode: 'elements' },
): OperatorFunction<TokenEvent, ObjectStreamEvent<T[], T>>;
export function streamObject<T>(
  schema: StandardSchema<unknown, T>,
  options: StreamObjectOptions = {},
): OperatorFunction<TokenEvent, TokenEvent> {
  const elements = options.mode === 'elements';
  const from = options.from ?? 'auto';
  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      let origin: { provider?: string; model?: string } = {};
      let parser: JsonPrefixParser;
      let validated: unknown[];
      // What the JSON is read from: the text, a tool call's index, or not decided yet (`auto`).
      let reading: 'text' | number | undefined;
      const fresh = (): void => {
        validated = [];
        reading = from === 'text' ? 'text' : undefined;
        parser = jsonPrefixParser(
          elements
            ? (value, index) =>
                queue.run(() =>
                  validateThen(
                    schema,
                    value,
                    `Element ${index}`,
                    origin,
                    (v) => {
                      validated.push(v);
                      subscriber.next({ type: 'element', index, value: v });
                    },
                    fail,
                  ),
                )
            : undefined,
        );
      };
      const fail = (error: unknown): void => subscriber.error(toLLMError(error));
      const queue = orderedQueue(fail);
      fresh();

      const feed = (text: string): void => {
        let changed: boolean;
        try {
          changed = parser.write(text);
        } catch (error) {
          throw notJson(error, origin);
        }
        if (changed) {
          const value = parser.value;
          queue.run(() => subscriber.next({ type: 'object', partial: true, value }));
        }
      };
      const settle = (finish: FinishEvent): void => {
        let value: unknown;
        try {
          value = parser.end();
        } catch (error) {
          throw notJson(
            error,
            origin,
            finish.reason === 'length' ? ' (the answer hit its length limit)' : '',
          );
        }
        queue.run(() => {
          const done = (v: unknown): void => {
            subscriber.next({ type: 'object', partial: false, value: v });
            subscriber.next(finish);
          };
          if (elements) return done(validated);
          return validateThen(schema, value, 'The answer', origin, done, fail);
        });
      };

      // Held: a synchronous source stops as soon as the subscriber leaves (`take`), not at its end.
      subscribeHeld(
        source,
        {
          next: (event) => {
            try {
              switch (event.type) {
                case 'start':
                  origin = { provider: event.provider, model: event.model };
                  break;
                case 'reset':
                  fresh();
                  break;
                case 'text':
                  queue.run(() => subscriber.next(event));
                  if (from === 'auto') reading ??= 'text';
                  if (reading === 'text') feed(event.text);
                  return;
                case 'tool-call-delta':
                  queue.run(() => subscriber.next(event));
                  if (
                    reading === undefined &&
                    (from === 'auto' || (typeof from === 'object' && event.name === from.tool))
                  ) {
                    reading = event.index;
                  }
                  if (reading === event.index) feed(event.argsDelta);
                  return;
                case 'finish':
                  return settle(event);
                default:
                  break;
              }
              queue.run(() => subscriber.next(event));
            } catch (error) {
              fail(error);
            }
          },
          error: (error: unknown) => queue.run(() => subscriber.error(error)),
          complete: () => queue.run(() => subscriber.complete()),
        },
        (held) => subscriber.add(held),
      );
    });
}

function notJson(error: unknown, init: { provider?: string; model?: string }, why = ''): LLMError {
  const detail = error instanceof Error ? error.message : String(error);
  return new LLMError('invalid_response', `The answer is not valid JSON${why}: ${detail}`, {
    retryable: false,
    ...init,
  });
}

/**
 * Runs steps in order: at once while nothing is pending, behind the pending promise otherwise (a
 * validator may answer asynchronously, and events must not overtake its answer).
 */
function orderedQueue(fail: (error: unknown) => void): { run(step: () => void | Promise<void>): void } {
  let tail: Promise<void> | undefined;
  let pending = 0;
  return {
    run(step) {
      if (tail === undefined) {
        const result = step();
        if (!(result instanceof Promise)) return;
        tail = result;
      } else {
        tail = tail.then(step);
      }
      pending++;
      const mine = tail;
      mine
        .catch(fail)
        .finally(() => {
          pending--;
          if (pending === 0 && tail === mine) tail = undefined;
        })
        .catch(() => undefined);
    },
  };
}
