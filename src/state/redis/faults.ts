import { LLMError } from '../../core/errors.js';
import { redactSecrets, registerSecret } from '../../core/redact.js';

/**
 * What a Redis store does when Redis is slow or down:
 * - `fail-closed`: the operation fails with an `unavailable` {@link LLMError} (provider `redis`), so a
 *   budget or breaker over the store refuses the call and nothing is sent to a provider;
 * - `fail-open`: the operation runs on the local fallback store instead (this process only), and the
 *   store emits a `fail-open` event saying so.
 */
export type RedisFaultMode = 'fail-closed' | 'fail-open';

/** The store operations, as named in errors and events. */
export type RedisStoreOperation =
  'get' | 'set' | 'delete' | 'compareAndSet' | 'increment' | 'takeTokens' | 'append' | 'list' | 'keys';

/** The provider name of errors the Redis store raises. */
export const REDIS_PROVIDER = 'redis';

/**
 * `url` without its credentials (`redis://:secret@host:6379/0` → `redis://host:6379/0`), for messages.
 * The password is also registered as a secret, so any message that would carry it is redacted.
 */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    registerSecret(decodeURIComponent(parsed.password));
    registerSecret(decodeURIComponent(parsed.username));
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'redis (unparsable url)';
  }
}

/** The connection fields of an ioredis client's `options` used to name it in messages. */
export interface RedisTargetOptions {
  /** The server's host. */
  readonly host?: string;
  /** The server's TCP port. */
  readonly port?: number;
  /** A Unix socket path, instead of host and port. */
  readonly path?: string | null;
  /** The database number. */
  readonly db?: number;
  /** The password (registered for redaction, never shown). */
  readonly password?: string | null;
}

/** Names a client's server without credentials: `redis://host:port/db` or `redis+unix:/path`. */
export function describeRedisTarget(options: RedisTargetOptions | undefined): string {
  if (options === undefined) return 'redis';
  if (typeof options.password === 'string') registerSecret(options.password);
  if (typeof options.path === 'string' && options.path !== '') return `redis+unix:${options.path}`;
  const db = options.db ? `/${options.db}` : '';
  return `redis://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}${db}`;
}

/** The `unavailable` error of an operation Redis did not answer in time or at all. */
export function unavailableError(
  op: RedisStoreOperation | 'connection',
  target: string,
  cause: unknown,
): LLMError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LLMError(
    'unavailable',
    `Redis state store ${target} unavailable (${op}): ${redactSecrets(reason)}`,
    {
      provider: REDIS_PROVIDER,
      cause,
    },
  );
}

/** The error of an operation that did not answer within `ms`. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** The error of an operation tried while the connection is known to be down. */
export class RedisDownError extends Error {
  override readonly name = 'RedisDownError';
  constructor(reason: string) {
    super(`connection down (${reason})`);
  }
}

/**
 * `work()`'s answer, or a {@link RedisTimeoutError} once `deadline` (epoch ms) passes. The timer is
 * cleared either way; a late answer is dropped (and a late failure swallowed, never unhandled).
 */
export function beforeDeadline<T>(work: () => Promise<T>, deadline: number, ms: number): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(new RedisTimeoutError(ms));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(ms)), left);
    let pending: Promise<T>;
    try {
      pending = work();
    } catch (error) {
      clearTimeout(timer);
      reject(error);
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
