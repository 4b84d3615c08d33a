import fc from 'fast-check';
import { asyncScheduler, type SchedulerLike, Subject, type Subscription, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import {
  admitCall,
  type CircuitRules,
  type CircuitState,
  INITIAL_CIRCUIT,
  openDuration,
  parseCircuit,
  recordFailure,
  recordSuccess,
  releaseCall,
} from '../../src/operators/circuitMachine.js';
import {
  type CircuitBreakerConfig,
  type CircuitTransition,
  countsAgainstProvider,
  createCircuitBreaker,
} from '../../src/operators/createCircuitBreaker.js';
import { withCircuitBreaker } from '../../src/operators/withCircuitBreaker.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import type { StateStore } from '../../src/state/store.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { errorOf, finish, pulledSource, start, testScheduler, text, usage } from './support.js';

const ref = { provider: 'acme', model: 'm1' };
const values: Record<string, TokenEvent> = { s: start('acme', 'm1'), a: text('a'), f: finish(1) };
const overloaded = new LLMError('overloaded', 'busy', ref);
const invalid = new LLMError('invalid_request', 'bad request', ref);
const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };

const rules: CircuitRules = {
  shouldTrip: (s) => s.consecutiveFailures >= 2,
  windowMs: 1_000,
  buckets: 10,
  openMs: 100,
  maxOpenMs: 350,
  openBackoffFactor: 2,
  halfOpenProbes: 1,
  successesToClose: 1,
};

describe('circuit state machine (pure)', () => {
  it('closed → open on the trip rule; open fails fast with the time left', () => {
    let s: CircuitState = INITIAL_CIRCUIT;
    const a = admitCall(s, 0, rules);
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    s = recordFailure(s, a.ticket, 0, rules);
    expect(s).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    s = recordFailure(s, a.ticket, 5, rules);
    expect(s).toMatchObject({ state: 'open', until: 105, opens: 1, epoch: 1 });
    expect(admitCall(s, 50, rules)).toMatchObject({ ok: false, retryAfterMs: 55 });
  });

  it('half-open admits a bounded number of probes; a failed probe reopens for longer, capped', () => {
    let s: CircuitState = { state: 'open', epoch: 3, openedAt: 0, until: 100, opens: 1 };
    const probe = admitCall(s, 100, rules);
    expect(probe).toMatchObject({ ok: true, ticket: { probe: true, epoch: 4 } });
    if (!probe.ok) return;
    s = probe.next;
    expect(s).toMatchObject({ state: 'half-open', probes: 1 });
    expect(admitCall(s, 101, rules)).toMatchObject({ ok: false, retryAfterMs: undefined });
    s = recordFailure(s, probe.ticket, 110, rules);
    expect(s).toMatchObject({ state: 'open', opens: 2, until: 310 });
    expect(openDuration(3, rules)).toBe(350);
  });

  it('a successful probe closes; releasing gives the slot back; stale tickets change nothing', () => {
    const half: CircuitState = { state: 'half-open', epoch: 2, since: 0, probes: 1, successes: 0, opens: 1 };
    expect(releaseCall(half, { epoch: 2, probe: true }, 0)).toMatchObject({ probes: 0 });
    expect(recordSuccess(half, { epoch: 2, probe: true }, 0, rules)).toMatchObject({
      state: 'closed',
      epoch: 3,
    });
    expect(recordSuccess(half, { epoch: 1, probe: false }, 0, rules)).toBe(half);
    expect(recordFailure(half, { epoch: 1, probe: false }, 0, rules)).toBe(half);
  });

  it('parses what it stores, and treats garbage as closed', () => {
    const open: CircuitState = { state: 'open', epoch: 1, openedAt: 0, until: 5, opens: 1 };
    expect(parseCircuit(JSON.stringify(open))).toEqual(open);
    expect(parseCircuit('{nope')).toBe(INITIAL_CIRCUIT);
    expect(parseCircuit(undefined)).toBe(INITIAL_CIRCUIT);
  });

  it('default shouldCount: the caller’s mistakes do not count, degradation does', () => {
    for (const kind of [
      'invalid_request',
      'auth',
      'not_found',
      'context_length',
      'content_filter',
      'aborted',
      'budget',
    ] as const) {
      expect(countsAgainstProvider(new LLMError(kind, kind))).toBe(false);
    }
    for (const kind of [
      'timeout',
      'incomplete',
      'overloaded',
      'rate_limit',
      'unavailable',
      'network',
    ] as const) {
      expect(countsAgainstProvider(new LLMError(kind, kind))).toBe(true);
    }
  });
});

