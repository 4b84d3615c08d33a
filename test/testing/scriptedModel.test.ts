import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('scriptedModel', () => {
  it('answers with the event model, cost from its pricing', async () => {
    const m = scriptedModel({ scripts: [{ text: 'Hello there' }], pricing: { input: 1, output: 2 } });
    const done = await collect(m.stream(request));
    expect(done.text).toBe('Hello there');
    expect(done.usage).toEqual({ inputTokens: 10, outputTokens: 2 });
    expect(done.cost.total).toBeCloseTo((10 * 1 + 2 * 2) / 1e6);
    expect(m.calls()).toBe(1);
    expect(m.active()).toBe(0);
    expect(m.requests).toEqual([request]);
  });

  it('paces chunks on its scheduler (marble)', () => {
    newScheduler().run(({ expectObservable }) => {
      const paced = scriptedModel({
        scripts: [
          {
            text: ['a', 'b'],
            firstTokenDelayMs: 3,
            tokenDelayMs: 2,
            usage: { inputTokens: 1, outputTokens: 2 },
          },
        ],
      });
      const usage = { inputTokens: 1, outputTokens: 2 };
      expectObservable(paced.stream(request)).toBe('s 2ms a 1ms (buf|)', {
        s: { type: 'start', provider: 'scripted', model: 'scripted-1' },
        a: { type: 'text', text: 'a' },
        b: { type: 'text', text: 'b' },
        u: { type: 'usage', usage },
        f: { type: 'finish', reason: 'stop', usage, cost: { input: 0, output: 0, total: 0 } },
      } satisfies Record<string, TokenEvent>);
    });
  });

  it('fails, truncates and stalls where the script says', async () => {
    const failing = scriptedModel({ scripts: [{ text: 'a b c', fail: 'overloaded', failAfter: 2 }] });
    const seen: TokenEvent[] = [];
    const error = await new Promise<unknown>((resolve) =>
      failing.stream(request).subscribe({ next: (e) => seen.push(e), error: resolve }),
    );
    expect(LLMError.isInstance(error) && error.kind).toBe('overloaded');
    expect(seen.map((e) => e.type)).toEqual(['start', 'text', 'text']);
    await expect(
      collect(scriptedModel({ scripts: [{ truncateAfter: 0 }] }).stream(request)),
    ).rejects.toMatchObject({
      kind: 'incomplete',
    });
    const stalled = scriptedModel({ scripts: [{ text: 'a b', stallAfter: 1 }] });
    const events: TokenEvent[] = [];
    const sub = stalled.stream(request).subscribe((e) => events.push(e));
    expect(events.map((e) => e.type)).toEqual(['start', 'text']);
    expect(stalled.active()).toBe(1);
    sub.unsubscribe();
    expect(stalled.active()).toBe(0);
  });

  it('cancels pending delays when unsubscribed (sync source cut by take)', () => {
    newScheduler().run(({ expectObservable, flush }) => {
      const m = scriptedModel({ scripts: [{ text: ['a', 'b'], tokenDelayMs: 5 }] });
      expectObservable(m.stream(request).pipe(take(2))).toBe('(sa|)', {
        s: { type: 'start', provider: 'scripted', model: 'scripted-1' },
        a: { type: 'text', text: 'a' },
      });
      flush();
      expect(m.active()).toBe(0);
    });
  });

  it('repeats the last script and accepts a function of the call number', async () => {
    const m = scriptedModel({ scripts: (_req, call) => ({ text: `call ${call}` }) });
    expect((await collect(m.stream(request))).text).toBe('call 0');
    expect((await collect(m.stream(request))).text).toBe('call 1');
  });
});
