import { afterEach, describe, expect, it, vi } from 'vitest';
import { LLMError } from '../../src/core/errors.js';

// `ioredis` is an optional peer dependency: as if it were not installed.
const loads = vi.hoisted(() => ({ count: 0 }));
vi.mock('ioredis', () => {
  loads.count++;
  throw new Error("Cannot find package 'ioredis' imported from redisStore.js");
});

afterEach(() => {
  loads.count = 0;
});

describe('redisStore without ioredis installed', () => {
  it('loads, and with a client of the caller never imports ioredis', async () => {
    const { redisStore } = await import('../../src/state/redisStore.js');
    const client = {
      status: 'ready',
      call: vi.fn(async () => 'v'),
      on: vi.fn(),
      off: vi.fn(),
      quit: vi.fn(async () => 'OK'),
      disconnect: vi.fn(),
    };
    const store = redisStore({ client, prefix: 'p:' });
    expect(await store.get('k')).toBe('v');
    expect(client.call).toHaveBeenCalledWith('GET', 'p:k');
    await store.close();
    expect(client.quit).not.toHaveBeenCalled(); // the caller's client stays open
    expect(loads.count).toBe(0);
  });

  it('fails each operation with a clear, non-retryable error when it must create the client', async () => {
    const { redisStore } = await import('../../src/state/redisStore.js');
    const store = redisStore({ url: 'redis://127.0.0.1:1', onUnavailable: 'fail-open' });
    const error = await store.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LLMError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'unavailable', provider: 'redis', retryable: false });
    expect((error as Error).message).toContain('npm install ioredis');
    await store.close();
  });
});
