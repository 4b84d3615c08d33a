import { isPromiseLike } from '../state/maybePromise.js';
import type { MaybePromise } from '../state/store.js';

/** How alike two answers are: 1 for the same, 0 for nothing in common. */
export type SimilarityFn = (a: string, b: string) => number;

/**
 * A similarity over a whole set of answers at once: the pairwise matrix, possibly asynchronous (an
 * embedding call). `matrix(texts)[i][j]` is in `[0, 1]`, symmetric, with 1 on the diagonal.
 */
export interface SimilarityMeasure {
  /** The measure's name, in results. */
  readonly name: string;
  /** The pairwise similarities of `texts`. */
  matrix(texts: readonly string[]): MaybePromise<number[][]>;
}

/** Computes embeddings for texts, one vector per text in order (an embeddings API call). */
export type EmbedFn = (texts: string[]) => Promise<number[][]>;

/**
 * The default normalization before comparing answers: Unicode NFKC, lower case, whitespace collapsed,
 * trimmed, and trailing punctuation dropped (`"Paris."` and `"paris"` compare equal).
 *
 * ## Example
 * ```ts
 * normalizeAnswer('  The answer:\n Paris. '); // 'the answer: paris'
 * ```
 *
 * @param text An answer.
 * @returns Its normalized form.
 */
export function normalizeAnswer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.!?;,:]+$/u, '');
}

/**
 * Levenshtein distance between `a` and `b`, counted in code points (an emoji is one edit).
 *
 * ## Example
 * ```ts
 * levenshtein('kitten', 'sitting'); // 3
 * ```
 */
export function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length < t.length) return levenshteinOf(t, s);
  return levenshteinOf(s, t);
}

function levenshteinOf(s: readonly string[], t: readonly string[]): number {
  if (t.length === 0) return s.length;
  let previous = new Uint32Array(t.length + 1);
  let current = new Uint32Array(t.length + 1);
  for (let j = 0; j <= t.length; j++) previous[j] = j;
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const substitution = (previous[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[t.length] as number;
}

/**
 * Normalized edit similarity: `1 - levenshtein(a, b) / max(length)`; two empty texts are the same.
 *
 * ## Example
 * ```ts
 * editSimilarity('colour', 'color'); // 0.833…
 * ```
 *
 * @param a An answer.
 * @param b Another.
 * @returns 1 minus the edit distance over the longer length, in `[0, 1]`.
 */
export function editSimilarity(a: string, b: string): number {
  const longest = Math.max(Array.from(a).length, Array.from(b).length);
  return longest === 0 ? 1 : 1 - levenshtein(a, b) / longest;
}

/** The set of words (letters and digits, lower case) in `text`. */
export function tokenSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/**
 * Token-set overlap (Jaccard): shared words over all words; word order and punctuation do not count.
 * Two texts without words are the same.
 *
 * ## Example
 * ```ts
 * jaccardSimilarity('The capital is Paris.', 'Paris is the capital'); // 1
 * jaccardSimilarity('Paris', 'Lyon'); // 0
 * ```
 *
 * @param a An answer.
 * @param b Another.
 * @returns Shared tokens over all tokens, in `[0, 1]` (1 for two empty texts).
 */
export function jaccardSimilarity(a: string, b: string): number {
  const x = tokenSet(a);
  const y = tokenSet(b);
  if (x.size === 0 && y.size === 0) return 1;
  let shared = 0;
  for (const word of x) if (y.has(word)) shared++;
  return shared / (x.size + y.size - shared);
}

/**
 * Cosine similarity of two vectors, clamped to `[0, 1]` (opposite directions count as unrelated).
 * A zero vector is similar to nothing but another zero vector.
 *
 * ## Example
 * ```ts
 * cosineSimilarity([1, 0], [1, 1]); // 0.707…
 * ```
 *
 * @param u A vector.
 * @param v A vector of the same length.
 * @returns The cosine, in `[0, 1]` (negative values count as 0).
 */
export function cosineSimilarity(u: readonly number[], v: readonly number[]): number {
  let dot = 0;
  let uu = 0;
  let vv = 0;
  for (let i = 0; i < Math.min(u.length, v.length); i++) {
    const a = u[i] as number;
    const b = v[i] as number;
    dot += a * b;
    uu += a * a;
    vv += b * b;
  }
  if (uu === 0 || vv === 0) return uu === vv ? 1 : 0;
  return Math.min(1, Math.max(0, dot / Math.sqrt(uu * vv)));
}

/**
 * A {@link SimilarityMeasure} from a pairwise function, made symmetric with 1 on the diagonal.
 *
 * ## Example
 * ```ts
 * pairwise(editSimilarity).matrix(['paris', 'pariss', 'lyon']);
 * ```
 */
export function pairwise(fn: SimilarityFn, name = fn.name || 'custom'): SimilarityMeasure {
  return {
    name,
    matrix(texts) {
      const n = texts.length;
      const out = Array.from({ length: n }, () => new Array<number>(n).fill(1));
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const score = clamp(fn(texts[i] as string, texts[j] as string));
          (out[i] as number[])[j] = score;
          (out[j] as number[])[i] = score;
        }
      }
      return out;
    },
  };
}

