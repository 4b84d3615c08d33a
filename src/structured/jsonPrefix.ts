import { JSONParser } from '@streamparser/json';

/**
 * A JSON value read from a growing text: `write` the text as it streams, read `value` (a copy of
 * what is known so far), `end` for the complete value.
 *
 * Every `value` is a prefix of the final one: objects gain properties, arrays gain elements, the last
 * string grows; numbers, booleans and `null` appear only once complete (a partial `12` of `123` would be a
 * wrong value, not a prefix). The tokenizing is `@streamparser/json`'s; this file only keeps the root and
 * the string being read, which that parser reports but does not attach until it ends.
 */
export interface JsonPrefixParser {
  /** Feeds more text; true when `value` changed. Throws a `SyntaxError` on text that is not JSON. */
  write(text: string): boolean;
  /** A copy of the value read so far, sharing its finished parts: treat it as immutable (`undefined` before anything is known). */
  readonly value: unknown;
  /** The complete value. Throws a `SyntaxError` when the text so far is not one whole JSON value. */
  end(): unknown;
}

type Key = string | number;
type Container = Record<string, unknown> | unknown[];
interface Frame {
  readonly key: Key | undefined;
  readonly value: Container | undefined;
}
interface ParsedValue {
  readonly value?: unknown;
  readonly key?: Key;
  readonly parent?: Container;
  readonly stack: readonly Frame[];
  readonly partial?: boolean;
}

/**
 * Creates a {@link JsonPrefixParser}. `onElement` is called with each element of a top-level array once
 * that element is complete, in order.
 */
export function jsonPrefixParser(onElement?: (value: unknown, index: number) => void): JsonPrefixParser {
  const parser = new JSONParser({ emitPartialTokens: true, emitPartialValues: true });
  let root: unknown;
  let complete = false;
  let failure: Error | undefined;
  // The parser's stack (mutated in place) and its current container: the open path, root first.
  let stack: readonly Frame[] = [];
  let current: Container | undefined;
  // The string being read in the current container: its key and its text so far.
  let open: { key: Key; text: string } | undefined;
  let changed = false;

  parser.onError = (error: Error): void => {
    failure ??= error;
  };
  parser.onValue = (info: ParsedValue): void => {
    const { parent, partial, value, key } = info;
    stack = info.stack;
    current = parent;
    if (stack.length === 0) {
      if (partial) {
        if (typeof value === 'string') ({ root, changed } = { root: value, changed: true });
        return;
      }
      ({ root, complete, changed, open } = { root: value, complete: true, changed: true, open: undefined });
      return;
    }
    root = stack.length >= 2 ? stack[1]!.value : parent;
    if (!partial) {
      open = undefined;
      changed = true;
      if (stack.length === 1 && Array.isArray(parent) && onElement) onElement(value, parent.length - 1);
      return;
    }
    if (typeof value === 'string' && key !== undefined) {
      open = { key, text: value };
      changed = true;
    } else if (value === undefined && (key === undefined || Array.isArray(parent))) {
      changed = true; // a container opened (a partial key or an unfinished number changes nothing)
    }
  };

  return {
    write(text) {
      changed = false;
      if (complete && text.trim() === '') return false;
      parser.write(text);
      if (failure) throw syntaxError(failure);
      return changed;
    },
    get value() {
      if (complete || typeof root !== 'object' || root === null || current === undefined) return root;
      return snapshot(stack, current, open);
    },
    end() {
      if (!complete) {
        try {
          if (!parser.isEnded) parser.end();
        } catch (error) {
          throw syntaxError(error);
        }
        if (failure) throw syntaxError(failure);
        if (!complete) throw new SyntaxError('Unexpected end of JSON input');
      }
      return root;
    },
  };
}

/**
 * A copy of the value so far that shares every finished part: the parser only ever changes the containers
 * on its open path (and the string being read), so only those are copied, shallowly. A deep copy per
 * change cost ~9 times more on a 4 KB answer (bench/partialJson.ts).
 */
function snapshot(
  stack: readonly Frame[],
  current: Container,
  open: { key: Key; text: string } | undefined,
): Container {
  const chain = [...stack.slice(1).map((f) => f.value as Container), current];
  const copies = chain.map((c): Container => (Array.isArray(c) ? c.slice() : { ...c }));
  for (let i = 0; i < copies.length - 1; i++) {
    (copies[i] as Record<Key, unknown>)[stack[i + 1]!.key as Key] = copies[i + 1];
  }
  if (open) (copies[copies.length - 1] as Record<Key, unknown>)[open.key] = open.text;
  return copies[0]!;
}

function syntaxError(error: unknown): SyntaxError {
  return new SyntaxError(error instanceof Error ? error.message : String(error));
}
