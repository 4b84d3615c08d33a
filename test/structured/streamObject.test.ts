import fc from 'fast-check';
import { lastValueFrom, toArray, take, of, throwError, NEVER, concat } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenEvent } from '../../src/core/events.js';
import { jsonPrefixParser } from '../../src/structured/jsonPrefix.js';
import { SchemaMismatchError } from '../../src/structured/SchemaMismatchError.js';
import type { StandardSchema } from '../../src/structured/standardSchema.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { errorOf, finish, pulledSource, start, testScheduler, text } from '../operators/support.js';

const City = z.object({ name: z.string(), tags: z.array(z.string()), population: z.number() });

/** `partial` is a prefix of `full`: properties and elements only added, the last string only extended. */
function isPrefix(partial: unknown, full: unknown): boolean {
  if (typeof partial === 'string') return typeof full === 'string' && full.startsWith(partial);
  if (Array.isArray(partial)) {
    if (!Array.isArray(full) || partial.length > full.length) return false;
    return partial.every((p, i) => (i < partial.length - 1 ? equal(p, full[i]) : isPrefix(p, full[i])));
  }
  if (typeof partial === 'object' && partial !== null) {
    if (typeof full !== 'object' || full === null || Array.isArray(full)) return false;
    const f = full as Record<string, unknown>;
    return Object.entries(partial).every(([k, v]) => k in f && isPrefix(v, f[k]));
  }
  return equal(partial, full);
}
const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Cuts `text` at the given offsets. */
function split(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const c of at) {
    pieces.push(text.slice(from, c));
    from = c;
  }
  pieces.push(text.slice(from));
  return pieces.filter((p) => p.length > 0);
}

const accept: StandardSchema<unknown, unknown> = {
  '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
};

describe('jsonPrefixParser', () => {
  it('any split of any JSON text gives prefixes, each a change, ending in exactly JSON.parse', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        (value, cuts, pretty) => {
          const json = JSON.stringify(value, null, pretty ? 1 : undefined);
          const parser = jsonPrefixParser();
          const seen: unknown[] = [];
          const texts: string[] = [];
          for (const piece of split(json, cuts)) {
            if (!parser.write(piece)) continue;
            seen.push(parser.value);
            texts.push(JSON.stringify(seen.at(-1)));
          }
          const final = parser.end();
          // Snapshots share finished parts: none may change after it was handed out.
          expect(seen.map((v) => JSON.stringify(v))).toEqual(texts);
          expect(final).toEqual(JSON.parse(json));
          for (const partial of seen) expect(isPrefix(partial, final)).toBe(true);
          // Monotone: each partial is a prefix of the next.
          for (let i = 1; i < seen.length; i++) expect(isPrefix(seen[i - 1], seen[i])).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports top-level array elements once complete, in order, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 6 }),
        fc.array(fc.nat()),
        (items, cuts) => {
          const json = JSON.stringify(items);
          const got: [number, unknown][] = [];
          const parser = jsonPrefixParser((v, i) => got.push([i, v]));
          for (const piece of split(json, cuts)) parser.write(piece);
          parser.end();
          expect(got).toEqual(JSON.parse(json).map((v: unknown, i: number) => [i, v]));
        },
      ),
    );
  });

  it('rejects text that is not JSON, and JSON that stops short', () => {
    expect(() => jsonPrefixParser().write('{"a" 1')).toThrow(SyntaxError);
    const short = jsonPrefixParser();
    short.write('{"a": [1');
    expect(() => short.end()).toThrow(SyntaxError);
  });

  it('leaves numbers out until whole', () => {
    const parser = jsonPrefixParser();
    parser.write('{"n": 12');
    expect(parser.value).toEqual({});
    parser.write('3}');
    expect(parser.end()).toEqual({ n: 123 });
  });
});

