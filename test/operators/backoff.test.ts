import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Backoff,
  decorrelatedJitter,
  equalJitter,
  exponentialBackoff,
  fixedBackoff,
  fullJitter,
  type Jitter,
  linearBackoff,
  retryDelay,
} from '../../src/operators/backoff.js';

const take = (first: Backoff, n: number): number[] => {
  const out: number[] = [];
  let step = first;
  for (let i = 0; i < n; i++) {
    out.push(step.duration);
    step = step.next();
  }
  return out;
};

describe('backoff schedules', () => {
  it('exponential without jitter doubles up to the cap', () => {
    const first = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' })();
    expect(take(first, 6)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('exponential honours its factor', () => {
    expect(take(exponentialBackoff({ initialDelayMs: 10, factor: 3, jitter: 'none' })(), 4)).toEqual([
      10, 30, 90, 270,
    ]);
  });

  it('linear adds its step; fixed repeats', () => {
    expect(take(linearBackoff({ initialDelayMs: 100, stepMs: 50 })(), 4)).toEqual([100, 150, 200, 250]);
    expect(take(linearBackoff({ initialDelayMs: 100, maxDelayMs: 220 })(), 4)).toEqual([100, 200, 220, 220]);
    expect(take(fixedBackoff({ delayMs: 250 })(), 3)).toEqual([250, 250, 250]);
  });

  it('full jitter draws below the ceiling, equal jitter above its half', () => {
    const full = exponentialBackoff({ initialDelayMs: 100, random: () => 0.5 })();
    expect(take(full, 3)).toEqual([50, 100, 200]);
    const equal = exponentialBackoff({ initialDelayMs: 100, jitter: 'equal', random: () => 0.5 })();
    expect(take(equal, 3)).toEqual([75, 150, 300]);
  });

  it('decorrelated jitter grows from the previous delay, within [base, cap]', () => {
    const first = exponentialBackoff({
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      jitter: 'decorrelated',
      random: () => 1,
    })();
    expect(take(first, 4)).toEqual([300, 900, 1_000, 1_000]);
    const low = exponentialBackoff({ initialDelayMs: 100, jitter: 'decorrelated', random: () => 0 })();
    expect(take(low, 3)).toEqual([100, 100, 100]);
  });

  it('is an immutable value: next() is computed once', () => {
    let draws = 0;
    const first = exponentialBackoff({ random: () => (draws++ % 10) / 10 })();
    expect(first.next()).toBe(first.next());
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.next().attempt).toBe(1);
  });

  it('each factory call starts a fresh schedule with its own draw', () => {
    let draws = 0;
    const factory = exponentialBackoff({
      initialDelayMs: 100,
      random: () => [0.1, 0.9][draws++ % 2] as number,
    });
    expect(factory().duration).toBeCloseTo(10);
    expect(factory().duration).toBeCloseTo(90);
  });

  it('pure jitter functions', () => {
    expect(fullJitter(200, 0.25)).toBe(50);
    expect(equalJitter(200, 0)).toBe(100);
    expect(decorrelatedJitter(100, 50, 10_000, 0.5)).toBe(175);
    expect(decorrelatedJitter(5_000, 50, 1_000, 0.9)).toBe(1_000);
  });

  it('retryDelay: the server hint wins within the cap', () => {
    expect(retryDelay(1_000, 5_000, 60_000)).toBe(5_000);
    expect(retryDelay(1_000, 0, 60_000)).toBe(0);
    expect(retryDelay(1_000, 600_000, 60_000)).toBe(60_000);
    expect(retryDelay(1_000, Infinity, 60_000)).toBe(60_000);
    expect(retryDelay(1_000, undefined, 60_000)).toBe(1_000);
    expect(retryDelay(1_000, -5, 60_000)).toBe(1_000);
  });

  it('property: every delay stays inside its schedule bounds', () => {
    const jitter = fc.constantFrom<Jitter>('none', 'full', 'equal', 'decorrelated');
    fc.assert(
      fc.property(
        fc.constantFrom('exponential', 'linear', 'fixed'),
        jitter,
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 20,
        }),
        (kind, j, initial, cap, draws) => {
          let i = 0;
          const random = (): number => draws[i++ % draws.length] as number;
          const options = { initialDelayMs: initial, maxDelayMs: cap, jitter: j, random };
          const factory =
            kind === 'exponential'
              ? exponentialBackoff(options)
              : kind === 'linear'
                ? linearBackoff(options)
                : fixedBackoff({ delayMs: initial, maxDelayMs: cap, jitter: j, random });
          const base = Math.min(initial, cap);
          let step = factory();
          let previous = base;
          for (let n = 0; n < 12; n++) {
            const plain =
              kind === 'exponential' ? initial * 2 ** n : kind === 'linear' ? initial + n * initial : initial;
            const ceiling =
              j === 'decorrelated' ? Math.min(cap, Math.max(base, previous * 3)) : Math.min(cap, plain);
            const floor =
              j === 'none' ? ceiling : j === 'full' ? 0 : j === 'equal' ? ceiling / 2 : Math.min(base, cap);
            expect(step.ceiling).toBe(ceiling);
            expect(step.duration).toBeGreaterThanOrEqual(floor);
            expect(step.duration).toBeLessThanOrEqual(ceiling);
            expect(step.duration).toBeLessThanOrEqual(cap);
            previous = step.duration;
            step = step.next();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
