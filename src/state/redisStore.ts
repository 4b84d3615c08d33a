// Types only: erased from the output, so the core never loads ioredis unless a store creates a client.
import { importPeer } from '../core/peer.js';
import type * as IoRedisModule from 'ioredis';
import { type Observable, Subject } from 'rxjs';
import { LLMError } from '../core/errors.js';
import { memoryStore } from './memoryStore.js';
import {
  beforeDeadline,
  describeRedisTarget,
  REDIS_PROVIDER,
  RedisDownError,
  type RedisFaultMode,
  type RedisStoreOperation,
  type RedisTargetOptions,
  RedisTimeoutError,
  redactRedisUrl,
  unavailableError,
} from './redis/faults.js';
import { APPEND, COMPARE_AND_SET, INCREMENT, type RedisScript, TAKE_TOKENS } from './redis/lua.js';
import type {
  IncrementOptions,
  IncrementResult,
  MaybePromise,
  StateStore,
  StoreWriteOptions,
  TokenTake,
  TokenTakeResult,
} from './store.js';

export type { RedisFaultMode, RedisStoreOperation } from './redis/faults.js';

/**
 * The part of an `ioredis` client the store uses. An `ioredis` `Redis` instance fits it; so can a
 * wrapper or a test double. The store never requires `ioredis` itself unless it creates the client.
 */
export interface RedisClientLike {
  /** `ioredis` connection status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  /** Where the client connects, to name it in errors (credentials are never shown). */
  readonly options?: RedisTargetOptions;
  /** Sends one command (`EVALSHA`, `GET`, …) and resolves with its reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Listens to connection events (`ready`, `error`, `close`, …). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Stops listening. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Connects a client created with `lazyConnect`. */
  connect?(): Promise<unknown>;
  /** Closes the connection after pending replies. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}

/** Options of {@link redisStore}. Every field has a default. */
export interface RedisStoreOptions {
  /**
   * A client to use (an `ioredis` `Redis`). The store does not close it. Give it
   * `enableOfflineQueue: false` and `maxRetriesPerRequest: 0`, so that a command sent while Redis is away
   * fails at once instead of running late (or twice). Default: the store creates one from `url`.
   */
  readonly client?: RedisClientLike;
  /**
   * Where Redis is, when the store creates the client (`redis://[:password@]host:port[/db]`, or `rediss://`
   * for TLS). Needs the optional peer dependency `ioredis`. Default `REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  readonly url?: string;
  /** Prepended to every key, so several apps (or tests) can share one Redis. Default `rxllm:`. */
  readonly prefix?: string;
  /**
   * Longest an operation may take, waiting for the connection included; then Redis counts as unavailable
   * for that operation. Default 1000 ms.
   */
  readonly timeoutMs?: number;
  /** What an operation does when Redis is slow or down (see {@link RedisFaultMode}). Default `fail-closed`. */
  readonly onUnavailable?: RedisFaultMode;
  /** Where `fail-open` operations go. Default a new `memoryStore()`. */
  readonly fallback?: StateStore;
  /**
   * A token bucket's key outlives the moment it would be full again by this much, so processes whose
   * clocks differ a little never see it reset early. Default 5000 ms.
   */
  readonly bucketSlackMs?: number;
}

/** What the Redis store reports on {@link RedisStateStore.events$}. */
export type RedisStoreEvent =
  /** Redis did not answer `op` in time; it ran on the local fallback store instead. */
  | {
      /** The discriminant. */
      readonly type: 'fail-open';
      /** The operation. */
      readonly op: RedisStoreOperation;
      /** The key it was on. */
      readonly key: string;
      /** Why Redis could not serve it. */
      readonly error: LLMError;
    }
  /** Redis did not answer `op` in time; the operation failed with `error`. */
  | {
      /** The discriminant. */
      readonly type: 'fail-closed';
      /** The operation. */
      readonly op: RedisStoreOperation;
      /** The key it was on. */
      readonly key: string;
      /** The error the operation failed with. */
      readonly error: LLMError;
    }
  /** The connection is lost (or could not be made); the client keeps reconnecting. */
  | {
      /** The discriminant. */
      readonly type: 'down';
      /** Why the connection is lost. */
      readonly error: LLMError;
    }
  /** The connection is (again) ready; operations go to Redis. */
  | {
      /** The discriminant. */
      readonly type: 'up';
    };

/** A {@link StateStore} on Redis, with its fault events. Every method answers with a promise. */
export interface RedisStateStore extends StateStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: StoreWriteOptions): Promise<void>;
  delete(key: string): Promise<void>;
  compareAndSet(
    key: string,
    expected: string | undefined,
    next: string,
    options?: StoreWriteOptions,
  ): Promise<boolean>;
  increment(key: string, delta: number, options?: IncrementOptions): Promise<IncrementResult>;
  takeTokens(key: string, take: TokenTake): Promise<TokenTakeResult>;
  append(key: string, value: string, options?: StoreWriteOptions): Promise<void>;
  list(key: string): Promise<readonly string[]>;
  keys(prefix: string): Promise<readonly string[]>;
  close(): Promise<void>;
  /** Connection changes and every operation that failed open or closed. Hot; completes on `close()`. */
  readonly events$: Observable<RedisStoreEvent>;
  /** Resolves once the connection is ready; rejects with an `unavailable` error after `timeoutMs`. */
  ready(): Promise<void>;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_BUCKET_SLACK_MS = 5000;
