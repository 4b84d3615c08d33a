import { Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../src/cache/coalesce.js';

describe('createCoalescer', () => {
  it("calls the starter's completed hook once, with every value, before its subscribers complete", () => {
    const flights = createCoalescer<number>();
    const upstream = new Subject<number>();
    const log: string[] = [];
    const starter = flights.observe('k', () => upstream, {
      completed: (values) => log.push(`completed ${values.values().join(',')}`),
    });
    const joiner = flights.observe('k', () => upstream, { completed: () => log.push('joiner hook') });
    starter.subscribe({ next: (v) => log.push(`a${v}`), complete: () => log.push('a done') });
    upstream.next(1);
    joiner.subscribe({ next: (v) => log.push(`b${v}`), complete: () => log.push('b done') });
    upstream.next(2);
    upstream.complete();
    expect(log).toEqual(['a1', 'b1', 'a2', 'b2', 'completed 1,2', 'a done', 'b done']);
    expect(flights.size).toBe(0);
  });

  it('tells each value whether it reaches the owner, and calls no completed hook on failure', () => {
    const flights = createCoalescer<string>();
    const upstream = new Subject<string>();
    const seen: string[] = [];
    const hooks = {
      project: (v: string, { owner }: { owner: boolean }) => `${v}:${owner ? 'owner' : 'joiner'}`,
      completed: () => seen.push('completed'),
    };
    flights
      .observe('k', () => upstream, hooks)
      .subscribe({ next: (v) => seen.push(v), error: () => seen.push('a failed') });
    flights
      .observe('k', () => upstream, hooks)
      .subscribe({ next: (v) => seen.push(v), error: () => seen.push('b failed') });
    upstream.next('x');
    upstream.error(new Error('down'));
    expect(seen).toEqual(['x:owner', 'x:joiner', 'a failed', 'b failed']);
    const failing = createCoalescer<string>();
    const errors: unknown[] = [];
    failing.observe('k', () => throwError(() => 'no'), hooks).subscribe({ error: (e) => errors.push(e) });
    expect(errors).toEqual(['no']);
    expect(seen).not.toContain('completed');
  });
});

describe('createCoalescer with a recording', () => {
  it("keeps the values in the starter's recording: a late joiner reads them from it", () => {
    const flights = createCoalescer<number>();
    const upstream = new Subject<number>();
    const made: number[][] = [];
    const record = () => {
      const kept: number[] = [];
      made.push(kept);
      return { push: (v: number) => void kept.push(v * 10), values: () => kept };
    };
    const seen: number[] = [];
    flights.observe('k', () => upstream, { record }).subscribe();
    upstream.next(1);
    flights.observe('k', () => upstream, { record }).subscribe((v) => seen.push(v));
    upstream.next(2);
    // One recording (the starter's); the joiner got the recorded form of 1, then 2 live.
    expect(made).toEqual([[10, 20]]);
    expect(seen).toEqual([10, 2]);
  });
});
