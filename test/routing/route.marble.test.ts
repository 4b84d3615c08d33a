import type { Observable } from 'rxjs';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { costOf } from '../../src/core/catalog.js';
import { LLMError } from '../../src/core/errors.js';
import type { RouteEvent, TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { createLedger } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { route } from '../../src/routing/route.js';
import { pulledSource } from '../operators/support.js';
import { spec } from './support.js';

type Helpers = Parameters<Parameters<TestScheduler['run']>[0]>[0];
function withScheduler(body: (ts: TestScheduler, helpers: Helpers) => void): void {
  const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  ts.run((helpers) => body(ts, helpers));
}

const u = { inputTokens: 8, outputTokens: 1 };
const values: Record<string, TokenEvent> = {
  s: { type: 'start', provider: 'sim', model: 'a' },
  a: { type: 'text', text: 'w' },
  f: { type: 'finish', reason: 'stop', usage: u, cost: costOf(u, undefined) },
};
const SPEC = spec('sim', 'a', 1, 2, 0.9);
const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 10 };
const routeEvent: RouteEvent = {
  type: 'route',
  chosen: { provider: 'sim', model: 'a' },
  fallbacks: [],
  estimatedCost: costOf({ inputTokens: 8, outputTokens: 10 }, { input: 1, output: 2 }).total,
  reason: 'priority: sim/a (est. $0.000028, quality 0.9), first of 1 eligible',
};
const routedOver = (source: Observable<TokenEvent>, ts: TestScheduler) =>
  route({ specs: [SPEC], scheduler: ts })([
    defineModel({ provider: 'sim', model: 'a', stream: () => source }),
  ]);

describe('route() (marbles)', () => {
  it('empty: the route event, then whatever the model does (here: complete)', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TokenEvent>('|');
      expectObservable(routedOver(source, ts).stream(request)).toBe('(r|)', { r: routeEvent });
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('one and many events follow the route event unchanged', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions }) => {
      // A group takes as many frames as it has characters: the route event and start share frame 0.
      const source = cold('s---a-a-f|', values);
      expectObservable(routedOver(source, ts).stream(request)).toBe('(rs)a-a-f|', {
        ...values,
        r: routeEvent,
      });
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('an error passes through', () => {
    withScheduler((ts, { cold, expectObservable }) => {
      const error = new LLMError('overloaded', 'busy');
      expectObservable(routedOver(cold('s---#', values, error), ts).stream(request)).toBe(
        '(rs)#',
        { ...values, r: routeEvent },
        error,
      );
    });
  });

  it('never-ending: unsubscribing unsubscribes the model, and the in-flight count returns to 0', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('s---a-----', values);
      const routed = routedOver(source, ts);
      expectObservable(routed.stream(request), '^-------!').toBe('(rs)a---', { ...values, r: routeEvent });
      expectSubscriptions(source.subscriptions).toBe('^-------!');
      flush();
      expect(routed.explain(request).ranked[0]?.stats.inFlight).toBe(0);
    });
  });

  it('a synchronous source cut by take() stops there', () => {
    const { source, pulled } = pulledSource([...'saaaf'].map((key) => values[key]!));
    const sync = defineModel({ provider: 'sim', model: 'a', stream: () => source });
    const seen: TokenEvent[] = [];
    route({ specs: [SPEC] })([sync])
      .stream(request)
      .pipe(take(3))
      .subscribe((e) => seen.push(e));
    expect(seen.map((e) => e.type)).toEqual(['route', 'start', 'text']);
    expect(pulled).toHaveLength(2);
  });
});

describe('withLedger() (marbles)', () => {
  it('passes events through unchanged and unsubscribes upstream with its subscriber', () => {
    withScheduler((ts, { cold, expectObservable, expectSubscriptions }) => {
      const ledger = createLedger({ scheduler: ts });
      const source = cold('s-a-a---', values);
      const model = defineModel({ provider: 'sim', model: 'a', stream: () => source }).pipe(
        withLedger(ledger),
      );
      expectObservable(model.stream(request), '^-----!').toBe('s-a-a-', values);
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });
});