describe('streamObject', () => {
  const doc = '{"name": "Lyon", "tags": ["food"], "population": 522000}';

  it('emits growing objects after their text and the validated object before finish', async () => {
    const events = [start(), ...split(doc, [10, 22, 30, 45]).map(text), finish(5)];
    const out = await lastValueFrom(of(...events).pipe(streamObject(City), toArray()));
    const objects = out.filter((e) => e.type === 'object');
    expect(objects.at(-1)).toEqual({ type: 'object', partial: false, value: JSON.parse(doc) });
    expect(objects.slice(0, -1).every((o) => o.partial && isPrefix(o.value, JSON.parse(doc)))).toBe(true);
    expect(objects.length).toBeGreaterThan(3);
    expect(out.at(-1)).toEqual(finish(5));
    expect(out.at(-2)?.type).toBe('object');
    expect(
      out
        .filter((e) => e.type === 'text')
        .map((e) => (e.type === 'text' ? e.text : ''))
        .join(''),
    ).toBe(doc);
  });

  it('is synchronous with a synchronous validator (marble)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values: Record<string, TokenEvent> = {
        s: start(),
        a: text('{"name": "Ly'),
        b: text('on", "tags": [], "population": 1}'),
        f: finish(2),
      };
      const source = cold('s----a----b----f-----|', values);
      expectObservable(source.pipe(streamObject(City))).toBe('s----(ax)-(by)-(zf)--|', {
        ...values,
        x: { type: 'object', partial: true, value: { name: 'Ly' } },
        y: { type: 'object', partial: true, value: { name: 'Lyon', tags: [], population: 1 } },
        z: { type: 'object', partial: false, value: { name: 'Lyon', tags: [], population: 1 } },
      });
    });
  });

  it('passes empty, error and never-ending sources on', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<TokenEvent>('|').pipe(streamObject(City))).toBe('|');
      expectObservable(cold<TokenEvent>('#').pipe(streamObject(City))).toBe('#');
      expectObservable(cold<TokenEvent>('-').pipe(streamObject(City))).toBe('-');
    });
  });

  it('stops a synchronous source cut by take', () => {
    const { source, pulled } = pulledSource([start(), text('{"a":'), text('1}'), finish(2)]);
    source.pipe(streamObject(accept), take(2)).subscribe();
    expect(pulled).toHaveLength(2);
  });

  it('fails with SchemaMismatchError carrying the issues', async () => {
    const events = [start('openai', 'gpt'), text('{"name": 3}'), finish(1)];
    const error = await lastValueFrom(of(...events).pipe(streamObject(City))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaMismatchError);
    const mismatch = error as SchemaMismatchError;
    expect(mismatch.kind).toBe('invalid_response');
    expect(mismatch.provider).toBe('openai');
    expect(mismatch.issues.map((i) => i.path)).toContainEqual(['name']);
  });

  it('fails invalid_response on text that is not JSON, saying when the length limit cut it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const bad = cold('a|', { a: text('Sure! {') });
      expectObservable(bad.pipe(streamObject(City))).toBe(
        '(a#)',
        { a: text('Sure! {') },
        errorOf('invalid_response'),
      );
    });
    const cut = of(start(), text('{"name": "Ly'), { ...finish(1), reason: 'length' as const });
    return expect(lastValueFrom(cut.pipe(streamObject(City)))).rejects.toThrow(/length limit/);
  });

  it('waits for an asynchronous validator without letting finish overtake it', async () => {
    const asyncSchema: StandardSchema<unknown, { n: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => ({ value: value as { n: number } }),
      },
    };
    const out = await lastValueFrom(
      of(start(), text('{"n": 1}'), finish(1)).pipe(streamObject(asyncSchema), toArray()),
    );
    expect(out.map((e) => e.type)).toEqual(['start', 'text', 'object', 'object', 'finish']);
  });

  it('element mode: each element validated once complete, the final object the array', async () => {
    const Item = z.object({ id: z.number() });
    const json = '[{"id": 1}, {"id": 2}, {"id": 3}]';
    const events = [start(), ...split(json, [3, 9, 14, 20, 27]).map(text), finish(6)];
    const out = await lastValueFrom(of(...events).pipe(streamObject(Item, { mode: 'elements' }), toArray()));
    expect(out.filter((e) => e.type === 'element')).toEqual([
      { type: 'element', index: 0, value: { id: 1 } },
      { type: 'element', index: 1, value: { id: 2 } },
      { type: 'element', index: 2, value: { id: 3 } },
    ]);
    expect(out.at(-2)).toEqual({ type: 'object', partial: false, value: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    const bad = of(start(), text('[{"id": 1}, {"id": "x"}'), finish(1));
    await expect(lastValueFrom(bad.pipe(streamObject(Item, { mode: 'elements' })))).rejects.toThrow(
      /Element 1/,
    );
  });

  it('reads a forced tool call’s argument deltas', async () => {
    const delta = (argsDelta: string, name?: string): TokenEvent => ({
      type: 'tool-call-delta',
      index: 0,
      argsDelta,
      ...(name !== undefined && { name, id: 't1' }),
    });
    const events = [
      start(),
      delta('{"name": "Ly', 'answer'),
      delta('on", "tags": [], "population": 2}'),
      finish(2),
    ];
    const out = await lastValueFrom(
      of(...events).pipe(streamObject(City, { from: { tool: 'answer' } }), toArray()),
    );
    expect(out.at(-2)).toEqual({
      type: 'object',
      partial: false,
      value: { name: 'Lyon', tags: [], population: 2 },
    });
  });

  it('starts over after a reset', async () => {
    const reset: TokenEvent = {
      type: 'reset',
      from: { provider: 'a', model: 'b' },
      error: undefined as never,
    };
    const events = [start(), text('{"name": "x'), reset, start(), text('{"n": 1}'), finish(1)];
    const out = await lastValueFrom(of(...events).pipe(streamObject(accept), toArray()));
    expect(out.at(-2)).toEqual({ type: 'object', partial: false, value: { n: 1 } });
  });

  it('a validator that throws fails the stream with an LLMError', async () => {
    const throwing: StandardSchema<unknown, unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => {
          throw new Error('boom');
        },
      },
    };
    const error = await lastValueFrom(of(start(), text('1'), finish(1)).pipe(streamObject(throwing))).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'LLMError', kind: 'unknown' });
    await expect(
      lastValueFrom(
        concat(
          of(text('{')),
          throwError(() => new Error('x')),
          NEVER,
        ).pipe(streamObject(accept)),
      ),
    ).rejects.toThrow('x');
  });
});