const SCAN_COUNT = 500;

/**
 * A {@link StateStore} on Redis, so that budgets, breakers, rate limits and the cache hold across a
 * fleet of processes.
 *
 * Every change that reads before it writes is one Lua script (`EVALSHA`, falling back to `EVAL` after
 * a Redis restart), which Redis runs atomically: a budget reservation, a token-bucket take, a breaker
 * transition cannot interleave with another process's. Keys carry `prefix` and expire with their
 * `ttlMs`; token buckets expire once they would be full again. Numbers are doubles, as in
 * `memoryStore` (integers, such as the budget's nano-dollars, are exact up to 2^53).
 *
 * Each operation is bounded by `timeoutMs`. When Redis is slow or down, `fail-closed` (the default)
 * fails the operation with an `unavailable` {@link LLMError} of provider `redis` — a budget over the
 * store then refuses the call, so nothing reaches a provider — and `fail-open` runs it on a local
 * `fallback` store and emits a `fail-open` event (limits then hold per process only, and what the
 * fallback counted is not carried back to Redis). While the connection is known to be down, operations
 * fail at once rather than wait. The client reconnects on its own and operations return to Redis as
 * soon as it is back. A write that timed out may still reach Redis late (it is never resent): a budget
 * reservation that did is over-counted until its window ends — the safe direction.
 *
 * ## Example
 * ```ts
 * const store = redisStore({ url: process.env.REDIS_URL, onUnavailable: 'fail-closed' });
 * store.events$.subscribe((e) => e.type !== 'up' && console.warn('redis store', e));
 * const spend = createBudget({ store, limits: { day: 50 } });
 * const breaker = createCircuitBreaker({ store });
 * ```
 *
 * @see memoryStore — the default, single-process store.
 * @param options Where Redis is, the key prefix, the timeout and what to do when Redis is unavailable.
 * @returns A store whose methods answer with promises; `close()` quits the client it created.
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStateStore {
  const prefix = options.prefix ?? 'rxllm:';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`redisStore: timeoutMs must be positive, got ${timeoutMs}`);
  const mode = options.onUnavailable ?? 'fail-closed';
  const slackMs = String(Math.max(0, Math.ceil(options.bucketSlackMs ?? DEFAULT_BUCKET_SLACK_MS)));
  const ownsFallback = options.fallback === undefined;
  const fallback = options.fallback ?? memoryStore();
  const ownsClient = options.client === undefined;
  const url = options.url ?? globalThis.process?.env?.REDIS_URL ?? DEFAULT_URL;
  const target = options.client ? describeRedisTarget(options.client.options) : redactRedisUrl(url);

  const events = new Subject<RedisStoreEvent>();
  const emit = (event: RedisStoreEvent): void => {
    if (!events.closed) events.next(event);
  };

  // Connection phase as the store sees it: waiting for a first connection, up, or known down.
  let phase: 'connecting' | 'up' | 'down' = 'connecting';
  let downReason = 'not connected';
  const waiters = new Set<(error?: Error) => void>();
  const settleWaiters = (error?: Error): void => {
    for (const waiter of [...waiters]) waiter(error);
  };
  const onReady = (): void => {
    phase = 'up';
    emit({ type: 'up' });
    settleWaiters();
  };
  const onDown = (...args: unknown[]): void => {
    const cause = args[0] instanceof Error ? args[0] : new Error('connection closed');
    downReason = cause.message;
    if (phase !== 'down') {
      phase = 'down';
      emit({ type: 'down', error: unavailableError('connection', target, cause) });
    }
    settleWaiters(new RedisDownError(downReason));
  };

  let closed = false;
  const clientPromise: Promise<RedisClientLike> = (
    options.client ? Promise.resolve(options.client) : createClient(url, timeoutMs)
  ).then((client) => {
    if (client.status === 'ready') phase = 'up';
    client.on('ready', onReady);
    client.on('error', onDown);
    client.on('close', onDown);
    return client;
  });
  // A missing `ioredis` surfaces on the first operation; never as an unhandled rejection.
  clientPromise.catch(() => undefined);

  /** Resolves when the client is ready; fails at once while the connection is known to be down. */
  const whenReady = (client: RedisClientLike, deadline: number): Promise<void> => {
    if (client.status === 'ready') return Promise.resolve();
    if (phase === 'down' || client.status === 'end') return Promise.reject(new RedisDownError(downReason));
    if (client.status === 'wait') client.connect?.().catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new RedisTimeoutError(timeoutMs)),
        Math.max(0, deadline - Date.now()),
      );
      const done = (error?: Error): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (error) reject(error);
        else resolve();
      };
      waiters.add(done);
    });
  };

  /** One round trip, bounded by the operation's deadline. */
  interface Trip {
    deadline: number;
    send(command: string, ...args: (string | number)[]): Promise<unknown>;
    script(script: RedisScript, key: string, ...args: string[]): Promise<unknown>;
  }

  /**
   * Runs `remote` on Redis within `timeoutMs`; when Redis is slow or down, fails closed or runs `local`
   * on the fallback store, as configured.
   */
  const guard = async <T>(
    op: RedisStoreOperation,
    key: string,
    remote: (trip: Trip) => Promise<T>,
    local: (store: StateStore) => MaybePromise<T>,
  ): Promise<T> => {
    if (closed) {
      throw new LLMError('unavailable', `Redis state store ${target} is closed (${op})`, {
        provider: REDIS_PROVIDER,
        retryable: false,
      });
    }
    const client = await clientPromise;
    const trip: Trip = {
      deadline: Date.now() + timeoutMs,
      send: (command, ...args) =>
        beforeDeadline(() => client.call(command, ...args), trip.deadline, timeoutMs),
      script: async (s, k, ...args) => {
        try {
          return await trip.send('EVALSHA', s.sha, s.numberOfKeys, k, ...args);
        } catch (error) {
          // Redis forgets loaded scripts when it restarts: send the source once, which loads it again.
          if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
            return trip.send('EVAL', s.lua, s.numberOfKeys, k, ...args);
          }
          throw error;
        }
      },
    };
    try {
      await whenReady(client, trip.deadline);
      return await remote(trip);
    } catch (cause) {
      const error = unavailableError(op, target, cause);
      if (mode === 'fail-open' && !closed) {
        emit({ type: 'fail-open', op, key, error });
        return await local(fallback);
      }
      emit({ type: 'fail-closed', op, key, error });
      throw error;
    }
  };

  const k = (key: string): string => prefix + key;

  const store: RedisStateStore = {
    events$: events.asObservable(),

    async ready() {
      const client = await clientPromise;
      try {
        await whenReady(client, Date.now() + timeoutMs);
      } catch (cause) {
        throw unavailableError('connection', target, cause);
      }
    },

    get(key) {
      return guard(
        'get',
        key,
        async (trip) => {
          try {
            const value = await trip.send('GET', k(key));
            return typeof value === 'string' ? value : undefined;
          } catch (error) {
            if (isWrongType(error)) return undefined;
            throw error;
          }
        },
        (s) => s.get(key),
      );
    },

    set(key, value, opts) {
      return guard(
        'set',
        key,
        async (trip) => {
          const ttl = ttlArgument(opts);
          await (ttl === '' || ttl === '-1'
            ? trip.send('SET', k(key), value)
            : trip.send('SET', k(key), value, 'PX', ttl));
        },
        (s) => s.set(key, value, opts),
      );
    },

    delete(key) {
      return guard(
        'delete',
        key,
        async (trip) => {
          await trip.send('DEL', k(key));
        },
        (s) => s.delete(key),
      );
    },

    compareAndSet(key, expected, next, opts) {
      return guard(
        'compareAndSet',
        key,
        async (trip) => {
          const swapped = await trip.script(
            COMPARE_AND_SET,
            k(key),
            expected === undefined ? '0' : '1',
            expected ?? '',
            next,
            ttlArgument(opts),
          );
          return Number(swapped) === 1;
        },
        (s) => s.compareAndSet(key, expected, next, opts),
      );
    },

    increment(key, delta, opts) {
      if (!Number.isFinite(delta)) {
        return Promise.reject(new RangeError(`increment: delta must be a finite number, got ${delta}`));
      }
      const limit = opts?.limit;
      return guard(
        'increment',
        key,
        async (trip): Promise<IncrementResult> => {
          const reply = await trip.script(
            INCREMENT,
            k(key),
            String(delta),
            limit === undefined || limit === Infinity ? '' : String(limit),
            ttlArgument(opts),
          );
          const [ok, value] = pair(reply);
          return { ok: ok === 1, value };
        },
        (s) => s.increment(key, delta, opts),
      );
    },

    takeTokens(key, take: TokenTake) {
      return guard(
        'takeTokens',
        key,
        async (trip): Promise<TokenTakeResult> => {
          const reply = await trip.script(
            TAKE_TOKENS,
            k(key),
            String(take.tokens),
            String(take.capacity),
            String(take.refillPerMs),
            String(take.now),
            take.allowDebt === true ? '1' : '0',
            slackMs,
            String(take.pauseMs ?? 0),
          );
          const [ok, tokens] = pair(reply);
          if (ok === 1) return { ok: true, remaining: tokens, waitMs: 0 };
          const waitMs =
            take.tokens > take.capacity || take.refillPerMs <= 0
              ? Infinity
              : Math.ceil((take.tokens - tokens) / take.refillPerMs);
          return { ok: false, remaining: tokens, waitMs };
        },
        (s) => s.takeTokens(key, take),
      );
    },

    append(key, value, opts) {
      return guard(
        'append',
        key,
        async (trip) => {
          await trip.script(APPEND, k(key), value, ttlArgument(opts));
        },
        (s) => s.append(key, value, opts),
      );
    },

    list(key) {
      return guard(
        'list',
        key,
        async (trip): Promise<readonly string[]> => {
          try {
            const values = await trip.send('LRANGE', k(key), 0, -1);
            return Array.isArray(values) ? values.map(String) : [];
          } catch (error) {
            if (isWrongType(error)) return [];
            throw error;
          }
        },
        (s) => s.list(key),
      );
    },

    keys(keyPrefix) {
      return guard(
        'keys',
        keyPrefix,
        async (trip): Promise<readonly string[]> => {
          // SCAN, never KEYS: it walks the keyspace in steps without blocking Redis. Each step gets its
          // own `timeoutMs`; keys may repeat across steps, hence the set.
          const pattern = `${escapeGlob(k(keyPrefix))}*`;
          const found = new Set<string>();
          let cursor = '0';
          do {
            trip.deadline = Date.now() + timeoutMs;
            const reply = await trip.send('SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
            const [next, batch] = Array.isArray(reply) ? reply : ['0', []];
            cursor = String(next);
            if (Array.isArray(batch)) for (const key of batch) found.add(String(key).slice(prefix.length));
          } while (cursor !== '0');
          return [...found];
        },
        (s) => s.keys(keyPrefix),
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      settleWaiters(new RedisDownError('store closed'));
      events.complete();
      if (ownsFallback) await fallback.close();
      let client: RedisClientLike;
      try {
        client = await clientPromise;
      } catch {
        return; // never created
      }
      client.off('ready', onReady);
      client.off('error', onDown);
      client.off('close', onDown);
      if (ownsClient) await release(client);
    },
  };

  /** Quits a client the store created, or drops its connection when Redis does not answer. */
  async function release(client: RedisClientLike): Promise<void> {
    // Keep an error listener: ioredis reports an error event with no listener on the console.
    client.on('error', ignore);
    if (client.status === 'ready') {
      try {
        await beforeDeadline(() => client.quit(), Date.now() + timeoutMs, timeoutMs);
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    client.disconnect();
  }

  return store;
}

function ignore(): void {}

/** Creates an `ioredis` client, importing the optional peer dependency only now. */
async function createClient(url: string, timeoutMs: number): Promise<RedisClientLike> {
  let mod: typeof IoRedisModule;
  try {
    mod = await importPeer<typeof IoRedisModule>('ioredis');
  } catch (cause) {
    throw new LLMError(
      'unavailable',
      "redisStore() needs the optional peer dependency 'ioredis' (npm install ioredis), or a client given as { client }",
      { provider: REDIS_PROVIDER, retryable: false, cause },
    );
  }
  const Redis = mod.Redis ?? mod.default;
  return new Redis(url, {
    // A command sent while disconnected fails at once (the store then fails closed or open) instead of
    // waiting in a queue, and a command cut off by a disconnect is not resent: a script that already ran
    // (a reservation) must not run twice.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(1000, 2 * timeoutMs),
    // Reconnect forever, soon: within a second of Redis coming back.
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  }) as RedisClientLike;
}

/** The TTL argument of the scripts: `''` keep the expiry, `'-1'` none, else whole milliseconds (at least 1). */
function ttlArgument(opts: StoreWriteOptions | undefined): string {
  const ttl = opts?.ttlMs;
  if (ttl === undefined) return '';
  if (!Number.isFinite(ttl)) return '-1';
  return String(Math.max(1, Math.ceil(ttl)));
}

/** A script's `{ flag, number }` reply. */
function pair(reply: unknown): [number, number] {
  if (!Array.isArray(reply) || reply.length < 2) throw new Error(`unexpected script reply: ${String(reply)}`);
  return [Number(reply[0]), Number(reply[1])];
}

function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** `text` with the glob characters of `SCAN MATCH` escaped. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
