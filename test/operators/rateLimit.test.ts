import { firstValueFrom, lastValueFrom, type Observable, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import { createRateLimiter, type RateLimiterState } from '../../src/operators/rateLimiter.js';
import { roughTokenEstimate } from '../../src/operators/rateLimitEstimate.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import {
  ask,
  byMaxTokens,
  driveAsync,
  exactModel,
  letters,
  newScheduler,
  pendingActions,
  promiseStore,
} from './rateLimitSupport.js';

/** Waits for the error of a stream, failing the test if it emits none. */
function errorOf(stream: Observable<unknown>): Promise<LLMError> {
  return new Promise((resolve, reject) =>
    stream.subscribe({
      error: (error: unknown) => (LLMError.isInstance(error) ? resolve(error) : reject(error)),
      complete: () => reject(new Error('completed without an error')),
    }),
  );
}

describe('rateLimit (marbles)', () => {
  // Marble letters: s start, t text, u usage, f finish; Q queue_full, R rate_limit, X unknown (then completion).

  it('with no limit set returns the model unchanged', () => {
    const model = scriptedModel();
    expect(rateLimit()(model)).toBe(model);
    expect(rateLimit({ maxQueue: 3 })(model)).toBe(model);
  });

  it('passes one call under the limit straight through, synchronously', () => {
    newScheduler().run(({ expectObservable }) => {
      const scheduler = newScheduler();
      const model = scriptedModel();
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, scheduler }));
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
    });
  });

  it('lets a burst through at once, then one call per refill interval', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel();
      // 60 a minute is one a second; the bucket holds two.
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, burst: { requests: 2 }, scheduler }));
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('1000ms (stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('2000ms (stuf|)');
      expectObservable(letters(limited.stream(ask())), '2500ms ^').toBe('3000ms (stuf|)');
    });
  });

  it('refills continuously: after a quiet spell a full burst goes again', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limited = scriptedModel().pipe(
        rateLimit({ requestsPerMinute: 120, burst: { requests: 2 }, scheduler }),
      );
      for (let i = 0; i < 2; i++) expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      // 2 a second: two tokens are back after one second.
      for (let i = 0; i < 2; i++) {
        expectObservable(letters(limited.stream(ask())), '1000ms ^').toBe('1000ms (stuf|)');
      }
      expectObservable(letters(limited.stream(ask())), '1000ms ^').toBe('1500ms (stuf|)');
    });
  });

  it('keeps FIFO order: a later small call waits behind an earlier large one', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      // 6000 tokens a minute = 0.1 per ms; the bucket holds 100.
      const limited = exactModel().pipe(
        rateLimit({ tokensPerMinute: 6000, burst: { tokens: 100 }, estimateTokens: byMaxTokens, scheduler }),
      );
      expectObservable(letters(limited.stream(ask(100)))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask(50)))).toBe('500ms (stuf|)');
      // At 100 ms ten tokens are back, enough for this call, but it must not overtake the 50.
      expectObservable(letters(limited.stream(ask(10))), '100ms ^').toBe('600ms (stuf|)');
    });
  });

  it('cancelling a queued call takes it out of the queue; the next one moves up', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = exactModel();
      const limiter = createRateLimiter({
        tokensPerMinute: 6000,
        burst: { tokens: 100 },
        estimateTokens: byMaxTokens,
        scheduler,
      });
      const limited = model.pipe(limiter.policy());
      expectObservable(letters(limited.stream(ask(100)))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask(100))), '^ 199ms !').toBe('');
      // Behind the cancelled head it goes as soon as the head leaves: 20 tokens are back by then.
      expectObservable(letters(limited.stream(ask(10)))).toBe('200ms (stuf|)');
      scheduler.schedule(() => {
        expect(model.calls()).toBe(2);
        expect(limiter.snapshot().lanes.scripted).toMatchObject({ queued: 0, admitted: 2, cancelled: 1 });
        expect(pendingActions(scheduler)).toBe(0);
      }, 300);
    });
  });

  it('a cancelled call frees nothing it did not take', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limited = scriptedModel().pipe(
        rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, scheduler }),
      );
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask())), '^ 499ms !').toBe('');
      // The slot the first call used is still used: the third waits for the refill, not less.
      expectObservable(letters(limited.stream(ask())), '500ms ^').toBe('1000ms (stuf|)');
    });
  });

  it('fails with queue_full when maxQueue calls already wait; room frees as the queue moves', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel();
      const limited = model.pipe(
        rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, maxQueue: 1, scheduler }),
      );
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('1000ms (stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('(Q|)');
      expectObservable(letters(limited.stream(ask())), '500ms ^').toBe('500ms (Q|)');
      expectObservable(letters(limited.stream(ask())), '1500ms ^').toBe('2000ms (stuf|)');
    });
  });

  it('with maxQueue 0 never queues: a call that cannot go at once fails with queue_full', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limited = scriptedModel().pipe(
        rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, maxQueue: 0, scheduler }),
      );
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('(Q|)');
      expectObservable(letters(limited.stream(ask())), '1000ms ^').toBe('1000ms (stuf|)');
    });
  });

  it('queue_full is typed, not retryable, and says when the queue moves', async () => {
    const scheduler = newScheduler();
    const limited = scriptedModel({ provider: 'acme', model: 'm1' }).pipe(
      rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, maxQueue: 0, scheduler }),
    );
    await lastValueFrom(limited.stream(ask()));
    const error = await errorOf(limited.stream(ask()));
    expect(error).toMatchObject({ kind: 'queue_full', retryable: false, provider: 'acme', model: 'm1' });
    expect(error.retryAfterMs).toBe(1000);
  });

  it('a call that cannot be served within maxWaitMs fails at once with rate_limit and retryAfterMs', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limited = scriptedModel().pipe(
        rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, maxWaitMs: 999, scheduler }),
      );
      expectObservable(letters(limited.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask()))).toBe('(R|)');
      // Exactly maxWaitMs is allowed.
      expectObservable(letters(limited.stream(ask())), '1ms ^').toBe('1000ms (stuf|)');
    });
    const errors: LLMError[] = [];
    scheduler.run(() => {
      const limited = scriptedModel().pipe(
        rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, maxWaitMs: 100, scheduler }),
      );
      limited.stream(ask()).subscribe();
      scheduler.schedule(() => {
        limited.stream(ask()).subscribe({ error: (e: LLMError) => errors.push(e) });
      }, 250);
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'rate_limit', retryable: true, retryAfterMs: 750 });
  });

  it('settles from the finish usage: an over-estimate comes back at once and lets the queue move', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      // The first call reserves 100 but uses 20 over 300 ms; the 80 it gives back admit the next call.
      const model = scriptedModel({
        scheduler,
        scripts: [
          { text: ['a'], firstTokenDelayMs: 300, usage: { inputTokens: 15, outputTokens: 5 } },
          { usage: { inputTokens: 50, outputTokens: 0 } },
        ],
      });
      const limited = model.pipe(
        rateLimit({ tokensPerMinute: 6000, burst: { tokens: 100 }, estimateTokens: byMaxTokens, scheduler }),
      );
      expectObservable(letters(limited.stream(ask(100)))).toBe('s 299ms (tuf|)');
      expectObservable(letters(limited.stream(ask(50)))).toBe('300ms (stuf|)');
    });
  });

  it('settles from the finish usage: an under-estimate is taken as debt and delays the next call', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel({
        scripts: [
          { usage: { inputTokens: 100, outputTokens: 50 } },
          { usage: { inputTokens: 10, outputTokens: 0 } },
        ],
      });
      const limited = model.pipe(
        rateLimit({ tokensPerMinute: 6000, burst: { tokens: 100 }, estimateTokens: byMaxTokens, scheduler }),
      );
      // Reserved 100, used 150: the bucket is 50 in debt, so 10 more tokens take 600 ms.
      expectObservable(letters(limited.stream(ask(100)))).toBe('(stuf|)');
      expectObservable(letters(limited.stream(ask(10)))).toBe('600ms (stuf|)');
    });
  });

  it('keeps a failed call’s reservation and passes its error through', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel({ scripts: [{ fail: 'overloaded' }, {}] });
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, scheduler }));
      expectObservable(letters(limited.stream(ask()))).toBe('(sO|)');
      expectObservable(letters(limited.stream(ask()))).toBe('1000ms (stuf|)');
    });
  });

  it('a never-ending call holds no timer; unsubscribing it closes the upstream', () => {
    const scheduler = newScheduler();
    const model = scriptedModel({ scripts: [{ stallAfter: 0 }] });
    scheduler.run(({ expectObservable }) => {
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, scheduler }));
      expectObservable(letters(limited.stream(ask())), '^ 5000ms !').toBe('s');
      scheduler.schedule(() => expect(model.active()).toBe(1), 10);
    });
    expect(model.active()).toBe(0);
  });

  it('a synchronous stream cut by take unsubscribes upstream', () => {
    const scheduler = newScheduler();
    const model = scriptedModel({ scripts: [{ text: 'a b c d' }] });
    scheduler.run(({ expectObservable }) => {
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, scheduler }));
      expectObservable(letters(limited.stream(ask()).pipe(take(2)))).toBe('(st|)');
    });
    expect(model.active()).toBe(0);
  });

  it('an empty answer (no content) passes through', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel({ scripts: [{ text: [] }] });
      const limited = model.pipe(rateLimit({ requestsPerMinute: 60, scheduler }));
      expectObservable(letters(limited.stream(ask()))).toBe('(suf|)');
    });
  });

  it('fails the call (and no other) when estimateTokens or key throws', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = scriptedModel();
      const throwing = model.pipe(
        rateLimit({
          tokensPerMinute: 6000,
          scheduler,
          estimateTokens: (request) => {
            if (request.maxTokens === 13) throw new Error('cannot count');
            return 1;
          },
        }),
      );
      expectObservable(letters(throwing.stream(ask(13)))).toBe('(X|)');
      expectObservable(letters(throwing.stream(ask(1)))).toBe('(stuf|)');
      const badKey = model.pipe(
        rateLimit({
          requestsPerMinute: 60,
          scheduler,
          key: () => {
            throw new Error('no key');
          },
        }),
      );
      expectObservable(letters(badKey.stream(ask()))).toBe('(X|)');
      const nan = model.pipe(rateLimit({ tokensPerMinute: 60, scheduler, estimateTokens: () => NaN }));
      expectObservable(letters(nan.stream(ask()))).toBe('(X|)');
    });
  });

  it('counts per provider by default, so providers do not wait for each other', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limiter = createRateLimiter({ requestsPerMinute: 60, burst: { requests: 1 }, scheduler });
      const a1 = scriptedModel({ provider: 'a', model: 'one' }).pipe(limiter.policy());
      const a2 = scriptedModel({ provider: 'a', model: 'two' }).pipe(limiter.policy());
      const b = scriptedModel({ provider: 'b' }).pipe(limiter.policy());
      expectObservable(letters(a1.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(a2.stream(ask()))).toBe('1000ms (stuf|)');
      expectObservable(letters(b.stream(ask()))).toBe('(stuf|)');
    });
  });

  it("with key 'model' counts each model apart (the request's model override included)", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const policy = rateLimit({ requestsPerMinute: 60, burst: { requests: 1 }, key: 'model', scheduler });
      const one = scriptedModel({ provider: 'a', model: 'one' }).pipe(policy);
      const two = scriptedModel({ provider: 'a', model: 'two' }).pipe(policy);
      expectObservable(letters(one.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(two.stream(ask()))).toBe('(stuf|)');
      expectObservable(letters(one.stream({ ...ask(), model: 'three' }))).toBe('(stuf|)');
      expectObservable(letters(one.stream(ask()))).toBe('1000ms (stuf|)');
    });
  });

  it('a call larger than the whole bucket takes the whole bucket instead of waiting forever', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const limited = exactModel().pipe(
        rateLimit({ tokensPerMinute: 6000, burst: { tokens: 100 }, estimateTokens: byMaxTokens, scheduler }),
      );
      expectObservable(letters(limited.stream(ask(10)))).toBe('(stuf|)');
      // Waits for a full bucket (90 left + 100 ms of refill), takes it, then settles at 500 used:
      // 400 in debt, so the next 10 tokens take 4100 ms.
      expectObservable(letters(limited.stream(ask(500)))).toBe('100ms (stuf|)');
      expectObservable(letters(limited.stream(ask(10)))).toBe('4200ms (stuf|)');
    });
  });

  it('reports queue length and waits on state$', () => {
    const scheduler = newScheduler();
    const seen: RateLimiterState[] = [];
    scheduler.run(() => {
      const limiter = createRateLimiter({
        requestsPerMinute: 60,
        burst: { requests: 1 },
        scheduler,
        maxQueue: 1,
      });
      const limited = scriptedModel({ provider: 'p' }).pipe(limiter.policy());
      const watching = limiter.state$.subscribe((state) => seen.push(state));
      for (let i = 0; i < 3; i++) limited.stream(ask()).subscribe({ error: () => undefined });
      scheduler.schedule(() => watching.unsubscribe(), 2000);
    });
    expect(seen[0]).toEqual({ at: 0, lanes: {} });
    const queued = seen.map((s) => `${s.at}:${s.lanes.p?.queued ?? '-'}`);
    expect(queued).toContain('0:1');
    const last = seen.at(-1)?.lanes.p;
    expect(last).toMatchObject({
      queued: 0,
      admitted: 2,
      waited: 1,
      lastWaitMs: 1000,
      totalWaitMs: 1000,
      rejected: 1,
    });
  });

  it('leaves no timer behind once every waiting call is gone', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const model = scriptedModel();
      const limited = model.pipe(
        rateLimit({ requestsPerMinute: 1, burst: { requests: 1 }, maxWaitMs: 600_000, scheduler }),
      );
      limited.stream(ask()).subscribe();
      const waiting = [1, 2, 3].map(() => limited.stream(ask()).subscribe());
      scheduler.schedule(() => {
        expect(pendingActions(scheduler)).toBeGreaterThan(0);
        for (const w of waiting) w.unsubscribe();
        expect(pendingActions(scheduler)).toBe(0);
        expect(model.active()).toBe(0);
        expect(model.calls()).toBe(1);
      }, 10);
    });
  });

  it('rejects a config that can never admit anything', () => {
    expect(() => createRateLimiter({ requestsPerMinute: 0 })).toThrow(RangeError);
    expect(() => createRateLimiter({ tokensPerMinute: 100, burst: { tokens: 0.5 } })).toThrow(RangeError);
    expect(() => createRateLimiter({ requestsPerMinute: 10, maxQueue: -1 })).toThrow(RangeError);
  });
});

