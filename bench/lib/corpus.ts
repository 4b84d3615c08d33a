/**
 * The benchmark's answer text: deterministic tokens shared by the server (which renders them) and the
 * orchestrator (which tells each client what it must assemble). The vocabulary mixes plain words with
 * multi-byte characters and JSON escapes, so a parser that mishandles either fails the byte check.
 */
import { createHash } from 'node:crypto';

const VOCABULARY: readonly string[] = [
  ' the',
  ' quick',
  ' brown',
  ' fox',
  ' jumps',
  ' over',
  ' lazy',
  ' dog',
  ',',
  '.',
  ' stream',
  ' token',
  ' latency',
  ' reactive',
  ' operator',
  ' pipeline',
  ' über',
  ' naïve',
  ' café',
  ' 東京',
  ' 🚀',
  ' "quoted"',
  ' back\\slash',
  '\n',
  '\t',
  ' <tag>',
  ' a&b',
  ' 42',
  ' résumé',
  ' Ωmega',
  ' ellipsis…',
  ' end',
];

/** Tokens per repeated block of a rendered body (bodies repeat block frames to reach any size). */
export const BLOCK = 1000;

/** The text of token `i`. */
export function token(i: number): string {
  return VOCABULARY[(i * 7 + (i >> 3)) % VOCABULARY.length] as string;
}

/** The tokens of one block frame sequence: token 0 opens the answer, tokens 1..BLOCK repeat. */
export function blockTokens(): string[] {
  const tokens: string[] = [];
  for (let i = 0; i <= BLOCK; i++) tokens.push(token(i));
  return tokens;
}

/** How an answer of `n` tokens is laid out: the first token, `repeats` whole blocks, `rest` more tokens. */
export function layout(n: number): { readonly repeats: number; readonly rest: number } {
  if (n < 1) throw new Error(`an answer needs at least one token, not ${n}`);
  return { repeats: Math.floor((n - 1) / BLOCK), rest: (n - 1) % BLOCK };
}

/** What a client must assemble for an `n`-token answer: its length in UTF-16 units and its SHA-256. */
export interface Expected {
  readonly tokens: number;
  readonly length: number;
  readonly sha256: string;
}

/** The expected text of an `n`-token answer, as length and hash (computed without building the string). */
export function expected(n: number): Expected {
  const { repeats, rest } = layout(n);
  const tokens = blockTokens();
  const block = tokens.slice(1).join('');
  const hash = createHash('sha256').update(tokens[0] as string);
  for (let r = 0; r < repeats; r++) hash.update(block);
  const tail = tokens.slice(1, 1 + rest).join('');
  hash.update(tail);
  return {
    tokens: n,
    length: (tokens[0] as string).length + repeats * block.length + tail.length,
    sha256: hash.digest('hex'),
  };
}
