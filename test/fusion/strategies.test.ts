import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { majorityVote, weightedConsensus } from '../../src/fusion/strategies.js';

/** Answers as labels; similarity 1 for the same label, 0 otherwise. */
const exact = (labels: readonly string[]) => labels.map((a) => labels.map((b) => (a === b ? 1 : 0)));
const ballots = (n: number, weights: readonly number[] = []) =>
  Array.from({ length: n }, (_, member) => ({ member, weight: weights[member] ?? 1 }));

describe('majorityVote', () => {
  it('always returns a member of a largest group (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('A', 'B', 'C', 'D'), { minLength: 1, maxLength: 9 }), (labels) => {
        const decision = majorityVote.decide({
          ballots: ballots(labels.length),
          similarity: exact(labels),
          threshold: 1,
        });
        expect(decision).toBeDefined();
        const counts = new Map<string, number>();
        for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
        const largest = Math.max(...counts.values());
        const chosen = labels[decision!.chosen] as string;
        expect(counts.get(chosen)).toBe(largest);
        expect(decision!.support).toBe(largest);
        expect(decision!.group.map((i) => labels[i])).toEqual(Array(largest).fill(chosen));
        expect(decision!.confidence).toBeCloseTo(largest / labels.length, 12);
      }),
      { numRuns: 300 },
    );
  });

  it('with graded similarity, the chosen answer has the largest neighbourhood (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 7 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n * n, maxLength: n * n }),
            ),
          ),
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        ([n, flat], threshold) => {
          const sim = Array.from({ length: n }, (_, i) =>
            Array.from({ length: n }, (_, j) =>
              i === j ? 1 : (flat[Math.min(i, j) * n + Math.max(i, j)] as number),
            ),
          );
          const decision = majorityVote.decide({ ballots: ballots(n), similarity: sim, threshold })!;
          const sizes = sim.map((row) => row.filter((s) => s >= threshold).length);
          expect(decision.support).toBe(Math.max(...sizes));
          expect(decision.group).toContain(decision.chosen);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('breaks ties by similarity-weighted support, then by arrival', () => {
    expect(
      majorityVote.decide({ ballots: ballots(2), similarity: exact(['A', 'B']), threshold: 1 })?.chosen,
    ).toBe(0);
    const sim = [
      [1, 0, 0.5],
      [0, 1, 0.7],
      [0.5, 0.7, 1],
    ];
    expect(majorityVote.decide({ ballots: ballots(3), similarity: sim, threshold: 0.9 })?.chosen).toBe(2);
    expect(majorityVote.decide({ ballots: [], similarity: [], threshold: 1 })).toBeUndefined();
  });
});

describe('weightedConsensus', () => {
  it('a heavy member outvotes two light ones that agree', () => {
    const labels = ['A', 'B', 'B'];
    const decision = weightedConsensus.decide({
      ballots: ballots(3, [3, 1, 1]),
      similarity: exact(labels),
      threshold: 1,
    });
    expect(decision).toMatchObject({ chosen: 0, support: 3, group: [0] });
    expect(decision?.confidence).toBeCloseTo(3 / 5, 12);
    expect(
      majorityVote.decide({ ballots: ballots(3, [3, 1, 1]), similarity: exact(labels), threshold: 1 })
        ?.chosen,
    ).toBe(1);
  });

  it('always returns a member of a heaviest group (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.integer({ min: 1, max: 5 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (votes) => {
          const labels = votes.map(([l]) => l);
          const weights = votes.map(([, w]) => w);
          const decision = weightedConsensus.decide({
            ballots: ballots(votes.length, weights),
            similarity: exact(labels),
            threshold: 1,
          })!;
          const byLabel = new Map<string, number>();
          votes.forEach(([l, w]) => byLabel.set(l, (byLabel.get(l) ?? 0) + w));
          expect(byLabel.get(labels[decision.chosen] as string)).toBe(Math.max(...byLabel.values()));
        },
      ),
      { numRuns: 200 },
    );
  });
});
