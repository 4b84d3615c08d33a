import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { compressingCodec, utf8Length } from '../../src/cache/codec.js';

describe('compressingCodec', () => {
  it('stores small entries as they are and deflates large ones', () => {
    const codec = compressingCodec({ thresholdBytes: 100 });
    expect(codec.encode('{"a":1}')).toBe('j:{"a":1}');
    const big = JSON.stringify({ text: 'all work and no play '.repeat(200) });
    const stored = codec.encode(big);
    expect(stored.startsWith('z:')).toBe(true);
    expect(stored.length).toBeLessThan(big.length / 5);
    expect(codec.decode(stored)).toBe(big);
  });

  it('round-trips any text, above and below the threshold (property)', () => {
    const codec = compressingCodec({ thresholdBytes: 32, deflater: zlib });
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        expect(codec.decode(codec.encode(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('answers undefined for text it cannot read', () => {
    const codec = compressingCodec();
    expect(codec.decode('x:???')).toBeUndefined();
    expect(codec.decode('z:not base64 deflate!')).toBeUndefined();
  });

  it('without a deflater stores everything plain and cannot read deflated entries', () => {
    const withZlib = compressingCodec({ thresholdBytes: 1, deflater: zlib });
    const plainOnly = compressingCodec({ thresholdBytes: 1, deflater: null });
    expect(plainOnly.encode('abc')).toBe('j:abc');
    expect(plainOnly.decode(withZlib.encode('abc'))).toBeUndefined();
    expect(withZlib.decode(plainOnly.encode('abc'))).toBe('abc');
  });
});

describe('utf8Length', () => {
  it('counts UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00'), maxLength: 20 }),
        (text) => {
          expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
        },
      ),
      { numRuns: 200 },
    );
  });
});
