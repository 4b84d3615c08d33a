import fc from 'fast-check';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { from, Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/core/catalog.js';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { createStreamStore } from '../../src/react/streamStore.js';
import { IDLE_STATE, initialProgress, reduceTokenStream } from '../../src/react/tokenStreamState.js';
import { useTokenStream } from '../../src/react/useTokenStream.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const claude = { provider: 'anthropic', model: 'claude-haiku-4-5' } as const;
const gpt = { provider: 'openai', model: 'gpt-4o-mini' } as const;
const overloaded = new LLMError('overloaded', 'Overloaded', { status: 529, ...claude });

/** A source that counts subscriptions and teardowns, driven by a Subject. */
function tracked() {
  const subject = new Subject<TokenEvent>();
  const counts = { subscribed: 0, tornDown: 0 };
  const source = new Observable<TokenEvent>((subscriber) => {
    counts.subscribed++;
    const sub = subject.subscribe(subscriber);
    return () => {
      counts.tornDown++;
      sub.unsubscribe();
    };
  });
  return { subject, counts, source };
}

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('createStreamStore', () => {
  it('is idle without a source, and stays so', () => {
    const store = createStreamStore(null);
    expect(store.getSnapshot()).toBe(IDLE_STATE);
    const off = store.subscribe(() => expect.fail('no change expected'));
    store.stop();
    off();
    expect(store.getSnapshot()).toBe(IDLE_STATE);
    expect(IDLE_STATE.status).toBe('idle');
  });

  it('subscribes lazily: only when the first listener arrives (or on connect)', () => {
    const { source, counts } = tracked();
    const store = createStreamStore(source);
    expect(store.getSnapshot().status).toBe('streaming');
    expect(counts.subscribed).toBe(0);
    store.subscribe(() => undefined);
    store.subscribe(() => undefined);
    expect(counts.subscribed).toBe(1);
    store.connect();
    expect(counts.subscribed).toBe(1);
  });

  it('renders a provider stream: text so far, provider, usage, exact cost at finish, done', async () => {
    const model = scriptedModel({
      ...gpt,
      pricing: { input: 0.15, output: 0.6 },
      scripts: [{ text: 'Hello there, world', usage: { inputTokens: 12, outputTokens: 3 } }],
    });
    const store = createStreamStore(model.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
    const texts: string[] = [];
    store.subscribe(() => texts.push(store.getSnapshot().text));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const view = store.getSnapshot();
    expect(view).toMatchObject({ status: 'done', text: 'Hello there, world', ...gpt, finishReason: 'stop' });
    expect(view.usage).toEqual({ inputTokens: 12, outputTokens: 3 });
    expect(view.cost).toBeCloseTo((12 * 0.15 + 3 * 0.6) / 1e6, 15);
    expect(view.costIsEstimate).toBe(false);
    expect(texts).toContain('Hello');
    expect(texts).toContain('Hello there,');
  });

  it('keeps the snapshot identity until something changes, and never mutates an old snapshot', () => {
    const { source, subject } = tracked();
    const store = createStreamStore(source);
    store.subscribe(() => undefined);
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    subject.next({ type: 'start', ...gpt });
    const second = store.getSnapshot();
    expect(second).not.toBe(first);
    expect(store.getSnapshot()).toBe(second);
    subject.next({ type: 'text', text: 'a' });
    expect(second.text).toBe('');
    expect(Object.isFrozen(store.getSnapshot())).toBe(true);
    expect(store.getSnapshot().text).toBe('a');
  });

  it('records a fallback before content, and a reset clears the text and names the switch', () => {
    const { source, subject } = tracked();
    const store = createStreamStore(source);
    store.subscribe(() => undefined);
    subject.next({ type: 'fallback', from: claude, error: overloaded });
    subject.next({ type: 'start', ...gpt });
    subject.next({ type: 'text', text: 'Partial answer' });
    expect(store.getSnapshot()).toMatchObject({ provider: 'openai', text: 'Partial answer', resets: 0 });
    const beforeReset = store.getSnapshot().cost;
    expect(beforeReset).toBeGreaterThan(0);

    subject.next({ type: 'reset', from: gpt, error: new LLMError('network', 'reset') });
    const cleared = store.getSnapshot();
    expect(cleared).toMatchObject({ text: '', resets: 1, provider: 'openai' });
    expect(cleared.fallbacks.map((f) => [f.type, f.from.provider, f.error.kind])).toEqual([
      ['fallback', 'anthropic', 'overloaded'],
      ['reset', 'openai', 'network'],
    ]);
    // The voided attempt was billed: its estimate stays in the running total.
    expect(cleared.cost).toBe(beforeReset);

    subject.next({ type: 'start', ...claude });
    subject.next({ type: 'text', text: 'Fresh' });
    subject.next({
      type: 'finish',
      reason: 'stop',
      usage: { inputTokens: 10, outputTokens: 1 },
      cost: { input: 0.00001, output: 0.000005, total: 0.000015 },
    });
    subject.complete();
    const done = store.getSnapshot();
    expect(done).toMatchObject({ status: 'done', text: 'Fresh', provider: 'anthropic' });
    expect(done.cost).toBeCloseTo(beforeReset + 0.000015, 15);
    expect(done.costIsEstimate).toBe(true);
  });

  it('estimates the running cost from reported input and streamed output at the catalog price', () => {
    const catalog = createCatalog([
      {
        ...gpt,
        pricing: { input: 1, output: 2 },
        contextWindow: 1000,
        maxOutputTokens: 100,
        capabilities: [],
        quality: 0.5,
        local: false,
      },
    ]);
    const { source, subject } = tracked();
    const store = createStreamStore(source, { catalog });
    store.subscribe(() => undefined);
    subject.next({ type: 'start', ...gpt });
    subject.next({ type: 'text', text: 'x'.repeat(40) }); // 10 tokens at 4 characters each
    expect(store.getSnapshot().cost).toBeCloseTo((10 * 2) / 1e6, 15);
    subject.next({ type: 'usage', usage: { inputTokens: 100, outputTokens: 1 } });
    expect(store.getSnapshot().cost).toBeCloseTo((100 * 1 + 10 * 2) / 1e6, 15);
    expect(store.getSnapshot().costIsEstimate).toBe(true);
  });

  it('an unknown model costs 0 until its finish', () => {
    const store = createStreamStore(
      from<TokenEvent[]>([
        { type: 'start', provider: 'x', model: 'y' },
        { type: 'text', text: 'hello' },
      ]),
    );
    store.connect();
    expect(store.getSnapshot()).toMatchObject({ status: 'done', cost: 0, text: 'hello' });
  });

  it('a failure becomes status error with a typed LLMError', () => {
    const { source, subject } = tracked();
    const store = createStreamStore(source);
    store.subscribe(() => undefined);
    subject.next({ type: 'start', ...gpt });
    subject.next({ type: 'text', text: 'Hel' });
    subject.error(overloaded);
    expect(store.getSnapshot()).toMatchObject({ status: 'error', text: 'Hel', error: overloaded });
    const other = createStreamStore(new Observable<TokenEvent>((s) => s.error(new Error('boom'))));
    other.connect();
    expect(LLMError.isInstance(other.getSnapshot().error)).toBe(true);
    expect(other.getSnapshot().error?.kind).toBe('unknown');
  });

  it('stop() unsubscribes upstream once, keeps the text, ignores later events, and is idempotent', () => {
    const { source, subject, counts } = tracked();
    const store = createStreamStore(source);
    let notified = 0;
    store.subscribe(() => notified++);
    subject.next({ type: 'start', ...gpt });
    subject.next({ type: 'text', text: 'Hel' });
    const before = notified;
    store.stop();
    store.stop();
    expect(counts.tornDown).toBe(1);
    expect(store.getSnapshot()).toMatchObject({ status: 'stopped', text: 'Hel' });
    expect(notified).toBe(before + 1);
    expect(subject.observed).toBe(false);
    store.connect();
    expect(counts.subscribed).toBe(1);
  });

  it('stop() before anyone watched means the source is never subscribed', () => {
    const { source, counts } = tracked();
    const store = createStreamStore(source);
    store.stop();
    store.subscribe(() => undefined);
    expect(counts.subscribed).toBe(0);
    expect(store.getSnapshot().status).toBe('stopped');
  });

  it('when the last listener leaves, upstream is aborted after a microtask (an unmount)', async () => {
    const { source, counts } = tracked();
    const store = createStreamStore(source);
    const offA = store.subscribe(() => undefined);
    const offB = store.subscribe(() => undefined);
    offA();
    offA();
    await microtask();
    expect(counts.tornDown).toBe(0);
    offB();
    expect(counts.tornDown).toBe(0);
    await microtask();
    expect(counts.tornDown).toBe(1);
    expect(store.getSnapshot().status).toBe('stopped');
  });

  it("keeps the one upstream call across StrictMode's synchronous unsubscribe and resubscribe", async () => {
    const { source, counts } = tracked();
    const store = createStreamStore(source);
    const off = store.subscribe(() => undefined);
    off();
    store.subscribe(() => undefined);
    await microtask();
    expect(counts).toEqual({ subscribed: 1, tornDown: 0 });
    expect(store.getSnapshot().status).toBe('streaming');
  });

  it('a synchronous source that finishes inside subscribe leaves nothing to tear down; a done stream is not rerun', async () => {
    let runs = 0;
    const source = new Observable<TokenEvent>((s) => {
      runs++;
      s.next({ type: 'start', ...gpt });
      s.next({ type: 'text', text: 'ok' });
      s.complete();
    });
    const store = createStreamStore(source);
    const off = store.subscribe(() => undefined);
    expect(store.getSnapshot()).toMatchObject({ status: 'done', text: 'ok' });
    off();
    await microtask();
    store.subscribe(() => undefined);
    expect(runs).toBe(1);
    expect(store.getSnapshot().status).toBe('done');
  });

  it('a listener may remove itself or another listener while being notified', () => {
    const { source, subject } = tracked();
    const store = createStreamStore(source);
    const calls: string[] = [];
    const offB = store.subscribe(() => calls.push('b'));
    const offA = store.subscribe(() => {
      calls.push('a');
      offA();
      offB();
    });
    store.subscribe(() => calls.push('c'));
    subject.next({ type: 'start', ...gpt });
    subject.next({ type: 'text', text: 'x' });
    expect(calls).toEqual(['b', 'a', 'c', 'c']);
  });
});

describe('reduceTokenStream', () => {
  const ref = fc.constantFrom(gpt, claude);
  const event: fc.Arbitrary<TokenEvent> = fc.oneof(
    ref.map((r) => ({ type: 'start' as const, ...r })),
    fc.string({ maxLength: 6 }).map((text) => ({ type: 'text' as const, text })),
    fc.string({ maxLength: 6 }).map((text) => ({ type: 'reasoning' as const, text })),
    fc
      .record({ inputTokens: fc.nat(100), outputTokens: fc.nat(100) })
      .map((usage) => ({ type: 'usage' as const, usage })),
    ref.map((from) => ({ type: 'fallback' as const, from, error: overloaded })),
    ref.map((from) => ({ type: 'reset' as const, from, error: overloaded })),
  );

  it('text is the concatenation of the text events after the last reset; provider is the latest start', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        let progress = initialProgress();
        const seen: unknown[] = [];
        for (const e of events) {
          const before = JSON.stringify(progress);
          const next = reduceTokenStream(progress, e);
          expect(JSON.stringify(progress)).toBe(before);
          seen.push(next.view.cost);
          progress = next;
        }
        const lastReset = events.map((e) => e.type).lastIndexOf('reset');
        const text = events
          .slice(lastReset + 1)
          .map((e) => (e.type === 'text' ? e.text : ''))
          .join('');
        expect(progress.view.text).toBe(text);
        const lastStart = [...events].reverse().find((e) => e.type === 'start');
        expect(progress.view.provider).toBe(lastStart?.type === 'start' ? lastStart.provider : undefined);
        expect(progress.view.resets).toBe(events.filter((e) => e.type === 'reset').length);
        expect(progress.view.fallbacks.length).toBe(
          events.filter((e) => e.type === 'reset' || e.type === 'fallback').length,
        );
        // The running cost never goes down: voided attempts stay billed.
        const costs = seen as number[];
        for (let i = 1; i < costs.length; i++) {
          const prev = costs[i - 1] as number;
          if (events[i]?.type !== 'start' && events[i]?.type !== 'usage')
            expect(costs[i]).toBeGreaterThanOrEqual(prev);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('useTokenStream', () => {
  function Line({ source }: { source: Parameters<typeof useTokenStream>[0] }) {
    const { status, text } = useTokenStream(source);
    return createElement('p', null, `${status}:${text}`);
  }

  it('renders on the server without subscribing (the stream starts in the browser)', () => {
    const { source, counts } = tracked();
    expect(renderToString(createElement(Line, { source }))).toBe('<p>streaming:</p>');
    expect(renderToString(createElement(Line, { source: null }))).toBe('<p>idle:</p>');
    expect(counts.subscribed).toBe(0);
    expect(renderToString(createElement(Line, { source: from([]) }))).toBe('<p>streaming:</p>');
  });
});
