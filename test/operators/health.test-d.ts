import type { Observable, Subscription } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { ModelRef } from '../../src/core/events.js';
import type { ModelPolicy } from '../../src/core/model.js';
import {
  createHealthMonitor,
  withHealth,
  type HealthPredicate,
  type HealthSnapshot,
} from '../../src/operators/health.js';
import type { HealthStatus } from '../../src/operators/healthState.js';

describe('health types', () => {
  it('exposes an observable snapshot, a predicate for routing and a tracking policy', () => {
    const monitor = createHealthMonitor({ intervalMs: 1000 });
    expectTypeOf(monitor.health$).toEqualTypeOf<Observable<HealthSnapshot>>();
    expectTypeOf(monitor.isHealthy).toEqualTypeOf<HealthPredicate>();
    expectTypeOf(monitor.isHealthy).toEqualTypeOf<(model: ModelRef) => boolean>();
    expectTypeOf(monitor.statusOf).returns.toEqualTypeOf<HealthStatus>();
    expectTypeOf(monitor.start()).toEqualTypeOf<Subscription>();
    expectTypeOf(withHealth(monitor)).toEqualTypeOf<ModelPolicy>();
    expectTypeOf<HealthStatus>().toEqualTypeOf<'healthy' | 'degraded' | 'unhealthy'>();
  });

  it('takes a probe returning an Observable or a promise', () => {
    createHealthMonitor({ probe: () => Promise.resolve(true) });
    // @ts-expect-error: a probe must return something observable
    createHealthMonitor({ probe: () => 42 });
  });
});
