/**
 * Virtual keys: callers of the gateway, each with a name, its own models, budget and rate limit. The
 * configuration stores only a key's SHA-256 (`sha256:<hex>`), so a leaked file reveals no key.
 */
import { createHash, randomBytes } from 'node:crypto';

/**
 * The form of `key` stored in `server.keys[].hash`: `sha256:` and the hex digest of its UTF-8 bytes.
 *
 * Intuition: what a password file keeps instead of the password. Keys are long random strings, so one
 * unsalted hash is enough (nothing to guess from a dictionary).
 *
 * ## Example
 * ```ts
 * hashKey('sk-rxllm-abc'); // 'sha256:5f3c…'
 * ```
 *
 * @param key The key as a caller sends it (`Authorization: Bearer <key>`).
 * @returns `sha256:<64 hex digits>`.
 */
export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/**
 * A new random virtual key (`sk-rxllm-` and 32 random bytes in base64url).
 *
 * ## Example
 * ```ts
 * const key = newKey(); // give it to the caller
 * const hash = hashKey(key); // write it in server.keys
 * ```
 *
 * @returns The key.
 */
export function newKey(): string {
  return `sk-rxllm-${randomBytes(32).toString('base64url')}`;
}
