import { Redis } from 'ioredis';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type RedisClientLike,
  type RedisStateStore,
  type RedisStoreEvent,
  redisStore,
} from '../../src/state/redisStore.js';
import type { IncrementResult, StateStore } from '../../src/state/store.js';

describe('redisStore types', () => {
  it('is a StateStore whose answers are promises', () => {
    const store = redisStore();
    expectTypeOf(store).toMatchTypeOf<StateStore>();
    expectTypeOf(store.increment('k', 1)).toEqualTypeOf<Promise<IncrementResult>>();
    expectTypeOf(store.get('k')).toEqualTypeOf<Promise<string | undefined>>();
    expectTypeOf<RedisStateStore['events$']>().toHaveProperty('subscribe');
  });

  it('takes an ioredis client as it is', () => {
    expectTypeOf<Redis>().toMatchTypeOf<RedisClientLike>();
    expectTypeOf(redisStore).toBeCallableWith({ client: new Redis({ lazyConnect: true }) });
  });

  it('reports events as a union switched on type', () => {
    expectTypeOf<RedisStoreEvent['type']>().toEqualTypeOf<'fail-open' | 'fail-closed' | 'down' | 'up'>();
    expectTypeOf<Extract<RedisStoreEvent, { type: 'fail-open' }>['op']>().toEqualTypeOf<
      'get' | 'set' | 'delete' | 'compareAndSet' | 'increment' | 'takeTokens' | 'append' | 'list' | 'keys'
    >();
  });
});
