import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { costOf } from '../../src/core/catalog.js';
import type { FinishEvent, StartEvent, TextEvent, TokenEvent, Usage } from '../../src/core/events.js';

/** A TestScheduler whose assertions are vitest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

export const start = (provider = 'scripted', model = 'scripted-1'): StartEvent => ({
  type: 'start',
  provider,
  model,
});
export const text = (value: string): TextEvent => ({ type: 'text', text: value });
export const usageOf = (outputTokens: number, inputTokens = 10): Usage => ({ inputTokens, outputTokens });
export const finish = (outputTokens: number, inputTokens = 10): FinishEvent => ({
  type: 'finish',
  reason: 'stop',
  usage: usageOf(outputTokens, inputTokens),
  cost: costOf(usageOf(outputTokens, inputTokens), undefined),
});
export const usage = (outputTokens: number, inputTokens = 10): TokenEvent => ({
  type: 'usage',
  usage: usageOf(outputTokens, inputTokens),
});

/** The events a scriptedModel emits for a successful answer of these chunks. */
export function answer(chunks: readonly string[], provider = 'scripted', model = 'scripted-1'): TokenEvent[] {
  return [start(provider, model), ...chunks.map(text), usage(chunks.length), finish(chunks.length)];
}

/** An error matcher for marble `expectObservable(...).toBe('#', values, matcher)`. */
export function errorOf(kind: string, extra: Record<string, unknown> = {}): unknown {
  return expect.objectContaining({ kind, ...extra });
}

/**
 * A synchronous source of `events` that records what it was asked to emit: a policy cut short downstream
 * (`take`) must stop it at once, not let it run to its end into a closed subscriber.
 */
export function pulledSource(events: readonly TokenEvent[]): {
  source: Observable<TokenEvent>;
  pulled: TokenEvent[];
} {
  const pulled: TokenEvent[] = [];
  const source = new Observable<TokenEvent>((subscriber) => {
    for (const event of events) {
      if (subscriber.closed) return;
      pulled.push(event);
      subscriber.next(event);
    }
    subscriber.complete();
  });
  return { source, pulled };
}