describe('rateLimit with a store that answers with promises', () => {
  it('admits, queues in order and settles, like the synchronous store', async () => {
    const store = promiseStore();
    const limiter = createRateLimiter({
      requestsPerMinute: 600_000, // ten a millisecond: waits are real but tiny
      burst: { requests: 1 },
      store,
    });
    const limited = exactModel().pipe(limiter.policy());
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) => firstValueFrom(limited.stream(ask())).then(() => order.push(i))),
    );
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.snapshot().lanes.scripted).toMatchObject({ admitted: 5, queued: 0 });
    expect(store.calls()).toBeGreaterThan(5);
  });

  it('gives back what a call took when it was cancelled while the store answered', async () => {
    const inner = memoryStore();
    const limiter = createRateLimiter({
      requestsPerMinute: 1,
      burst: { requests: 1 },
      store: promiseStore(inner),
    });
    const model = scriptedModel();
    const limited = model.pipe(limiter.policy());
    const pending = limited.stream(ask()).subscribe();
    pending.unsubscribe(); // the take is in flight
    await new Promise((resolve) => setImmediate(resolve));
    const events = await lastValueFrom(limited.stream(ask()).pipe(toArray<TokenEvent>()));
    expect(events.at(-1)?.type).toBe('finish');
    expect(model.calls()).toBe(1);
  });

  it('a call queued behind a slow store answer expires at maxWaitMs', async () => {
    const scheduler = new VirtualTimeScheduler();
    const inner = memoryStore();
    // Every take is answered 1000 virtual ms later.
    const slow = {
      ...inner,
      takeTokens: (key: string, t: Parameters<typeof inner.takeTokens>[1]) =>
        new Promise<Awaited<ReturnType<typeof inner.takeTokens>>>((resolve) => {
          scheduler.schedule(() => resolve(inner.takeTokens(key, t)), 1000);
        }),
    };
    const limited = scriptedModel().pipe(
      rateLimit({ requestsPerMinute: 60, maxWaitMs: 500, store: slow, scheduler }),
    );
    const seen: string[] = [];
    const record = (name: string) => ({
      complete: () => seen.push(`${scheduler.now()} ${name} done`),
      error: (e: LLMError) => seen.push(`${scheduler.now()} ${name} ${e.kind} ${e.retryAfterMs}`),
    });
    limited.stream(ask()).subscribe(record('a'));
    limited.stream(ask()).subscribe(record('b'));
    await driveAsync(scheduler);
    // b waited behind a's pending take and gave up at 500 (its retryAfterMs is an estimate that assumes
    // an empty bucket after the head: one refill); a, being tried, is decided by its answer.
    expect(seen).toEqual(['500 b rate_limit 1000', '1000 a done']);
    expect(pendingActions(scheduler)).toBe(0);
  });

  it('a store that fails fails the call that asked, and the queue moves on', async () => {
    const store = memoryStore();
    let failNext = true;
    const flaky = {
      ...store,
      takeTokens: (key: string, t: Parameters<typeof store.takeTokens>[1]) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('store down'));
        }
        return store.takeTokens(key, t);
      },
    };
    const limited = scriptedModel().pipe(rateLimit({ requestsPerMinute: 60, store: flaky }));
    const error = await errorOf(limited.stream(ask()));
    expect(error.kind).toBe('unknown');
    expect(error.message).toContain('store down');
    const events = await lastValueFrom(limited.stream(ask()).pipe(toArray()));
    expect(events.at(-1)?.type).toBe('finish');
  });
});

