/**
 * How cache entries are written to the store: a string in, a string out (stores hold strings).
 * `decode` answers `undefined` for text it cannot read (another codec's, or corrupt): the cache treats
 * that as a miss.
 */
export interface CacheCodec {
  /** The stored form of a recording's JSON text. */
  encode(text: string): string;
  /** The JSON text back, or `undefined` when the stored form is not this codec's. */
  decode(stored: string): string | undefined;
}

/** Raw deflate, as `node:zlib` offers it (`deflateRawSync`/`inflateRawSync`). */
export interface Deflater {
  /** Compresses (raw DEFLATE). */
  deflateRawSync(input: Uint8Array): Uint8Array;
  /** Decompresses. */
  inflateRawSync(input: Uint8Array): Uint8Array;
}

const PLAIN = 'j:';
const DEFLATED = 'z:';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The parts of Node's `Buffer` used here, when the runtime has it (looked up, never imported). */
interface NativeBuffer {
  byteLength(text: string, encoding: 'utf8'): number;
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
}
const nativeBuffer = (globalThis as { Buffer?: NativeBuffer }).Buffer;
const nativeByteLength =
  typeof nativeBuffer?.byteLength === 'function' ? nativeBuffer.byteLength.bind(nativeBuffer) : undefined;

/**
 * Bytes of `text` in UTF-8, without encoding it (a lone surrogate counts 3, as its replacement).
 *
 * ## Example
 * ```ts
 * utf8Length('né😀'); // 1 + 2 + 4 = 7
 * ```
 */
export function utf8Length(text: string): number {
  // Node's native count (the same answer, lone surrogates included); the loop below where there is none.
  if (nativeByteLength) return nativeByteLength(text, 'utf8');
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * `node:zlib` when the runtime has it (Node 20.16+ through `process.getBuiltinModule`, without a static
 * import, so bundles for browsers stay free of it); `undefined` elsewhere.
 *
 * ## Example
 * ```ts
 * const zlib = builtinDeflater(); // undefined in a browser: entries are then stored uncompressed
 * ```
 */
export function builtinDeflater(): Deflater | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const zlib = proc?.getBuiltinModule?.('node:zlib') as Deflater | undefined;
  return typeof zlib?.deflateRawSync === 'function' ? zlib : undefined;
}

/**
 * The default codec: entries of `thresholdBytes` or more are deflated and stored as base64 (`z:`
 * prefix); smaller ones, or all of them when no deflater is available, are stored as they are (`j:`).
 * Decoding reads either form, so the threshold can change between runs.
 *
 * ## Example
 * ```ts
 * const codec = compressingCodec({ thresholdBytes: 4096 });
 * const bigJson = JSON.stringify({ text: 'a long answer '.repeat(1000) });
 * codec.decode(codec.encode(bigJson)) === bigJson; // true
 * // In a runtime without getBuiltinModule, pass zlib yourself:
 * compressingCodec({ deflater: await import('node:zlib') });
 * ```
 *
 * @param options.thresholdBytes - Compress entries at least this large (UTF-8 bytes). Default 16 KiB.
 * @param options.deflater - The deflate implementation; `null` for none. Default: Node's `zlib`, when the runtime has it.
 *
 * @returns A codec for `createCache({ codec })`.
 */
export function compressingCodec(
  options: { readonly thresholdBytes?: number; readonly deflater?: Deflater | null } = {},
): CacheCodec {
  const threshold = options.thresholdBytes ?? 16 * 1024;
  const deflater = options.deflater === undefined ? builtinDeflater() : (options.deflater ?? undefined);
  return {
    encode(text) {
      if (!deflater || utf8Length(text) < threshold) return PLAIN + text;
      return DEFLATED + toBase64(deflater.deflateRawSync(encoder.encode(text)));
    },
    decode(stored) {
      if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
      if (!stored.startsWith(DEFLATED) || !deflater) return undefined;
      try {
        return decoder.decode(deflater.inflateRawSync(fromBase64(stored.slice(DEFLATED.length))));
      } catch {
        return undefined;
      }
    },
  };
}

// btoa/atob exist in browsers and in Node 16+; they take "binary strings", built here in slices.
function toBase64(bytes: Uint8Array): string {
  // Node's native encoder where there is one (the same standard, padded base64).
  if (nativeBuffer) return nativeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