function setup(config: CircuitBreakerConfig = {}): {
  breaker: ReturnType<typeof createCircuitBreaker>;
  transitions: CircuitTransition[];
  scheduler: ReturnType<typeof testScheduler>;
} {
  const scheduler = testScheduler();
  const breaker = createCircuitBreaker({
    consecutiveFailures: 2,
    openMs: 10,
    scheduler,
    store: memoryStore({ now: () => scheduler.now() }),
    ...config,
  });
  const transitions: CircuitTransition[] = [];
  breaker.state$.subscribe((t) => transitions.push(t));
  return { breaker, transitions, scheduler };
}

const states = (transitions: readonly CircuitTransition[]): string[] =>
  transitions.map((t) => `${t.at}:${t.from.state}>${t.to.state}`);

describe('withCircuitBreaker / guard (marbles)', () => {
  it('empty: a completion without finish is an incomplete failure, and counts', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold<TokenEvent>('|'))).toBe('#', undefined, errorOf('incomplete'));
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'open' });
  });

  it('one answer passes through and counts as a success', () => {
    const { breaker, scheduler } = setup();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-f|', values);
      expectObservable(breaker.guard(ref, source)).toBe('s-a-f|', values);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    expect(breaker.state(ref)).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      buckets: [{ successes: 1, failures: 0 }],
    });
  });

  it('many: opens on consecutive failures, fails fast, probes when half-open, closes on success', () => {
    const { breaker, transitions, scheduler } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '1ms ^').toBe(
        '1ms #',
        undefined,
        overloaded,
      );
      expectObservable(breaker.guard(ref, cold('s-a-f|', values)), '5ms ^').toBe(
        '5ms #',
        undefined,
        errorOf('circuit_open', { retryAfterMs: 6, retryable: false, provider: 'acme' }),
      );
      expectObservable(breaker.guard(ref, cold('s-a-f|', values)), '11ms ^').toBe('11ms s-a-f|', values);
      expectObservable(breaker.guard(ref, cold('s-a-f|', values)), '12ms ^').toBe(
        '12ms #',
        undefined,
        errorOf('circuit_open', { retryAfterMs: undefined }),
      );
      expectObservable(breaker.guard(ref, cold('s-a-f|', values)), '20ms ^').toBe('20ms s-a-f|', values);
    });
    expect(states(transitions)).toEqual(['1:closed>open', '11:open>half-open', '15:half-open>closed']);
  });

  it('errors that do not count pass through and never trip', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('s#', values, invalid))).toBe('s#', values, invalid);
      expectObservable(breaker.guard(ref, cold('s#', values, invalid)), '2ms ^').toBe(
        '2ms s#',
        values,
        invalid,
      );
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('trips on the failure rate over the window with a minimum of calls; old outcomes leave the window', () => {
    const { breaker, scheduler } = setup({
      consecutiveFailures: 100,
      failureRate: 0.5,
      minimumCalls: 4,
      windowMs: 100,
      buckets: 10,
    });
    scheduler.run(({ cold, expectObservable }) => {
      // Two failures long ago, then success, failure, success: 1 of 3 in the window, closed.
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '1ms ^').toBe(
        '1ms #',
        undefined,
        overloaded,
      );
      expectObservable(breaker.guard(ref, cold('f|', values)), '200ms ^').toBe('200ms f|', values);
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '202ms ^').toBe(
        '202ms #',
        undefined,
        overloaded,
      );
      expectObservable(breaker.guard(ref, cold('f|', values)), '204ms ^').toBe('204ms f|', values);
      // The fourth call in the window fails: 2 of 4 = 0.5, open.
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '206ms ^').toBe(
        '206ms #',
        undefined,
        overloaded,
      );
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'open', openedAt: 206 });
  });

  it('a failed probe reopens for longer (growing, capped)', () => {
    const { breaker, transitions, scheduler } = setup({ consecutiveFailures: 1, openMs: 10, maxOpenMs: 25 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '10ms ^').toBe(
        '10ms #',
        undefined,
        overloaded,
      );
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '30ms ^').toBe(
        '30ms #',
        undefined,
        overloaded,
      );
      expectObservable(breaker.guard(ref, cold('f|', values)), '54ms ^').toBe(
        '54ms #',
        undefined,
        errorOf('circuit_open', { retryAfterMs: 1 }),
      );
    });
    expect(
      transitions.filter((t) => t.to.state === 'open').map((t) => (t.to as { until: number }).until),
    ).toEqual([10, 30, 55]);
  });

  it('never-ending: unsubscribing a probe releases its slot (neither success nor failure)', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      const stalled = cold('s-', values);
      expectObservable(breaker.guard(ref, stalled), '10ms ^--!').toBe('10ms s', values);
      expectSubscriptions(stalled.subscriptions).toBe('10ms ^--!');
      expectObservable(breaker.guard(ref, cold('f|', values)), '14ms ^').toBe('14ms f|', values);
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'closed' });
  });

  it('a synchronous probe cut by take before its finish has no outcome', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      expectObservable(breaker.guard(ref, cold('(saf|)', values)).pipe(take(2)), '10ms ^').toBe(
        '10ms (sa|)',
        values,
      );
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'half-open', probes: 0 });
  });

  it('a truly synchronous probe cut by take is stopped at once, without an outcome', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
    });
    scheduler.frame = 100;
    const { source, pulled } = pulledSource([start(), text('a'), text('b'), usage(2), finish(2)]);
    const got: TokenEvent[] = [];
    breaker
      .guard(ref, source)
      .pipe(take(2))
      .subscribe((e) => got.push(e));
    expect(pulled).toEqual([start(), text('a')]);
    expect(breaker.state(ref)).toMatchObject({ state: 'half-open', probes: 0 });
  });

  it('a shouldCount that throws fails the call with that error and counts nothing', () => {
    const { breaker, scheduler } = setup({
      consecutiveFailures: 1,
      shouldCount: () => {
        throw new Error('predicate broke');
      },
    });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe(
        '#',
        undefined,
        errorOf('unknown', { message: 'predicate broke' }),
      );
    });
    expect(breaker.state(ref)).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('a stale success (admitted before the circuit opened) does not close it', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('s----f|', values))).toBe('s----f|', values);
      expectObservable(breaker.guard(ref, cold('#', values, overloaded)), '1ms ^').toBe(
        '1ms #',
        undefined,
        overloaded,
      );
    });
    expect(scheduler.now()).toBeLessThan(11);
    expect(breaker.state(ref)).toMatchObject({ state: 'open', until: 11 });
  });

  it('watch() emits the open → half-open turn on time', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      const seen: string[] = [];
      const watching = breaker.watch(ref).subscribe((s) => seen.push(`${scheduler.now()}:${s.state}`));
      breaker.guard(ref, cold('--#', values, overloaded)).subscribe({ error: () => undefined });
      expectObservable(cold('-')).toBe('-');
      scheduler.schedule(() => {
        watching.unsubscribe();
        expect(seen).toEqual(['0:closed', '2:open', '12:half-open']);
      }, 20);
    });
  });

  it('circuits are per provider and model (the request model wins)', async () => {
    const breaker = createCircuitBreaker({ consecutiveFailures: 1 });
    const model = scriptedModel({ provider: 'acme', model: 'm1', scripts: [{ fail: 'overloaded' }, {}] });
    const guarded = model.pipe(withCircuitBreaker(breaker));
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'overloaded' });
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'circuit_open' });
    expect(model.calls()).toBe(1);
    expect((await collect(guarded.stream({ ...request, model: 'm2' }))).text).toBe('ok');
    expect(breaker.state({ provider: 'acme', model: 'm2' })).toMatchObject({ state: 'closed' });
    expect(model.active()).toBe(0);
  });

  it('two breakers over one store share their circuits (as two processes would)', () => {
    const scheduler = testScheduler();
    const store = memoryStore({ now: () => scheduler.now() });
    const a = createCircuitBreaker({ consecutiveFailures: 1, store, scheduler });
    const b = createCircuitBreaker({ consecutiveFailures: 1, store, scheduler });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(a.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
      expectObservable(b.guard(ref, cold('f|', values)), '1ms ^').toBe(
        '1ms #',
        undefined,
        errorOf('circuit_open'),
      );
    });
  });

  it('reset() closes a circuit', () => {
    const { breaker, scheduler } = setup({ consecutiveFailures: 1 });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(breaker.guard(ref, cold('#', values, overloaded))).toBe('#', undefined, overloaded);
    });
    breaker.reset(ref);
    expect(breaker.state(ref)).toMatchObject({ state: 'closed', epoch: 2 });
  });
});

