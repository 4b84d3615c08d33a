import { distinctUntilChanged, EMPTY, from, map, type Observable, of, take, throwError, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { createHealthMonitor, withHealth, type HealthSnapshot } from '../../src/operators/health.js';
import { scriptedModel, type Script } from '../../src/testing/scriptedModel.js';
import { ask, letters, newScheduler, pendingActions } from './rateLimitSupport.js';

/** The first model's status as one letter: h healthy, d degraded, u unhealthy, n not known yet. */
const status = (snapshots: Observable<HealthSnapshot>, index = 0): Observable<string> =>
  snapshots.pipe(
    map((s) => s.models[index]?.status[0] ?? 'n'),
    distinctUntilChanged(),
  );

/** A scripted model whose answers follow `pattern` ('o' ok, 'f' overloaded, 's' stall), then keep ok. */
const patterned = (pattern: string, extra: Script = {}, provider = 'p') =>
  scriptedModel({
    provider,
    scripts: (_r, call) => {
      const step = pattern[call];
      if (step === 'f') return { ...extra, fail: 'overloaded' };
      if (step === 's') return { ...extra, stallAfter: 0 };
      return extra;
    },
  });

describe('createHealthMonitor: active probes (marbles)', () => {
  it('probes on start, then every interval, only while health$ is subscribed', () => {
    const scheduler = newScheduler();
    const model = scriptedModel();
    const probeTimes: number[] = [];
    scheduler.run(({ expectObservable }) => {
      const timed = defineModel({
        provider: 'p',
        model: 'm',
        stream: (r) => {
          probeTimes.push(scheduler.now());
          return model.stream(r);
        },
      });
      const monitor = createHealthMonitor({ models: [timed], intervalMs: 1000, jitter: 0, scheduler });
      // Nothing runs before anyone watches.
      scheduler.schedule(() => expect(probeTimes).toEqual([]), 100);
      expectObservable(
        monitor.health$.pipe(map((s) => s.models[0]?.lastProbe?.at ?? '-')),
        '500ms ^ 2600ms !',
      ).toBe('500ms (ab) 996ms c 999ms d', { a: '-', b: 500, c: 1500, d: 2500 });
      scheduler.schedule(() => {
        expect(pendingActions(scheduler)).toBe(0);
        expect(model.active()).toBe(0);
      }, 3200);
    });
    expect(probeTimes).toEqual([500, 1500, 2500]);
  });

  it('draws each wait within intervalMs × (1 ± jitter), after the previous probe ends', () => {
    const scheduler = newScheduler();
    const times: number[] = [];
    const randoms = [0, 0.999, 0.5, 0.25];
    scheduler.run(() => {
      const model = defineModel({
        provider: 'p',
        model: 'm',
        stream: () => {
          times.push(scheduler.now());
          // Each probe takes 10 ms to its first token.
          return scriptedModel({ scheduler, scripts: [{ firstTokenDelayMs: 10 }] }).stream(ask());
        },
      });
      const monitor = createHealthMonitor({
        models: [model],
        intervalMs: 1000,
        jitter: 0.2,
        random: () => randoms.shift() ?? 0.5,
        scheduler,
      });
      const running = monitor.start();
      scheduler.schedule(() => running.unsubscribe(), 5000);
    });
    // Waits: 800, 1199.6, 1000, 900 (each after a 10 ms probe), then 1000.
    const gaps = times.slice(1).map((t, i) => Math.round((t - (times[i] as number)) * 10) / 10);
    expect(gaps).toEqual([810, 1209.6, 1010, 910, 1010]);
  });

  it('can skip the probe on start', () => {
    const scheduler = newScheduler();
    const model = scriptedModel();
    scheduler.run(() => {
      const monitor = createHealthMonitor({
        models: [model],
        intervalMs: 1000,
        jitter: 0,
        probeOnStart: false,
        scheduler,
      });
      const running = monitor.start();
      scheduler.schedule(() => expect(model.calls()).toBe(0), 999);
      scheduler.schedule(() => expect(model.calls()).toBe(1), 1000);
      scheduler.schedule(() => monitor.stop(), 1500);
      scheduler.schedule(() => {
        expect(running.closed).toBe(true);
        expect(pendingActions(scheduler)).toBe(0);
      }, 1501);
    });
  });

  it('turns unhealthy after failing probes and recovers after successful ones', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = patterned('ff');
      const monitor = createHealthMonitor({
        models: [model],
        intervalMs: 1000,
        jitter: 0,
        unhealthyAfter: 2,
        recoverAfter: 2,
        scheduler,
      });
      // 0: fails (degraded); 1000: fails again (unhealthy); 2000: ok; 3000: ok again (healthy).
      expectObservable(status(monitor.health$), '^ 3500ms !').toBe('(hd) 996ms u 1999ms h');
      scheduler.schedule(() => expect(monitor.isHealthy(model)).toBe(false), 2500);
      scheduler.schedule(() => expect(monitor.isHealthy(model)).toBe(true), 3001);
    });
  });

  it('fails a probe that does not answer within probeTimeoutMs, and cancels it', () => {
    const scheduler = newScheduler();
    const model = patterned('ss');
    scheduler.run(({ expectObservable }) => {
      const monitor = createHealthMonitor({
        models: [model],
        intervalMs: 1000,
        jitter: 0,
        probeTimeoutMs: 300,
        unhealthyAfter: 2,
        scheduler,
      });
      // Probes at 0 and 1300 stall and time out at 300 and 1600.
      expectObservable(status(monitor.health$), '^ 2000ms !').toBe('h 299ms d 1299ms u');
      scheduler.schedule(() => {
        const health = monitor.snapshot().models[0];
        expect(health?.lastProbe).toMatchObject({ at: 1600, ok: false, error: { kind: 'timeout' } });
        expect(model.active()).toBe(0);
      }, 1700);
    });
  });

  it('counts a probe answer that ends without content or finish as a failure', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const empty = defineModel({
        provider: 'p',
        model: 'm',
        stream: () => of<TokenEvent>({ type: 'start', provider: 'p', model: 'm' }),
      });
      const monitor = createHealthMonitor({ models: [empty], intervalMs: 1000, jitter: 0, scheduler });
      const running = monitor.start();
      expect(monitor.snapshot().models[0]?.lastProbe).toMatchObject({
        ok: false,
        error: { kind: 'incomplete' },
      });
      running.unsubscribe();
    });
  });

  it('runs a custom probe: its first value or completion succeeds, an error or a throw fails', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const a = scriptedModel({ provider: 'a' });
      const b = scriptedModel({ provider: 'b' });
      const c = scriptedModel({ provider: 'c' });
      const d = scriptedModel({ provider: 'd' });
      const monitor = createHealthMonitor({
        models: [a, b, c, d],
        intervalMs: 1000,
        jitter: 0,
        scheduler,
        probe: (model) => {
          switch (model.provider) {
            case 'a':
              return timer(40, scheduler);
            case 'b':
              return EMPTY;
            case 'c':
              return throwError(() => new LLMError('unavailable', 'status page says down'));
            default:
              throw new Error('probe bug');
          }
        },
      });
      const running = monitor.start();
      scheduler.schedule(() => {
        const [ha, hb, hc, hd] = monitor.snapshot().models;
        expect(ha?.lastProbe).toEqual({ at: 40, ok: true, latencyMs: 40 });
        expect(ha?.latencyMs).toBe(40);
        expect(hb?.lastProbe).toMatchObject({ ok: true });
        expect(hc?.lastProbe).toMatchObject({ ok: false, error: { kind: 'unavailable' } });
        expect(hd?.lastProbe).toMatchObject({ ok: false, error: { kind: 'unknown', message: 'probe bug' } });
        expect([a, b, c, d].map((m) => m.calls())).toEqual([0, 0, 0, 0]);
        running.unsubscribe();
      }, 100);
    });
  });

  it('shares one probe loop between every watcher', () => {
    const scheduler = newScheduler();
    const model = scriptedModel();
    scheduler.run(() => {
      const monitor = createHealthMonitor({ models: [model], intervalMs: 1000, jitter: 0, scheduler });
      const one = monitor.health$.subscribe();
      const two = monitor.health$.subscribe();
      const three = monitor.start();
      scheduler.schedule(() => {
        expect(model.calls()).toBe(3); // at 0, 1000, 2000: once each, not three times
        one.unsubscribe();
        two.unsubscribe();
        expect(pendingActions(scheduler)).toBeGreaterThan(0); // start() still runs
        three.unsubscribe();
        expect(pendingActions(scheduler)).toBe(0);
      }, 2500);
    });
  });
});

