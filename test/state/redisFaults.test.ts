import { Redis } from 'ioredis';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { type RedisStateStore, type RedisStoreEvent, redisStore } from '../../src/state/redisStore.js';
import { startRedisServer, type RedisServer } from './redisServer.js';

const TIMEOUT_MS = 250;
/** No operation may take longer than this: a bound on hanging, not a speed claim. */
const HANG_BOUND_MS = 8 * TIMEOUT_MS;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<RedisServer> {
  const s = await startRedisServer();
  cleanups.push(() => s.dispose());
  return s;
}

function store(s: RedisServer, options: Parameters<typeof redisStore>[0] = {}) {
  const st = redisStore({ url: s.url, timeoutMs: TIMEOUT_MS, prefix: 'f:', ...options });
  const events: RedisStoreEvent[] = [];
  st.events$.subscribe((e) => events.push(e));
  cleanups.push(() => st.close());
  return { store: st, events };
}

/** The value at `key` of the server, read by a client of its own. */
async function rawGet(s: RedisServer, key: string): Promise<string | null> {
  const client = new Redis(s.url, { lazyConnect: true });
  try {
    await client.connect();
    return await client.get(key);
  } finally {
    client.disconnect();
  }
}

interface Outcome {
  readonly ok: boolean;
  readonly error?: unknown;
  readonly ms: number;
}

/** Runs `call` and records how it settled and how long it took. */
async function timed(call: () => Promise<unknown>): Promise<Outcome> {
  const start = Date.now();
  try {
    await call();
    return { ok: true, ms: Date.now() - start };
  } catch (error) {
    return { ok: false, error, ms: Date.now() - start };
  }
}

const up = (st: RedisStateStore) => firstValueFrom(st.events$.pipe(filter((e) => e.type === 'up')));

function expectUnavailable(error: unknown): void {
  expect(LLMError.isInstance(error)).toBe(true);
  expect(error).toMatchObject({ kind: 'unavailable', provider: 'redis' });
}

describe('redisStore when Redis stops mid-run', () => {
  it('fail-closed: every call settles with an unavailable error or its answer, and Redis is used again once back', async () => {
    const s = await server();
    const { store: st, events } = store(s);
    await st.ready();
    const first = Array.from({ length: 50 }, () => timed(() => st.increment('budget', 1, { limit: 1000 })));
    await s.stop();
    const during = Array.from({ length: 50 }, () => timed(() => st.increment('budget', 1, { limit: 1000 })));
    const outcomes = await Promise.all([...first, ...during]);

    for (const o of outcomes) {
      expect(o.ms).toBeLessThan(HANG_BOUND_MS);
      if (!o.ok) expectUnavailable(o.error);
    }
    const afterStop = await Promise.all(during);
    expect(afterStop.every((o) => !o.ok)).toBe(true);
    expect(events.some((e) => e.type === 'down')).toBe(true);
    const closed = events.filter((e) => e.type === 'fail-closed');
    expect(closed.length).toBeGreaterThanOrEqual(50);
    expect(closed[0]).toMatchObject({ op: 'increment', key: 'budget' });

    // Back: the client reconnects by itself and the next calls go to Redis again.
    const back = up(st);
    await s.start();
    await back;
    expect(await st.increment('budget', 2, { limit: 1000 })).toEqual({ ok: true, value: 2 });
    expect(await rawGet(s, 'f:budget')).toBe('2');
  });

  it('fail-open: calls run on the local fallback with an event each, then go back to Redis', async () => {
    const s = await server();
    const fallback = memoryStore();
    const { store: st, events } = store(s, { onUnavailable: 'fail-open', fallback });
    await st.set('breaker', 'closed');
    await s.stop();

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => timed(() => st.increment(`n${i % 2}`, 1))),
    );
    expect(outcomes.every((o) => o.ok && o.ms < HANG_BOUND_MS)).toBe(true);
    expect(fallback.get('n0')).toBe('10');
    expect(await st.compareAndSet('breaker', undefined, 'open')).toBe(true); // the fallback knew no breaker
    const open = events.filter(
      (e): e is Extract<RedisStoreEvent, { type: 'fail-open' }> => e.type === 'fail-open',
    );
    expect(open).toHaveLength(21);
    expect(open[0]).toMatchObject({ op: 'increment', key: 'n0' });
    expectUnavailable(open[0]?.error);

    const back = up(st);
    await s.start();
    await back;
    expect(await st.increment('n0', 5)).toEqual({ ok: true, value: 5 }); // Redis, which restarted empty
    expect(await rawGet(s, 'f:n0')).toBe('5');
    expect(fallback.get('n0')).toBe('10');
    expect(events.filter((e) => e.type === 'fail-open')).toHaveLength(21);
  });

  it('a frozen Redis: each call gives up after timeoutMs, in either mode, and answers again once it resumes', async () => {
    const s = await server();
    const closed = store(s).store;
    const open = store(s, { onUnavailable: 'fail-open' });
    await Promise.all([closed.ready(), open.store.ready()]);
    s.pause();
    cleanups.push(() => s.resume());

    const [c, o] = await Promise.all([
      timed(() => closed.takeTokens('rpm', { tokens: 1, capacity: 5, refillPerMs: 0.001, now: 0 })),
      timed(() => open.store.get('cache:x')),
    ]);
    expect(c.ok).toBe(false);
    expectUnavailable(c.error);
    expect((c.error as Error).message).toContain(`no answer within ${TIMEOUT_MS} ms`);
    expect(c.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(c.ms).toBeLessThan(HANG_BOUND_MS);
    expect(o.ok).toBe(true);
    expect(open.events.map((e) => e.type)).toContain('fail-open');

    s.resume();
    expect(await closed.set('k', 'v')).toBeUndefined();
    expect(await open.store.get('k')).toBe('v');
  });

  it('Redis down from the start: calls fail at once, and the store connects when it comes up', async () => {
    const s = await server();
    await s.stop();
    const { store: st, events } = store(s);
    await expect(st.ready()).rejects.toMatchObject({ kind: 'unavailable', provider: 'redis' });
    expect(events[0]?.type).toBe('down');
    const quick = await timed(() => st.get('k'));
    expect(quick.ok).toBe(false);
    expectUnavailable(quick.error);
    expect((quick.error as Error).message).toContain('connection down');

    const back = up(st);
    await s.start();
    await back;
    await st.set('k', 'v');
    expect(await st.get('k')).toBe('v');
  });

  it('close() during an outage returns promptly and later calls fail with a closed-store error', async () => {
    const s = await server();
    const { store: st } = store(s);
    await st.ready();
    await s.stop();
    const closing = await timed(() => st.close());
    expect(closing.ok).toBe(true);
    expect(closing.ms).toBeLessThan(HANG_BOUND_MS);
    await expect(st.get('k')).rejects.toMatchObject({ kind: 'unavailable', retryable: false });
  });
});
