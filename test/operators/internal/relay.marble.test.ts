import fc from 'fast-check';
import { Observable, Subject, take, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { relay, type RelayHooks } from '../../../src/operators/internal/relay.js';
import { testScheduler } from '../support.js';

/** Hooks that write every call into `log`, optionally throwing at one of them. */
function logging(log: string[], throwAt?: string): RelayHooks<string> {
  const at = (name: string): void => {
    log.push(name);
    if (name === throwAt) throw new Error(`thrown at ${name}`);
  };
  return {
    next: (value) => at(`next ${value}`),
    error: (error) => at(`error ${String(error)}`),
    complete: () => at('complete'),
    unsubscribe: () => at('unsubscribe'),
    finalize: () => at('finalize'),
  };
}

describe('relay', () => {
  it('passes values, errors and completion on, as tap does', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-|');
      expectObservable(source.pipe(relay({}))).toBe('-a-b-|');
      expectObservable(cold('-a-#').pipe(relay({}))).toBe('-a-#');
      expectObservable(source.pipe(relay({})), '^--!').toBe('-a-');
      expectSubscriptions(source.subscriptions).toBe(['^----!', '^--!']);
    });
  });

  it('a throwing next hook fails the stream and unsubscribes the source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-|');
      const hooks = {
        next: (value: string) => {
          if (value === 'b') throw new Error('bad b');
        },
      };
      expectObservable(source.pipe(relay(hooks))).toBe('-a-#', undefined, new Error('bad b'));
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('calls its hooks exactly as tap does, for any source, throw and early exit (property)', () => {
    const ending = fc.constantFrom('complete', 'error', 'open');
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 6 }),
        ending,
        fc.option(fc.nat(7), { nil: undefined }),
        fc.option(fc.constantFrom('next b', 'complete', 'error boom'), { nil: undefined }),
        (values, end, leaveAfter, throwAt) => {
          const run = (withRelay: boolean): string[] => {
            const log: string[] = [];
            const hooks = logging(log, throwAt);
            const source = new Subject<string>();
            const piped = withRelay ? source.pipe(relay(hooks)) : source.pipe(tap(hooks));
            const limited = leaveAfter === undefined ? piped : piped.pipe(take(leaveAfter + 1));
            const subscription = limited.subscribe({
              next: (value) => log.push(`out ${value}`),
              error: (error: unknown) => log.push(`out error ${String(error)}`),
              complete: () => log.push('out complete'),
            });
            for (const value of values) source.next(value);
            if (end === 'complete') source.complete();
            else if (end === 'error') source.error('boom');
            subscription.unsubscribe();
            log.push(`observed ${source.observed}`);
            return log;
          };
          expect(run(true)).toEqual(run(false));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('finalize runs once when a synchronous source ends inside subscribe', () => {
    const log: string[] = [];
    new Observable<string>((s) => {
      s.next('x');
      s.complete();
    })
      .pipe(relay(logging(log)))
      .subscribe();
    expect(log).toEqual(['next x', 'complete', 'finalize']);
  });
});