/** A store that answers every call with a promise (as Redis would), optionally failing. */
function asyncStore(inner: StateStore, fail = false): StateStore {
  // Microtask promises: asynchronous like a network store, yet settled before any timer runs.
  const later = <T>(value: () => T): Promise<T> =>
    Promise.resolve().then(() => (fail ? Promise.reject(new Error('store down')) : value()));
  return {
    get: (k) => later(() => inner.get(k) as string | undefined),
    set: (k, v, o) => later(() => inner.set(k, v, o) as void),
    delete: (k) => later(() => inner.delete(k) as void),
    compareAndSet: (k, e, n, o) => later(() => inner.compareAndSet(k, e, n, o) as boolean),
    increment: (k, d, o) => later(() => inner.increment(k, d, o) as never),
    takeTokens: (k, t) => later(() => inner.takeTokens(k, t) as never),
    append: (k, v, o) => later(() => inner.append(k, v, o) as void),
    list: (k) => later(() => inner.list(k) as readonly string[]),
    keys: (p) => later(() => inner.keys(p) as readonly string[]),
    close: () => later(() => inner.close() as void),
  };
}

/** Lets every pending store promise settle (they are microtasks; a timer runs after all of them). */
const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('circuit breaker over an asynchronous store', () => {
  it('works the same with promises', async () => {
    const breaker = createCircuitBreaker({
      consecutiveFailures: 1,
      openMs: 60_000,
      store: asyncStore(memoryStore()),
    });
    const model = scriptedModel({ provider: 'acme', model: 'm1', scripts: [{ fail: 'unavailable' }, {}] });
    const guarded = model.pipe(withCircuitBreaker(breaker));
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'unavailable' });
    await settled();
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'circuit_open' });
    await expect(breaker.state(ref)).resolves.toMatchObject({ state: 'open' });
  });

  it('fails open when the store is down', async () => {
    const breaker = createCircuitBreaker({ consecutiveFailures: 1, store: asyncStore(memoryStore(), true) });
    const model = scriptedModel({ scripts: [{ fail: 'unavailable' }, {}] });
    const guarded = model.pipe(withCircuitBreaker(breaker));
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'unavailable' });
    expect((await collect(guarded.stream(request))).text).toBe('ok');
    await expect(breaker.state(ref)).resolves.toMatchObject({ state: 'closed' });
  });

  it('unsubscribing while the store answers gives back the probe slot', async () => {
    const store = memoryStore();
    const breaker = createCircuitBreaker({ consecutiveFailures: 1, openMs: 0, store: asyncStore(store) });
    const model = scriptedModel({ provider: 'acme', model: 'm1', scripts: [{ fail: 'unavailable' }, {}] });
    const guarded = model.pipe(withCircuitBreaker(breaker));
    await expect(collect(guarded.stream(request))).rejects.toMatchObject({ kind: 'unavailable' });
    await settled();
    const early = guarded.stream(request).subscribe();
    early.unsubscribe();
    await settled();
    await expect(breaker.state(ref)).resolves.toMatchObject({ state: 'half-open', probes: 0 });
    expect(model.calls()).toBe(1);
    expect((await collect(guarded.stream(request))).text).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Model-based test: the breaker against a small reference state machine, under any sequence of calls,
// outcomes and clock steps.

interface Params {
  consecutive: number;
  rate: number;
  minCalls: number;
  windowMs: number;
  buckets: number;
  openMs: number;
  maxOpenMs: number;
  probes: number;
  toClose: number;
}

interface RefCall {
  phase: number;
  probe: boolean;
}

/** The reference: written plainly, from the rules in the issue, without the implementation's representation. */
class Reference {
  state: 'closed' | 'open' | 'half-open' = 'closed';
  phase = 0;
  consecutive = 0;
  outcomes: { at: number; ok: boolean }[] = [];
  until = 0;
  opens = 0;
  probes = 0;
  successes = 0;
  constructor(readonly p: Params) {}

  settle(now: number): void {
    if (this.state === 'open' && now >= this.until) {
      this.state = 'half-open';
      this.phase++;
      this.probes = 0;
      this.successes = 0;
    }
  }
  begin(now: number): RefCall | { rejected: number | undefined } {
    this.settle(now);
    if (this.state === 'closed') return { phase: this.phase, probe: false };
    if (this.state === 'open') return { rejected: this.until - now };
    if (this.probes >= this.p.probes) return { rejected: undefined };
    this.probes++;
    return { phase: this.phase, probe: true };
  }
  private open(now: number, opens: number): void {
    this.state = 'open';
    this.phase++;
    this.opens = opens;
    this.until = now + Math.min(this.p.maxOpenMs, this.p.openMs * 2 ** (opens - 1));
  }
  success(call: RefCall, now: number): void {
    this.settle(now);
    if (call.phase !== this.phase) return;
    if (this.state === 'closed') {
      this.consecutive = 0;
      this.outcomes.push({ at: now, ok: true });
    } else if (this.state === 'half-open' && call.probe) {
      this.successes++;
      this.probes = Math.max(0, this.probes - 1);
      if (this.successes >= this.p.toClose) {
        this.state = 'closed';
        this.phase++;
        this.consecutive = 0;
        this.outcomes = [];
        this.opens = 0;
      }
    }
  }
  failure(call: RefCall, now: number): void {
    this.settle(now);
    if (call.phase !== this.phase) return;
    if (this.state === 'closed') {
      this.consecutive++;
      this.outcomes.push({ at: now, ok: false });
      const bucketMs = this.p.windowMs / this.p.buckets;
      const recent = this.outcomes.filter(
        (o) => Math.floor(o.at / bucketMs) > Math.floor(now / bucketMs) - this.p.buckets,
      );
      const failures = recent.filter((o) => !o.ok).length;
      if (
        this.consecutive >= this.p.consecutive ||
        (recent.length >= this.p.minCalls && failures / recent.length >= this.p.rate)
      ) {
        this.outcomes = [];
        this.consecutive = 0;
        this.open(now, 1);
      }
    } else if (this.state === 'half-open' && call.probe) {
      this.open(now, this.opens + 1);
    }
  }
  release(call: RefCall, now: number): void {
    this.settle(now);
    if (call.phase === this.phase && call.probe && this.state === 'half-open') {
      this.probes = Math.max(0, this.probes - 1);
    }
  }
}

interface Real {
  clock: number;
  breaker: ReturnType<typeof createCircuitBreaker>;
  calls: { subject: Subject<TokenEvent>; subscription: Subscription; ref: RefCall }[];
}

interface World {
  model: Reference;
  /** Calls admitted and not yet ended. */
  pending: number;
}

type Cmd = fc.Command<World, Real>;

function check(model: Reference, real: Real): void {
  model.settle(real.clock);
  const s = real.breaker.state(ref) as CircuitState;
  expect(s.state).toBe(model.state);
  switch (s.state) {
    case 'closed':
      expect(s.consecutiveFailures).toBe(model.consecutive);
      break;
    case 'open':
      expect(s.until).toBe(model.until);
      expect(s.opens).toBe(model.opens);
      break;
    case 'half-open':
      expect(s.probes).toBe(model.probes);
      expect(s.successes).toBe(model.successes);
      break;
  }
}

class Begin implements Cmd {
  check = (): boolean => true;
  run(world: World, real: Real): void {
    const expected = world.model.begin(real.clock);
    const subject = new Subject<TokenEvent>();
    let error: unknown;
    const subscription = real.breaker.guard(ref, subject).subscribe({ error: (e) => (error = e) });
    if ('rejected' in expected) {
      expect(error).toMatchObject({ kind: 'circuit_open', retryAfterMs: expected.rejected });
    } else {
      expect(error).toBeUndefined();
      real.calls.push({ subject, subscription, ref: expected });
      world.pending++;
    }
    check(world.model, real);
  }
  toString = (): string => 'begin';
}

class End implements Cmd {
  constructor(
    readonly pick: number,
    readonly outcome: 'success' | 'failure' | 'uncounted' | 'abandon' | 'truncated',
  ) {}
  check = (world: Readonly<World>): boolean => world.pending > 0;
  run(world: World, real: Real): void {
    const [call] = real.calls.splice(this.pick % real.calls.length, 1);
    if (!call) throw new Error('no call in flight');
    world.pending--;
    const now = real.clock;
    switch (this.outcome) {
      case 'success':
        call.subject.next(values.f as TokenEvent);
        call.subject.complete();
        world.model.success(call.ref, now);
        break;
      case 'failure':
        call.subject.error(overloaded);
        world.model.failure(call.ref, now);
        break;
      case 'truncated':
        call.subject.complete();
        world.model.failure(call.ref, now);
        break;
      case 'uncounted':
        call.subject.error(invalid);
        world.model.release(call.ref, now);
        break;
      case 'abandon':
        call.subscription.unsubscribe();
        world.model.release(call.ref, now);
        break;
    }
    check(world.model, real);
  }
  toString = (): string => `end(${this.pick}, ${this.outcome})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  run(world: World, real: Real): void {
    real.clock += this.ms;
    check(world.model, real);
  }
  toString = (): string => `advance(${this.ms})`;
}

describe('circuit breaker (model-based)', () => {
  it('matches the reference state machine under any sequence of calls, outcomes and clock steps', () => {
    const params = fc.record<Params>({
      consecutive: fc.integer({ min: 1, max: 10 }),
      rate: fc.constantFrom(0.25, 0.5, 0.75, 1),
      minCalls: fc.integer({ min: 1, max: 6 }),
      windowMs: fc.integer({ min: 100, max: 2_000 }),
      buckets: fc.integer({ min: 1, max: 5 }),
      openMs: fc.integer({ min: 10, max: 500 }),
      maxOpenMs: fc.integer({ min: 10, max: 2_000 }),
      probes: fc.integer({ min: 1, max: 3 }),
      toClose: fc.integer({ min: 1, max: 3 }),
    });
    const commands = fc.commands(
      [
        fc.constant(new Begin()),
        fc
          .tuple(
            fc.nat(10),
            fc.constantFrom('success', 'failure', 'uncounted', 'abandon', 'truncated') as fc.Arbitrary<
              End['outcome']
            >,
          )
          .map(([pick, outcome]) => new End(pick, outcome)),
        fc
          .oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 1_500 }))
          .map((ms) => new Advance(ms)),
      ],
      { maxCommands: 80, size: 'large' },
    );
    fc.assert(
      fc.property(params, commands, (p, cmds) => {
        const maxOpenMs = Math.max(p.openMs, p.maxOpenMs);
        const real: Real = { clock: 0, breaker: undefined as never, calls: [] };
        const scheduler: SchedulerLike = {
          now: () => real.clock,
          schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'],
        };
        real.breaker = createCircuitBreaker({
          consecutiveFailures: p.consecutive,
          failureRate: p.rate,
          minimumCalls: p.minCalls,
          windowMs: p.windowMs,
          buckets: p.buckets,
          openMs: p.openMs,
          maxOpenMs,
          openBackoffFactor: 2,
          halfOpenProbes: p.probes,
          successesToClose: p.toClose,
          scheduler,
          store: memoryStore({ now: () => real.clock }),
        });
        fc.modelRun(() => ({ model: { model: new Reference({ ...p, maxOpenMs }), pending: 0 }, real }), cmds);
        for (const call of real.calls) call.subscription.unsubscribe();
      }),
      { numRuns: 200 },
    );
  });
});
