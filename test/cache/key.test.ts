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
