import type { ChatRequest } from '../core/request.js';

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped (as `JSON.stringify` does), arrays in
 * order. Two values that mean the same request give the same string, whatever order their keys were
 * written in.
 *
 * ## Example
 * ```ts
 * canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] }); // '{"a":[2,{"c":3}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

/**
 * `JSON.stringify` of `value` with object keys sorted, written in one pass (no sorted copy of the
 * request per call). `undefined` where `JSON.stringify` would leave the value out.
 */
function write(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') {
    // Functions and symbols become undefined here, as in JSON.stringify; a bigint throws, as there.
    return typeof value === 'function' ? undefined : JSON.stringify(value);
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return write(withJson.toJSON());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (write(value[i]) ?? 'null');
    return out + ']';
  }
  let out = '{';
  for (const key of orderedKeys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined || typeof member === 'function') continue;
    const written = write(member);
    if (written !== undefined) out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + written;
  }
  return out + '}';
}

/**
 * The keys sorted, in the order an object built from them enumerates: array-index keys ascending by
 * number, then the rest in sorted order. (The canonical text of earlier versions was a sorted copy
 * stringified, so stored entries keep matching.)
 */
function orderedKeys(value: object): string[] {
  const keys = Object.keys(value).sort();
  let indices: string[] | undefined;
  for (const key of keys) if (isIndex(key)) (indices ??= []).push(key);
  if (!indices) return keys;
  indices.sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isIndex(key))];
}

/** A canonical array index: digits with no leading zero, below 2^32 - 1. */
function isIndex(key: string): boolean {
  const first = key.charCodeAt(0);
  if (!(first >= 48 && first <= 57) || (first === 48 && key.length > 1) || key.length > 10) return false;
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(key) < 4294967295;
}

const encoder = new TextEncoder();

/**
 * 64-bit FNV-1a over the UTF-8 bytes of `text`, as 16 hex digits. Pure JavaScript and synchronous, so it
 * runs the same in Node and in browsers (Web Crypto is asynchronous).
 *
 * FNV-1a is not cryptographic: two different requests may, very rarely, share a hash. The cache stores
 * the canonical request beside each entry and compares it on every hit, so a collision is a miss, never
 * a wrong answer.
 *
 * ## Example
 * ```ts
 * fnv1a64('hello'); // 'a430d84680aabd0b'
 * ```
 */
export function fnv1a64(text: string): string {
  // The 64-bit state as four 16-bit limbs (h3 most significant): exact with 32-bit arithmetic.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  // ASCII text (nearly every request) is its own UTF-8: hash the char codes without encoding a copy.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  const bytes = ascii ? undefined : encoder.encode(text);
  const length = bytes ? bytes.length : text.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes ? (bytes[i] as number) : text.charCodeAt(i);
    h0 ^= byte;
    // Multiply by the FNV prime 2^40 + 0x1b3, modulo 2^64.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    h0 = t0 & 0xffff;
    const c1 = t1 + (t0 >>> 16);
    h1 = c1 & 0xffff;
    const c2 = t2 + (c1 >>> 16);
    h2 = c2 & 0xffff;
    h3 = (t3 + (c2 >>> 16)) & 0xffff;
  }
  return hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);
}

function hex4(limb: number): string {
  return limb.toString(16).padStart(4, '0');
}

/** Options of {@link requestKey}. */
export interface RequestKeyOptions {
  /**
   * Leave out which model answers (the wrapped model's provider and name, `request.model`) and the
   * routing `hints`, for a cache shared across providers. Default `false`.
   */
  readonly ignoreModel?: boolean;
}

/** A request's cache identity: the canonical text it was hashed from, and the hash. */
export interface RequestKey {
  /** Canonical JSON of everything that shapes the answer; stored with the entry to detect collisions. */
  readonly canonical: string;
  /** `fnv1a64(canonical)`. */
  readonly hash: string;
}

/**
 * The cache identity of `request` sent to `target`: a canonical JSON of the fields that shape the answer
 * (messages, tools, tool choice, sampling, stop, response format, provider options, and unless
 * `ignoreModel` the provider, model and routing hints), and its 64-bit hash.
 *
 * ## Example
 * ```ts
 * const a = requestKey({ messages, temperature: 0 }, { provider: 'openai', model: 'gpt-4o' });
 * const b = requestKey({ temperature: 0, messages }, { provider: 'openai', model: 'gpt-4o' });
 * a.hash === b.hash; // true
 * ```
 *
 * @param request The request.
 * @param target The provider and model it goes to (left out with `ignoreModel`).
 * @param options What to leave out of the key.
 * @returns The canonical text and its hash.
 */
export function requestKey(
  request: ChatRequest,
  target: { readonly provider: string; readonly model: string },
  options: RequestKeyOptions = {},
): RequestKey {
  const { hints, model, ...rest } = request;
  const shape = options.ignoreModel
    ? rest
    : { ...rest, model: model ?? target.model, hints, target: target.provider };
  const canonical = canonicalJson(shape);
  return { canonical, hash: fnv1a64(canonical) };
}