/**
 * Similarity by embeddings: cosine of the vectors `embed` returns. Each distinct text is embedded once
 * (the last `cacheSize` vectors are remembered), and only new texts are sent, in one call per matrix.
 *
 * ## Example
 * ```ts
 * import OpenAI from 'openai';
 * const openaiClient = new OpenAI();
 * const measure = embeddingSimilarity(async (texts) => (await openaiClient.embeddings.create({
 *   model: 'text-embedding-3-small', input: texts,
 * })).data.map((d) => d.embedding));
 * fuse({ similarity: measure, threshold: 0.9 });
 * ```
 *
 * @param embed Embeds texts, one vector each, in order.
 * @param options `cacheSize`: how many vectors to remember.
 * @returns A measure for `fuse({ similarity })`.
 */
export function embeddingSimilarity(
  embed: EmbedFn,
  options: { readonly cacheSize?: number } = {},
): SimilarityMeasure {
  const cacheSize = options.cacheSize ?? 256;
  const vectors = new Map<string, number[]>();
  const remember = (text: string, vector: number[]): void => {
    vectors.delete(text);
    vectors.set(text, vector);
    while (vectors.size > cacheSize) vectors.delete(vectors.keys().next().value as string);
  };
  const fromVectors = (texts: readonly string[], byText: Map<string, number[]>): number[][] =>
    pairwise((a, b) => cosineSimilarity(byText.get(a) ?? [], byText.get(b) ?? []), 'embedding').matrix(
      texts,
    ) as number[][];
  return {
    name: 'embedding',
    matrix(texts) {
      const known = new Map<string, number[]>();
      const missing: string[] = [];
      for (const text of texts) {
        const vector = vectors.get(text);
        if (vector) known.set(text, vector);
        else if (!missing.includes(text)) missing.push(text);
      }
      if (missing.length === 0) return fromVectors(texts, known);
      return embed(missing).then((fresh) => {
        if (fresh.length !== missing.length) {
          throw new Error(`embed() returned ${fresh.length} vectors for ${missing.length} texts`);
        }
        missing.forEach((text, i) => {
          known.set(text, fresh[i] as number[]);
          remember(text, fresh[i] as number[]);
        });
        return fromVectors(texts, known);
      });
    },
  };
}

/** A measure from a name, a function or a measure; `undefined` with `embed` gives embeddings. */
export function resolveSimilarity(
  similarity: 'jaccard' | 'edit' | SimilarityFn | SimilarityMeasure | undefined,
  embed: EmbedFn | undefined,
): SimilarityMeasure {
  if (similarity === undefined)
    return embed ? embeddingSimilarity(embed) : pairwise(jaccardSimilarity, 'jaccard');
  if (similarity === 'jaccard') return pairwise(jaccardSimilarity, 'jaccard');
  if (similarity === 'edit') return pairwise(editSimilarity, 'edit');
  if (typeof similarity === 'function') return pairwise(similarity);
  return similarity;
}

/** True when a measure answered synchronously (so decisions stay on the current tick). */
export function isSync(matrix: MaybePromise<number[][]>): matrix is number[][] {
  return !isPromiseLike(matrix);
}

function clamp(score: number): number {
  return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
}