describe('roughTokenEstimate', () => {
  it('counts about four characters a token, four per message, plus the answer budget', () => {
    expect(
      roughTokenEstimate({
        messages: [{ role: 'user', content: 'Hello there, how are you?' }],
        maxTokens: 50,
      }),
    ).toBe(7 + 4 + 50);
    expect(roughTokenEstimate({ messages: [{ role: 'user', content: '' }] })).toBe(4 + 1024);
    expect(
      roughTokenEstimate(
        { messages: [{ role: 'system', content: 'x'.repeat(40) }] },
        { defaultMaxTokens: 0, charsPerToken: 2 },
      ),
    ).toBe(20 + 4);
  });

  it('counts images, tools and earlier tool calls', () => {
    const tokens = roughTokenEstimate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'abcd' },
            { type: 'image', url: 'https://x/y.png' },
          ],
        },
        { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'f', args: { a: 1 } }] },
        { role: 'tool', toolCallId: '1', content: 'done' },
      ],
      tools: [{ name: 'f', parameters: {} }],
      maxTokens: 0,
    });
    // chars: 4 + (1 + 7) + 4 + (1 + 2) = 19 → 5 tokens; 3 messages; one image.
    expect(tokens).toBe(5 + 12 + 1000);
  });
});

describe('memoryStore.takeTokens refunds and debt (used by the limiter)', () => {
  it('gives tokens back up to the capacity, and takes into debt with allowDebt', () => {
    const store = memoryStore();
    const take = (tokens: number, now: number, allowDebt = false) =>
      store.takeTokens('b', { tokens, capacity: 10, refillPerMs: 0.01, now, allowDebt });
    expect(take(8, 0)).toEqual({ ok: true, remaining: 2, waitMs: 0 });
    expect(take(-5, 0)).toEqual({ ok: true, remaining: 7, waitMs: 0 });
    expect(take(-50, 0)).toEqual({ ok: true, remaining: 10, waitMs: 0 }); // never past capacity
    expect(take(15, 0)).toMatchObject({ ok: false, waitMs: Infinity });
    expect(take(15, 0, true)).toEqual({ ok: true, remaining: -5, waitMs: 0 });
    expect(take(1, 0)).toEqual({ ok: false, remaining: -5, waitMs: 600 }); // 6 tokens at 0.01 per ms
    expect(take(-2, 0)).toEqual({ ok: true, remaining: -3, waitMs: 0 }); // a refund while in debt
    expect(take(1, 400)).toEqual({ ok: true, remaining: 0, waitMs: 0 });
  });
});