describe('withHealth: passive tracking (marbles)', () => {
  it('passes every event through unchanged: one call, an empty answer, many', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const monitor = createHealthMonitor({ scheduler });
      const many = scriptedModel({ scripts: [{ text: 'a b c' }, { text: [] }] }).pipe(withHealth(monitor));
      expectObservable(letters(many.stream(ask()))).toBe('(stttuf|)');
      expectObservable(letters(many.stream(ask()))).toBe('(suf|)');
    });
  });

  it('marks a model unhealthy after failed calls, and ignores errors that are the caller’s', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel({
        scripts: [
          { fail: 'invalid_request' },
          { fail: 'overloaded' },
          { fail: 'overloaded' },
          { fail: 'timeout' },
        ],
      });
      const monitor = createHealthMonitor({ scheduler, unhealthyAfter: 3 });
      const tracked = model.pipe(monitor.track());
      // The caller's invalid_request at 0 is not recorded; failures at 5, 10 and 30 are.
      expectObservable(status(monitor.health$), '^ 100ms !').toBe('n 4ms d 24ms u');
      for (const at of [0, 5, 10, 30]) {
        scheduler.schedule(() => tracked.stream(ask()).subscribe({ error: () => undefined }), at);
      }
      scheduler.schedule(() => {
        expect(monitor.snapshot().models[0]).toMatchObject({
          provider: 'scripted',
          status: 'unhealthy',
          consecutiveFailures: 3,
          lastError: { kind: 'timeout' },
        });
        expect(monitor.isHealthy(model)).toBe(false);
        expect(monitor.statusOf({ provider: 'other', model: 'x' })).toBe('healthy');
      }, 50);
    });
  });

  it('keeps a moving average of the time to first token; slow means degraded', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const model = scriptedModel({
        scheduler,
        scripts: [{ firstTokenDelayMs: 100 }, { firstTokenDelayMs: 300 }, { firstTokenDelayMs: 100 }],
      });
      // latencyWindow 3: alpha = 0.5.
      const monitor = createHealthMonitor({ scheduler, latencyWindow: 3, degradedLatencyMs: 180 });
      const tracked = model.pipe(monitor.track());
      const seen: (number | undefined)[] = [];
      for (const at of [0, 1000, 2000]) {
        scheduler.schedule(() => tracked.stream(ask()).subscribe(), at);
        scheduler.schedule(() => seen.push(monitor.snapshot().models[0]?.latencyMs), at + 500);
      }
      scheduler.schedule(() => expect(monitor.statusOf(model)).toBe('degraded'), 1500);
      scheduler.schedule(() => expect(monitor.statusOf(model)).toBe('healthy'), 2500);
      scheduler.schedule(() => expect(seen).toEqual([100, 200, 150]), 3000);
    });
  });

  it('turns unhealthy at the error-rate threshold over the window, and forgets old outcomes', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const model = patterned('ofof' + 'o' + 'oofo');
      const monitor = createHealthMonitor({
        scheduler,
        minCalls: 4,
        errorRateThreshold: 0.5,
        degradedErrorRate: 0.25,
        windowMs: 1000,
      });
      const tracked = model.pipe(monitor.track());
      const call = (at: number) =>
        scheduler.schedule(() => tracked.stream(ask()).subscribe({ error: () => undefined }), at);
      // o f o → 3 calls, below minCalls: only the failure in a row degrades.
      [0, 10, 20].forEach(call);
      scheduler.schedule(
        () => expect(monitor.snapshot().models[0]).toMatchObject({ status: 'healthy', calls: 3 }),
        25,
      );
      // f (2 of 4, 0.5): unhealthy.
      call(30);
      scheduler.schedule(() => expect(monitor.statusOf(model)).toBe('unhealthy'), 35);
      // o: recovering needs two in a row.
      call(40);
      scheduler.schedule(() => expect(monitor.statusOf(model)).toBe('unhealthy'), 45);
      // Later: o recovers and clears the window, so the old failures cannot send it back down; o f o then
      // leave a rate of 0.25 over 4 calls: degraded by rate, with no failure in a row.
      [2000, 2010, 2020, 2030].forEach(call);
      scheduler.schedule(() => expect(monitor.statusOf(model)).toBe('healthy'), 2005);
      scheduler.schedule(() => {
        expect(monitor.snapshot().models[0]).toMatchObject({
          status: 'degraded',
          calls: 4,
          errorRate: 0.25,
          consecutiveFailures: 0,
        });
      }, 2035);
    });
  });

  it('forgets outcomes older than windowMs', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const model = patterned('fo');
      const monitor = createHealthMonitor({
        scheduler,
        windowMs: 1000,
        minCalls: 2,
        degradedErrorRate: 0.5,
        errorRateThreshold: 0.9,
      });
      const tracked = model.pipe(monitor.track());
      for (const at of [0, 10, 2000]) {
        scheduler.schedule(() => tracked.stream(ask()).subscribe({ error: () => undefined }), at);
      }
      scheduler.schedule(
        () => expect(monitor.snapshot().models[0]).toMatchObject({ status: 'degraded', errorRate: 0.5 }),
        20,
      );
      scheduler.schedule(
        () =>
          expect(monitor.snapshot().models[0]).toMatchObject({ status: 'healthy', calls: 1, errorRate: 0 }),
        2001,
      );
    });
  });

  it('counts a stream that completes without a finish as a failure; an unsubscribe as nothing', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const cut = defineModel({
        provider: 'p',
        model: 'm',
        stream: () =>
          from<TokenEvent[]>([
            { type: 'start', provider: 'p', model: 'm' },
            { type: 'text', text: 'a' },
          ]),
      });
      const monitor = createHealthMonitor({ scheduler });
      expectObservable(letters(cut.pipe(withHealth(monitor)).stream(ask()))).toBe('(st|)');
      scheduler.schedule(() => {
        expect(monitor.snapshot().models[0]).toMatchObject({
          consecutiveFailures: 1,
          lastError: { kind: 'incomplete' },
        });
      }, 1);

      const stalled = scriptedModel({ provider: 's', scripts: [{ text: 'a b', stallAfter: 1 }] });
      expectObservable(letters(stalled.pipe(withHealth(monitor)).stream(ask())), '^ 99ms !').toBe('(st)');
      scheduler.schedule(() => {
        expect(stalled.active()).toBe(0);
        const health = monitor.snapshot().models.find((m) => m.provider === 's');
        expect(health).toMatchObject({ calls: 0, latencyMs: 0, status: 'healthy' });
      }, 200);
    });
  });

  it('passes errors through, and unsubscribes upstream when cut by take', () => {
    const scheduler = newScheduler();
    const model = scriptedModel({ scripts: [{ fail: 'overloaded', failAfter: 1 }, { text: 'a b c' }] });
    scheduler.run(({ expectObservable }) => {
      const monitor = createHealthMonitor({ scheduler });
      const tracked = model.pipe(monitor.track());
      expectObservable(letters(tracked.stream(ask()))).toBe('(stO|)');
      expectObservable(letters(tracked.stream(ask()).pipe(take(2)))).toBe('(st|)');
    });
    expect(model.active()).toBe(0);
  });

  it('counts the error when a shouldCount predicate throws, and still passes it on', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const monitor = createHealthMonitor({
        scheduler,
        shouldCount: () => {
          throw new Error('predicate bug');
        },
      });
      const tracked = scriptedModel({ scripts: [{ fail: 'overloaded' }] }).pipe(monitor.track());
      expectObservable(letters(tracked.stream(ask()))).toBe('(sO|)');
      scheduler.schedule(() => expect(monitor.snapshot().models[0]?.consecutiveFailures).toBe(1), 1);
    });
  });

  it('in a tracked pipeline, a fallback event counts against the model it names', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const error = new LLMError('overloaded', 'busy', { provider: 'a', model: 'one' });
      const pipeline = defineModel({
        provider: 'pipeline',
        model: 'fallback',
        stream: () =>
          from<TokenEvent[]>([
            { type: 'fallback', from: { provider: 'a', model: 'one' }, error },
            { type: 'start', provider: 'b', model: 'two' },
            { type: 'text', text: 'hi' },
            {
              type: 'finish',
              reason: 'stop',
              usage: { inputTokens: 1, outputTokens: 1 },
              cost: { input: 0, output: 0, total: 0 },
            },
          ]),
      });
      const monitor = createHealthMonitor({ scheduler });
      pipeline.pipe(withHealth(monitor)).stream(ask()).subscribe();
      const byName = Object.fromEntries(
        monitor.snapshot().models.map((m) => [`${m.provider}/${m.model}`, m]),
      );
      expect(byName['a/one']).toMatchObject({ consecutiveFailures: 1, status: 'degraded' });
      expect(byName['b/two']).toMatchObject({ consecutiveSuccesses: 1, status: 'healthy', latencyMs: 0 });
    });
  });

  it('lists configured models first, then models met through tracking; record() takes outside outcomes', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const configured = scriptedModel({ provider: 'z' });
      const monitor = createHealthMonitor({ models: [configured], scheduler });
      monitor.record({ provider: 'a', model: 'x' }, { ok: false, error: new LLMError('network', 'reset') });
      expect(monitor.snapshot().models.map((m) => `${m.provider}:${m.status}`)).toEqual([
        'z:healthy',
        'a:degraded',
      ]);
    });
  });

  it('rejects nonsense configuration', () => {
    expect(() => createHealthMonitor({ intervalMs: 0 })).toThrow(RangeError);
    expect(() => createHealthMonitor({ jitter: 2 })).toThrow(RangeError);
    expect(() => createHealthMonitor({ unhealthyAfter: 0 })).toThrow(RangeError);
  });
});

describe('createHealthMonitor on real time', () => {
  it('accepts a promise probe', async () => {
    const model = scriptedModel();
    const monitor = createHealthMonitor({
      models: [model],
      probe: () => Promise.resolve('up'),
      intervalMs: 60_000,
    });
    const running = monitor.start();
    await new Promise((resolve) => setImmediate(resolve));
    expect(monitor.snapshot().models[0]?.lastProbe).toMatchObject({ ok: true });
    running.unsubscribe();
  });
});
