import { type Observable, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { type CallMetrics, withMetrics } from '../../src/observability/metrics.js';
import { finish, start, text } from '../operators/support.js';

const request: ChatRequest = { messages: [{ role: 'user', content: 'Hi' }] };
const values: Record<string, TokenEvent> = { s: start(), a: text('a'), b: text('b'), f: finish(2) };

/** Runs `marble` through withMetrics on a TestScheduler; returns the records and asserts the passthrough. */
function run(
  marble: string,
  options: {
    expected?: string;
    unsubscribe?: string;
    error?: unknown;
    pipe?: (o: Observable<TokenEvent>) => Observable<TokenEvent>;
  } = {},
): CallMetrics[] {
  const records: CallMetrics[] = [];
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  scheduler.run(({ cold, expectObservable }) => {
    const source = cold<TokenEvent>(marble, values, options.error);
    const model = defineModel({ provider: 'scripted', model: 'scripted-1', stream: () => source });
    const measured = model.pipe(withMetrics((r) => records.push(r), { scheduler })).stream(request);
    const out = options.pipe ? options.pipe(measured) : measured;
    expectObservable(out, options.unsubscribe).toBe(options.expected ?? marble, values, options.error);
  });
  return records;
}

describe('withMetrics (marbles)', () => {
  it('passes one answer through and records it with virtual times', () => {
    const [r] = run('-s-a--b-f|');
    expect(r).toMatchObject({ outcome: 'success', durationMs: 9, timeToFirstTokenMs: 3, outputTokens: 2 });
  });

  it('an empty source is an incomplete error', () => {
    expect(run('|').map((r) => [r.outcome, r.errorKind])).toEqual([['error', 'incomplete']]);
  });

  it('an error is recorded with its kind and passed on untouched', () => {
    const error = new LLMError('overloaded', 'busy', { status: 529 });
    const [r] = run('-s-a-#', { error });
    expect(r).toMatchObject({ outcome: 'error', errorKind: 'overloaded', status: 529, durationMs: 5 });
  });

  it('a never-ending source unsubscribed is aborted, at the unsubscribe time', () => {
    const [r] = run('-s-a---', { expected: '-s-a-', unsubscribe: '-----!' });
    expect(r).toMatchObject({ outcome: 'aborted', durationMs: 5, timeToFirstTokenMs: 3 });
  });

  it('a synchronous source cut by take records one abandoned call', () => {
    const records = run('(sabf|)', { expected: '(sa|)', pipe: (o) => o.pipe(take(2)) });
    expect(records.map((r) => r.outcome)).toEqual(['aborted']);
  });

  it('a sink that throws changes nothing downstream', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const model = defineModel({ provider: 'p', model: 'm', stream: () => cold('-s-f|', values) });
      const measured = model.pipe(
        withMetrics(
          () => {
            throw new Error('sink down');
          },
          { scheduler },
        ),
      );
      expectObservable(measured.stream(request)).toBe('-s-f|', values);
    });
  });
});
