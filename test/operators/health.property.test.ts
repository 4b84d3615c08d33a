import fc from 'fast-check';
import { type Subscription, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { defineModel } from '../../src/core/model.js';
import { createHealthMonitor } from '../../src/operators/health.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { pendingActions } from './rateLimitSupport.js';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('health properties', () => {
  it('every wait between probes stays within intervalMs × (1 ± jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(unit, { minLength: 1, maxLength: 20 }),
        (intervalMs, jitter, randoms) => {
          const scheduler = new VirtualTimeScheduler();
          const times: number[] = [];
          const model = defineModel({
            provider: 'p',
            model: 'm',
            stream: (r) => {
              times.push(scheduler.now());
              return scriptedModel().stream(r);
            },
          });
          const queue = [...randoms];
          const monitor = createHealthMonitor({
            models: [model],
            intervalMs,
            jitter,
            random: () => queue.shift() ?? 0.5,
            scheduler,
          });
          const running = monitor.start();
          scheduler.schedule(() => running.unsubscribe(), intervalMs * (1 + jitter) * randoms.length + 1);
          scheduler.flush();
          expect(times[0]).toBe(0);
          expect(times.length).toBeGreaterThanOrEqual(randoms.length + 1);
          for (let i = 1; i < times.length; i++) {
            const gap = (times[i] as number) - (times[i - 1] as number);
            expect(gap).toBeGreaterThanOrEqual(intervalMs * (1 - jitter) - 1e-6);
            expect(gap).toBeLessThanOrEqual(intervalMs * (1 + jitter) + 1e-6);
          }
          expect(pendingActions(scheduler)).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('matches a reference of the status rules under any sequence of outcomes and clock steps', () => {
    const step = fc.record({ advance: fc.integer({ min: 0, max: 400 }), ok: fc.boolean() });
    const rules = fc.record({
      unhealthyAfter: fc.integer({ min: 1, max: 5 }),
      recoverAfter: fc.integer({ min: 1, max: 4 }),
      errorRateThreshold: fc.constantFrom(0.3, 0.5, 0.8, 2),
      degradedErrorRate: fc.constantFrom(0.1, 0.25, 2),
      minCalls: fc.integer({ min: 1, max: 8 }),
      windowMs: fc.integer({ min: 100, max: 2_000 }),
    });
    fc.assert(
      fc.property(rules, fc.array(step, { maxLength: 60 }), (cfg, steps) => {
        const scheduler = new VirtualTimeScheduler();
        const monitor = createHealthMonitor({ ...cfg, scheduler });
        const ref = { provider: 'p', model: 'm' };
        // The reference, written from the documentation.
        let down = false;
        let failuresInRow = 0;
        let successesInRow = 0;
        let window: { at: number; ok: boolean }[] = [];
        let now = 0;
        for (const s of steps) {
          now += s.advance;
          scheduler.schedule(() => {
            monitor.record(
              ref,
              s.ok ? { ok: true } : { ok: false, error: new LLMError('overloaded', 'busy') },
            );
          }, now);
        }
        const expected: string[] = [];
        now = 0;
        for (const s of steps) {
          now += s.advance;
          window = [...window.filter((o) => o.at > now - cfg.windowMs), { at: now, ok: s.ok }];
          const rate = window.length >= cfg.minCalls ? window.filter((o) => !o.ok).length / window.length : 0;
          failuresInRow = s.ok ? 0 : failuresInRow + 1;
          successesInRow = s.ok ? successesInRow + 1 : 0;
          if (!down && !s.ok && (failuresInRow >= cfg.unhealthyAfter || rate >= cfg.errorRateThreshold))
            down = true;
          else if (down && successesInRow >= cfg.recoverAfter) {
            down = false;
            window = [{ at: now, ok: true }];
          }
          const rateNow =
            window.length >= cfg.minCalls ? window.filter((o) => !o.ok).length / window.length : 0;
          expected.push(
            down
              ? 'unhealthy'
              : failuresInRow > 0 || rateNow >= cfg.degradedErrorRate
                ? 'degraded'
                : 'healthy',
          );
        }
        const actual: string[] = [];
        const watching = monitor.health$.subscribe((snapshot) => {
          const status = snapshot.models[0]?.status;
          if (status) actual.push(status);
        });
        scheduler.flush();
        watching.unsubscribe();
        expect(actual).toEqual(expected);
        expect(monitor.isHealthy(ref)).toBe(expected.at(-1) !== 'unhealthy');
      }),
      { numRuns: 300 },
    );
  });

  it('probes only while someone watches, and leaves no timer or probe behind', () => {
    const window = fc.record({
      from: fc.integer({ min: 0, max: 5_000 }),
      length: fc.integer({ min: 0, max: 3_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ watch: window, viaStart: fc.boolean() }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 50, max: 1_000 }),
        (watchers, kinds, intervalMs) => {
          const scheduler = new VirtualTimeScheduler();
          let watching = 0;
          const models = kinds.map((kind, i) =>
            scriptedModel({
              provider: `p${i}`,
              scheduler,
              scripts: () => {
                expect(watching).toBeGreaterThan(0);
                // 0 quick, 1 slow first token, 2 stalls (times out), 3 fails.
                if (kind === 1) return { firstTokenDelayMs: 120 };
                if (kind === 2) return { stallAfter: 0 };
                if (kind === 3) return { fail: 'unavailable' };
                return {};
              },
            }),
          );
          const monitor = createHealthMonitor({
            models,
            intervalMs,
            jitter: 0.5,
            probeTimeoutMs: 200,
            scheduler,
          });
          let last = 0;
          for (const w of watchers) {
            let subscription: Subscription | undefined;
            scheduler.schedule(() => {
              watching++;
              subscription = w.viaStart ? monitor.start() : monitor.health$.subscribe();
            }, w.watch.from);
            scheduler.schedule(() => {
              watching--;
              subscription?.unsubscribe();
            }, w.watch.from + w.watch.length);
            last = Math.max(last, w.watch.from + w.watch.length);
          }
          scheduler.schedule(() => {
            expect(pendingActions(scheduler)).toBe(0);
            expect(models.map((m) => m.active())).toEqual(models.map(() => 0));
          }, last + 1);
          scheduler.flush();
        },
      ),
      { numRuns: 150 },
    );
  });
});
