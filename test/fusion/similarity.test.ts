import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cosineSimilarity,
  editSimilarity,
  embeddingSimilarity,
  jaccardSimilarity,
  levenshtein,
  normalizeAnswer,
  pairwise,
  resolveSimilarity,
} from '../../src/fusion/similarity.js';

describe('similarity measures', () => {
  it('levenshtein: known distances, code points as units', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('😀a', 'a')).toBe(1);
  });

  it('levenshtein is a metric (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (a, b, c) => {
          expect(levenshtein(a, a)).toBe(0);
          expect(levenshtein(a, b)).toBe(levenshtein(b, a));
          expect(levenshtein(a, c)).toBeLessThanOrEqual(levenshtein(a, b) + levenshtein(b, c));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('edit and jaccard similarities are in [0, 1], symmetric, 1 on equal texts (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (a, b) => {
        for (const fn of [editSimilarity, jaccardSimilarity]) {
          const s = fn(a, b);
          expect(s).toBeGreaterThanOrEqual(0);
          expect(s).toBeLessThanOrEqual(1);
          expect(fn(b, a)).toBeCloseTo(s, 12);
          expect(fn(a, a)).toBe(1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('jaccard ignores word order and punctuation; edit does not', () => {
    expect(jaccardSimilarity('The capital is Paris.', 'Paris is the capital')).toBe(1);
    expect(jaccardSimilarity('Paris', 'Lyon')).toBe(0);
    expect(editSimilarity('colour', 'color')).toBeCloseTo(5 / 6, 12);
    expect(editSimilarity('', '')).toBe(1);
  });

  it('cosine: clamped to [0, 1], zero vectors handled', () => {
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity([1, 0], [-1, 0])).toBe(0);
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
  });

  it('normalizeAnswer folds case, spaces and final punctuation', () => {
    expect(normalizeAnswer('  The answer:\n Paris. ')).toBe('the answer: paris');
    expect(normalizeAnswer('Paris!')).toBe(normalizeAnswer('paris'));
  });

  it('pairwise builds a symmetric matrix with 1 on the diagonal, clamping bad scores', () => {
    const m = pairwise((a, b) => (a === b ? 1 : a.length === b.length ? 7 : Number.NaN)).matrix([
      'ab',
      'cd',
      'e',
    ]);
    expect(m).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('embeddings: each distinct text embedded once, only new texts sent', async () => {
    const calls: string[][] = [];
    const vectors: Record<string, number[]> = { paris: [1, 0], 'paris.': [0.99, 0.1], lyon: [0, 1] };
    const measure = embeddingSimilarity(async (texts) => {
      calls.push(texts);
      return texts.map((t) => vectors[t] ?? [0, 0]);
    });
    const first = await measure.matrix(['paris', 'paris.', 'paris']);
    expect(first[0]?.[1]).toBeGreaterThan(0.99);
    const second = await measure.matrix(['paris', 'paris.', 'lyon']);
    expect(second[0]?.[2]).toBe(0);
    expect(calls).toEqual([['paris', 'paris.'], ['lyon']]);
    expect(measure.matrix(['lyon', 'paris'])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('embeddings: a wrong number of vectors is an error', async () => {
    const measure = embeddingSimilarity(async () => [[1]]);
    await expect(measure.matrix(['a', 'b'])).rejects.toThrow(/1 vectors for 2 texts/);
  });

  it('resolveSimilarity picks by name, function, measure or embed', () => {
    expect(resolveSimilarity(undefined, undefined).name).toBe('jaccard');
    expect(resolveSimilarity('edit', undefined).name).toBe('edit');
    expect(resolveSimilarity(undefined, async (t) => t.map(() => [1])).name).toBe('embedding');
    const custom = { name: 'mine', matrix: () => [[1]] };
    expect(resolveSimilarity(custom, undefined)).toBe(custom);
  });
});
