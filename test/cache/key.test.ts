import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64, requestKey } from '../../src/cache/key.js';
import type { ChatRequest } from '../../src/core/request.js';

const target = { provider: 'openai', model: 'gpt-4o-mini' };
const messages: ChatRequest['messages'] = [{ role: 'user', content: 'Hi' }];

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('hashes the UTF-8 bytes (non-ASCII text differs from its code units)', () => {
    expect(fnv1a64('é')).not.toBe(fnv1a64('\u00e9'.normalize('NFD')));
    expect(fnv1a64('日本')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] })).toBe('{"a":[2,{"c":3}],"b":1}');
  });

  it('is independent of key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
      { numRuns: 100 },
    );
  });
});

describe('requestKey', () => {
  it('is the same for the same request written differently', () => {
    const a = requestKey({ messages, temperature: 0, maxTokens: 5 }, target);
    const b = requestKey({ maxTokens: 5, temperature: 0, messages, hints: undefined }, target);
    expect(a).toEqual(b);
  });

  it('differs by model unless ignoreModel', () => {
    const other = { provider: 'anthropic', model: 'claude-haiku-4-5' };
    expect(requestKey({ messages }, target).hash).not.toBe(requestKey({ messages }, other).hash);
    expect(requestKey({ messages, model: 'gpt-4o' }, target).hash).not.toBe(
      requestKey({ messages }, target).hash,
    );
    expect(requestKey({ messages }, target, { ignoreModel: true })).toEqual(
      requestKey({ messages, hints: { task: 'x' } }, other, { ignoreModel: true }),
    );
  });

  it('differs when anything that shapes the answer differs', () => {
    const base = requestKey({ messages, temperature: 0 }, target).hash;
    expect(requestKey({ messages, temperature: 0.5 }, target).hash).not.toBe(base);
    expect(
      requestKey({ messages: [{ role: 'user', content: 'Hi!' }], temperature: 0 }, target).hash,
    ).not.toBe(base);
    expect(requestKey({ messages, temperature: 0, stop: ['x'] }, target).hash).not.toBe(base);
  });
});

/** The definition canonicalJson must keep: a copy with sorted keys, stringified. */
function referenceCanonical(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((item) => (item === undefined ? null : sortKeys(item)));
    if (v === null || typeof v !== 'object') return v;
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return sortKeys(withJson.toJSON());
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const member = (v as Record<string, unknown>)[key];
      if (member !== undefined && typeof member !== 'function') out[key] = sortKeys(member);
    }
    return out;
  };
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

describe('canonicalJson against its definition', () => {
  const key = fc.oneof(
    fc.string(),
    fc.constantFrom('0', '1', '2', '10', '9', '01', '4294967294', '4294967295', '-1', '1.5', '__proto__x'),
  );
  const value = fc.letrec((tie) => ({
    leaf: fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(undefined, NaN, Infinity, -0, () => 1, Symbol('s'), new Date(0)),
      fc.double(),
    ),
    node: fc.oneof(
      { maxDepth: 3 },
      tie('leaf'),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(key, tie('node'), { maxKeys: 5 }),
    ),
  })).node;

  it('writes the same text as a sorted copy stringified, for any value (property)', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(referenceCanonical(v));
      }),
      { numRuns: 500 },
    );
  });

  it('orders array-index keys by number, as an object built from sorted keys enumerates them', () => {
    const v = { b: 1, '10': 2, '9': 3, a: 4, '01': 5 };
    expect(canonicalJson(v)).toBe('{"9":3,"10":2,"01":5,"a":4,"b":1}');
    expect(canonicalJson(v)).toBe(referenceCanonical(v));
  });

  it('follows toJSON at any depth and throws on a bigint, as JSON.stringify does', () => {
    const v = { at: new Date(0), nested: { toJSON: () => ({ z: 1, y: undefined, x: [undefined] }) } };
    expect(canonicalJson(v)).toBe(referenceCanonical(v));
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });
});
