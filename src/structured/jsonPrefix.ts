import { JSONParser } from '@streamparser/json';

/**
 * A JSON value read from a growing text: `write` the text as it streams, read `value` (a deep copy of
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
  /** A deep copy of the value read so far (`undefined` before anything is known). */
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
  // The string being read: where it goes (keys from the root) and its text so far.
  let open: { path: readonly Key[]; text: string } | undefined;
  let changed = false;

  parser.onError = (error: Error): void => {
    failure ??= error;
  };
  parser.onValue = (info: ParsedValue): void => {
    const { stack, parent, partial, value, key } = info;
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
      open = { path: [...stack.slice(1).map((f) => f.key as Key), key], text: value };
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
      if (root === undefined || typeof root !== 'object' || root === null) return root;
      const copy = structuredClone(root) as Container;
      if (open) place(copy, open.path, open.text);
      return copy;
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

function place(root: Container, path: readonly Key[], text: string): void {
  let target: unknown = root;
  for (let i = 0; i < path.length - 1; i++) target = (target as Record<Key, unknown>)[path[i]!];
  (target as Record<Key, unknown>)[path[path.length - 1]!] = text;
}

function syntaxError(error: unknown): SyntaxError {
  return new SyntaxError(error instanceof Error ? error.message : String(error));
}
