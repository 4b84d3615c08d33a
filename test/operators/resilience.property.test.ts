import fc from 'fast-check';
import { Observable, type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createCatalog, type ModelSpec } from '../../src/core/catalog.js';
import { LLMError, type LLMErrorKind } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel, type LanguageModel } from '../../src/core/model.js';
import { fixedBackoff } from '../../src/operators/backoff.js';
import { hedge } from '../../src/operators/hedge.js';
import { type MidStreamPolicy, withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { withTimeout } from '../../src/operators/withTimeout.js';
import { type Script, type ScriptedModel, scriptedModel } from '../../src/testing/scriptedModel.js';
import { finish, start, testScheduler, text, usage } from './support.js';

const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const NAMES = ['A', 'B', 'C', 'D'] as const;

/**
 * The event-sequence invariant every switching policy keeps, stated precisely.
 *
 * Cut the sequence at each `fallback` and `reset` event into segments. Then:
 * 1. a segment holds at most one `start`, and every `text`, tool event, `usage` and `finish` in it comes
 *    after that `start` and from its provider (text and tool names are tagged with the provider's name);
 * 2. a `reset` only ever follows content (since the previous reset): there is something to clear;
 * 3. a `fallback` comes only when no content was shown since the last reset (a switch after content is a
 *    `reset`, or the error) — except with `continue`, where it may follow content that is plain text only,
 *    and then the next `start` is from a model that accepts a prefill;
 * 4. nothing follows a `finish`.
 * So a subscriber never receives events of two providers without a `fallback` or `reset` between them.
 */
function checkSequence(
  events: readonly TokenEvent[],
  policy: MidStreamPolicy | 'hedge',
  prefills: (provider: string) => boolean = () => false,
): void {
  let owner: string | undefined;
  let shown = false;
  let shownNonText = false;
  let continuing = false;
  let finished = false;
  for (const event of events) {
    expect(finished, 'nothing after finish').toBe(false);
    switch (event.type) {
      case 'start':
        expect(owner, 'one start per segment').toBeUndefined();
        if (continuing) expect(prefills(event.provider), `${event.provider} continues a prefill`).toBe(true);
        owner = event.provider;
        break;
      case 'text':
        expect(owner).toBeDefined();
        expect(event.text.trimStart().startsWith(owner as string), `${event.text} from ${owner}`).toBe(true);
        shown = true;
        break;
      case 'tool-call-delta':
      case 'tool-call':
        expect(event.name?.startsWith(owner as string)).toBe(true);
        shown = true;
        shownNonText = true;
        break;
      case 'reasoning':
        shown = true;
        shownNonText = true;
        break;
      case 'usage':
        expect(owner).toBeDefined();
        break;
      case 'finish':
        expect(owner).toBeDefined();
        finished = true;
        break;
      case 'fallback':
        if (policy !== 'continue') expect(shown, 'fallback only before content').toBe(false);
        if (shown) expect(shownNonText, 'continue only over plain text').toBe(false);
        continuing = shown;
        owner = undefined;
        break;
      case 'reset':
        expect(policy === 'restart' || policy === 'continue').toBe(true);
        expect(shown, 'reset only after content').toBe(true);
        owner = undefined;
        shown = false;
        shownNonText = false;
        continuing = false;
        break;
      case 'route':
        break;
    }
  }
}

const kinds = fc.constantFrom<LLMErrorKind>(
  'overloaded',
  'rate_limit',
  'network',
  'invalid_request',
  'timeout',
);

/** One scripted answer whose text (and tool names) carry the provider's name. */
function scriptArb(name: string): fc.Arbitrary<Script> {
  return fc
    .record({
      chunks: fc.integer({ min: 1, max: 3 }),
      tool: fc.boolean(),
      end: fc.oneof(
        fc.constant<{ kind: 'ok' }>({ kind: 'ok' }),
        fc.record({ kind: fc.constant('fail' as const), error: kinds, after: fc.nat(3) }),
        fc.record({ kind: fc.constant('truncate' as const), after: fc.nat(3) }),
        fc.record({ kind: fc.constant('stall' as const), after: fc.nat(3) }),
      ),
      firstTokenDelayMs: fc.nat(6),
      tokenDelayMs: fc.nat(3),
    })
    .map((r): Script => {
      const base: Script = {
        text: Array.from({ length: r.chunks }, (_, i) => `${i === 0 ? '' : ' '}${name}${i}`),
        ...(r.tool && { toolCalls: [{ name: `${name}-tool`, args: { n: 1 } }] }),
        firstTokenDelayMs: r.firstTokenDelayMs,
        tokenDelayMs: r.tokenDelayMs,
      };
      switch (r.end.kind) {
        case 'ok':
          return base;
        case 'fail':
          return { ...base, fail: r.end.error, failAfter: r.end.after };
        case 'truncate':
          return { ...base, truncateAfter: r.end.after };
        case 'stall':
          return { ...base, stallAfter: r.end.after };
      }
    });
}

function spec(provider: string, prefill: boolean): ModelSpec {
  return {
    provider,
    model: provider.toLowerCase(),
    pricing: { input: 0, output: 0 },
    contextWindow: 1_000,
    maxOutputTokens: 100,
    capabilities: prefill ? ['streaming', 'prefill'] : ['streaming'],
    quality: 0.5,
    local: false,
  };
}

describe('resilience properties', () => {
  it('withFallback (with retries and timeouts inside): never two providers without a fallback or reset between; nothing left open', () => {
    const candidate = (name: string) =>
      fc.record({
        scripts: fc.array(scriptArb(name), { minLength: 1, maxLength: 3 }),
        retries: fc.integer({ min: 1, max: 3 }),
        timeout: fc.boolean(),
        prefill: fc.boolean(),
      });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...NAMES.slice(0, n).map(candidate))),
        fc.constantFrom<MidStreamPolicy>('error', 'restart', 'continue'),
        fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
        (candidates, policy, unsubscribeAt) => {
          const scheduler = testScheduler();
          const models: ScriptedModel[] = [];
          const events: TokenEvent[] = [];
          let ended: 'complete' | 'error' | undefined;
          let error: unknown;
          const closedAfterEnd: boolean[] = [];
          scheduler.run(() => {
            const pool: LanguageModel[] = candidates.map((c, i) => {
              const name = NAMES[i] as string;
              const m = scriptedModel({
                provider: name,
                model: name.toLowerCase(),
                scripts: c.scripts,
                scheduler,
              });
              models.push(m);
              return m.pipe(
                withTimeout(c.timeout ? { idleMs: 5, scheduler } : {}),
                withRetry({ maxAttempts: c.retries, backoff: fixedBackoff({ delayMs: 2 }), scheduler }),
              );
            });
            const catalog = createCatalog(candidates.map((c, i) => spec(NAMES[i] as string, c.prefill)));
            const model = (pool[0] as LanguageModel).pipe(
              withFallback({ candidates: () => pool, onMidStream: policy, catalog }),
            );
            const subscription = model.stream(request).subscribe({
              next: (e) => events.push(e),
              error: (e) => {
                ended = 'error';
                error = e;
                scheduler.schedule(() => closedAfterEnd.push(models.every((m) => m.active() === 0)));
              },
              complete: () => {
                ended = 'complete';
                scheduler.schedule(() => closedAfterEnd.push(models.every((m) => m.active() === 0)));
              },
            });
            if (unsubscribeAt !== undefined) {
              scheduler.schedule(() => subscription.unsubscribe(), unsubscribeAt);
            }
            scheduler.schedule(() => subscription.unsubscribe(), 500);
          });
          checkSequence(
            events,
            policy,
            (p) => candidates[NAMES.indexOf(p as (typeof NAMES)[number])]?.prefill === true,
          );
          if (ended === 'complete') expect(events[events.length - 1]?.type).toBe('finish');
          if (ended === 'error') expect(LLMError.isInstance(error)).toBe(true);
          // Right after the end (same virtual instant), every upstream subscription is closed.
          expect(closedAfterEnd).toEqual(ended ? [true] : []);
          if (policy === 'error') expect(events.some((e) => e.type === 'reset')).toBe(false);
          expect(models.every((m) => m.active() === 0)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hedge under any interleaving (fc.scheduler): only the winner is seen, every loser is closed', async () => {
    const plan = fc.record({
      chunks: fc.integer({ min: 1, max: 3 }),
      failAt: fc.option(fc.nat(3), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(plan, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (s, plans, unsubscribeEarly) => {
          const active = plans.map(() => 0);
          const pool = plans.map((p, i) => scheduledModel(NAMES[i] as string, p, s, active, i));
          const model = (pool[0] as LanguageModel).pipe(
            hedge({ delayMs: 10, candidates: () => pool, scheduler: fcScheduler(s) }),
          );
          const events: TokenEvent[] = [];
          let ended = false;
          let failure: unknown;
          const subscription = model.stream(request).subscribe({
            next: (e) => events.push(e),
            error: (e) => {
              ended = true;
              failure = e;
            },
            complete: () => {
              ended = true;
            },
          });
          if (unsubscribeEarly)
            void s.schedule(Promise.resolve(), 'unsubscribe').then(() => subscription.unsubscribe());
          await s.waitAll();
          // Ended or not, nothing is left running once the scheduler has nothing more to do…
          if (ended) expect(active.every((n) => n === 0)).toBe(true);
          if (failure !== undefined) expect(LLMError.isInstance(failure)).toBe(true);
          // …and a stream still open is closed by unsubscribing.
          if (!ended) subscription.unsubscribe();
          checkSequence(events, 'hedge');
          // Hedging never resets, and every fallback event precedes the winner's start.
          expect(events.filter((e) => e.type === 'start').length).toBeLessThanOrEqual(1);
          const firstStart = events.findIndex((e) => e.type === 'start');
          if (firstStart >= 0)
            expect(events.slice(firstStart).some((e) => e.type === 'fallback')).toBe(false);
          expect(active.every((n) => n === 0)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** An RxJS scheduler whose every action runs when fast-check's scheduler says so (delays are ignored). */
function fcScheduler(s: fc.Scheduler): SchedulerLike {
  return {
    now: () => 0,
    schedule<T>(
      work: (this: SchedulerAction<T>, state?: T) => void,
      _delay?: number,
      state?: T,
    ): Subscription {
      const subscription = new Subscription();
      void s.schedule(Promise.resolve(), 'timer').then(() => {
        if (!subscription.closed) work.call(subscription as unknown as SchedulerAction<T>, state);
      });
      return subscription;
    },
  };
}

/** A model whose every step (open, each chunk, the end) waits on fast-check's scheduler. */
function scheduledModel(
  name: string,
  plan: { chunks: number; failAt: number | undefined },
  s: fc.Scheduler,
  active: number[],
  index: number,
): LanguageModel {
  return defineModel({
    provider: name,
    model: name.toLowerCase(),
    stream: () =>
      new Observable<TokenEvent>((subscriber) => {
        active[index] = (active[index] as number) + 1;
        let cancelled = false;
        const step = (label: string): Promise<boolean> =>
          s.schedule(Promise.resolve(label), `${name} ${label}`).then(() => !cancelled);
        void (async () => {
          if (!(await step('open'))) return;
          subscriber.next(start(name, name.toLowerCase()));
          for (let i = 0; i < plan.chunks; i++) {
            if (!(await step(`chunk ${i}`))) return;
            if (i === plan.failAt) {
              subscriber.error(
                new LLMError('overloaded', 'busy', { provider: name, model: name.toLowerCase() }),
              );
              return;
            }
            subscriber.next(text(`${name}${i}`));
          }
          if (!(await step('end'))) return;
          subscriber.next(usage(plan.chunks));
          subscriber.next(finish(plan.chunks));
          subscriber.complete();
        })();
        return () => {
          cancelled = true;
          active[index] = (active[index] as number) - 1;
        };
      }),
  });
}
