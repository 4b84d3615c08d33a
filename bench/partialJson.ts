/**
 * Cost per token of reading a growing JSON answer, for the parser candidates of `streamObject`:
 *
 *   node --import tsx bench/partialJson.ts
 *
 * - `@streamparser/json` through rxllm's `jsonPrefixParser` (incremental; `write` only, and `write` + the
 *   deep-copied `value` that `streamObject` emits after each change);
 * - `partial-json` (re-parses the whole text so far at every token: quadratic in the answer's length);
 * - `jsonriver` (incremental, but only over an AsyncIterable: one await per token, and it mutates the
 *   values it yields, so a UI needs a copy per change too).
 *
 * The answer: a JSON array of 40 objects (~4 KB), cut into 4-character tokens as LLM tokenizers roughly do.
 * Reported: median over 30 runs of one whole answer, divided by its token count, in microseconds.
 */
import { parse as reparse, Allow } from 'partial-json';
import { parse as riverParse } from 'jsonriver';
import { jsonPrefixParser } from '../src/structured/jsonPrefix.js';

const doc = JSON.stringify(
  Array.from({ length: 40 }, (_, i) => ({
    id: i,
    name: `Sight number ${i} in Lyon`,
    tags: ['old town', 'food', i % 2 === 0 ? 'river' : 'hill'],
    rating: 3.5 + (i % 3) / 2,
    open: i % 5 !== 0,
  })),
);
const tokens = doc.match(/[\s\S]{1,4}/g) ?? [];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(name: string, run: () => unknown | Promise<unknown>): Promise<void> {
  for (let i = 0; i < 5; i++) await run(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  const perToken = (median(times) * 1000) / tokens.length;
  console.log(`${name.padEnd(46)} ${perToken.toFixed(2).padStart(7)} µs/token`);
}

console.log(`answer: ${doc.length} chars, ${tokens.length} tokens`);
await measure('@streamparser/json via jsonPrefixParser (write)', () => {
  const p = jsonPrefixParser();
  for (const t of tokens) p.write(t);
  return p.end();
});
await measure('@streamparser/json via jsonPrefixParser (+value)', () => {
  const p = jsonPrefixParser();
  for (const t of tokens) if (p.write(t)) void p.value;
  return p.end();
});
await measure('partial-json (re-parse the text so far)', () => {
  let text = '';
  let value: unknown;
  for (const t of tokens) {
    text += t;
    value = reparse(text, Allow.ALL & ~Allow.NUM);
  }
  return value;
});
await measure('jsonriver (AsyncIterable, no copies)', async () => {
  async function* chunks(): AsyncGenerator<string> {
    for (const t of tokens) yield t;
  }
  let last: unknown;
  for await (const value of riverParse(chunks())) last = value;
  return last;
});
await measure('jsonriver (+ structuredClone per value)', async () => {
  async function* chunks(): AsyncGenerator<string> {
    for (const t of tokens) yield t;
  }
  let last: unknown;
  for await (const value of riverParse(chunks())) last = structuredClone(value);
  return last;
});
await measure('JSON.parse once at the end (the floor)', () => JSON.parse(tokens.join('')));
