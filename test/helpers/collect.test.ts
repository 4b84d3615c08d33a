import { from, NEVER, Observable, of, take, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import {
  fromAsyncIterable,
  fromReadableStream,
  toAsyncIterable,
  toReadableStream,
} from '../../src/helpers/interop.js';
import { textDeltas } from '../../src/helpers/textDeltas.js';

const usage = { inputTokens: 5, outputTokens: 2 };
const events: TokenEvent[] = [
  { type: 'start', provider: 'p', model: 'm' },
  { type: 'text', text: 'Hel' },
  { type: 'text', text: 'lo' },
  { type: 'tool-call', index: 0, id: 'c1', name: 'f', args: { a: 1 }, rawArgs: '{"a":1}' },
  { type: 'usage', usage },
  { type: 'finish', reason: 'stop', raw: 'stop', usage, cost: { input: 0.1, output: 0.2, total: 0.3 } },
];

describe('collect', () => {
  it('assembles text, tool calls, usage, cost and timings', async () => {
    let t = 0;
    const clock = () => (t += 10);
    const done = await collect(from(events), clock);
    expect(done).toMatchObject({
      text: 'Hello',
      finishReason: 'stop',
      rawFinishReason: 'stop',
      usage,
      cost: { total: 0.3 },
      provider: 'p',
      model: 'm',
      cached: false,
      failures: [],
    });
    expect(done.toolCalls).toHaveLength(1);
    expect(done.timings.timeToFirstTokenMs).toBe(10);
    expect(done.timings.durationMs).toBeGreaterThan(0);
  });

  it('clears on reset and records failures', async () => {
    const error = new LLMError('network', 'reset');
    const stream = of<TokenEvent[]>(
      { type: 'start', provider: 'a', model: 'x' },
      { type: 'text', text: 'partial' },
      { type: 'reset', from: { provider: 'a', model: 'x' }, error },
      ...events,
    );
    const done = await collect(stream);
    expect(done.text).toBe('Hello');
    expect(done.failures).toEqual([{ from: { provider: 'a', model: 'x' }, error }]);
  });

  it('rejects a stream without finish as incomplete, and passes errors through', async () => {
    await expect(collect(from(events.slice(0, 3)))).rejects.toMatchObject({
      kind: 'incomplete',
      provider: 'p',
    });
    await expect(collect(throwError(() => new LLMError('auth', 'no')))).rejects.toMatchObject({
      kind: 'auth',
    });
    await expect(collect(of())).rejects.toMatchObject({ kind: 'incomplete' });
  });
});

describe('textDeltas', () => {
  it('emits text and null on reset', () => {
    const out: (string | null)[] = [];
    const error = new LLMError('network', 'x');
    from<TokenEvent[]>([
      events[1]!,
      { type: 'reset', from: { provider: 'p', model: 'm' }, error },
      events[2]!,
    ])
      .pipe(textDeltas())
      .subscribe((d) => out.push(d));
    expect(out).toEqual(['Hel', null, 'lo']);
  });
});

describe('interop', () => {
  it('round-trips an Observable through an AsyncIterable', async () => {
    const seen: TokenEvent[] = [];
    for await (const e of toAsyncIterable(from(events))) seen.push(e);
    expect(seen).toEqual(events);
    const back: TokenEvent[] = [];
    await new Promise<void>((resolve) =>
      fromAsyncIterable(toAsyncIterable(from(events))).subscribe({
        next: (e) => back.push(e),
        complete: resolve,
      }),
    );
    expect(back).toEqual(events);
  });

  it('unsubscribes when the loop is left early, and throws errors', async () => {
    let unsubscribed = false;
    const source = new Observable<number>((s) => {
      s.next(1);
      s.next(2);
      return () => (unsubscribed = true);
    });
    for await (const n of toAsyncIterable(source)) if (n === 1) break;
    expect(unsubscribed).toBe(true);
    const failing = toAsyncIterable(throwError(() => new LLMError('timeout', 't')));
    await expect(
      (async () => {
        for await (const _ of failing) void _;
      })(),
    ).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('calls return() on the iterator when unsubscribed, so a generator runs its finally', async () => {
    let finalized = false;
    async function* gen() {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        finalized = true;
      }
    }
    const values: number[] = [];
    const sub = fromAsyncIterable(gen).subscribe((v) => {
      values.push(v);
      if (v === 2) sub.unsubscribe();
    });
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(values).toEqual([0, 1, 2]);
    expect(finalized).toBe(true);
  });

  it('round-trips through a web ReadableStream and cancels upstream', async () => {
    const read: TokenEvent[] = [];
    await new Promise<void>((resolve) =>
      fromReadableStream(toReadableStream(from(events))).subscribe({
        next: (e) => read.push(e),
        complete: resolve,
      }),
    );
    expect(read).toEqual(events);
    let unsubscribed = false;
    const stream = toReadableStream(new Observable<number>(() => () => (unsubscribed = true)));
    await stream.cancel();
    expect(unsubscribed).toBe(true);
    const reader = toReadableStream(NEVER.pipe(take(1)));
    await reader.cancel();
  });
});
