/** One answer offered to a strategy. */
export interface Ballot {
  /** The member's index in the pool. */
  readonly member: number;
  /** The member's weight (1 in a majority vote). */
  readonly weight: number;
}

/** What a strategy sees: the answers so far, their pairwise similarity, and the agreement threshold. */
export interface StrategyInput {
  /** One ballot per answer received, in order. */
  readonly ballots: readonly Ballot[];
  /** `similarity[i][j]` between `ballots[i]` and `ballots[j]`, in `[0, 1]`. */
  readonly similarity: readonly (readonly number[])[];
  /** Two answers agree when their similarity is at least this. */
  readonly threshold: number;
}

/** A strategy's choice. */
export interface Decision {
  /** Position in `ballots` of the chosen answer. */
  readonly chosen: number;
  /** Positions in `ballots` of the answers that agree with it (itself included). */
  readonly group: readonly number[];
  /** The group's weight: what is compared with the quorum. */
  readonly support: number;
  /**
   * Similarity-weighted support over every ballot: `Σ w_j · sim(chosen, j) / Σ w_j`, in `[0, 1]`.
   * 1 when every answer agrees with the chosen one exactly.
   */
  readonly confidence: number;
}

/**
 * A way to pick one answer among several. `decide` is called with the answers so far (again as more
 * arrive); it answers `undefined` only for no ballots.
 */
export interface FusionStrategy {
  /** The strategy's name, in results. */
  readonly name: string;
  /** The winning group, or `undefined` when there is no answer to choose. */
  decide(input: StrategyInput): Decision | undefined;
}

/**
 * The group of answer `i`: the answers at least `threshold` similar to it. The chosen answer is the one
 * with the heaviest group; ties go to the larger similarity-weighted support, then to the earlier ballot
 * (ballots are in the order the answers finished).
 */
function consensus(input: StrategyInput, weightOf: (ballot: Ballot) => number): Decision | undefined {
  const { ballots, similarity, threshold } = input;
  let best: { chosen: number; group: number[]; support: number; soft: number } | undefined;
  let total = 0;
  for (const ballot of ballots) total += weightOf(ballot);
  ballots.forEach((_, i) => {
    const row = similarity[i] ?? [];
    const group: number[] = [];
    let support = 0;
    let soft = 0;
    ballots.forEach((other, j) => {
      const score = i === j ? 1 : (row[j] ?? 0);
      soft += weightOf(other) * score;
      if (score >= threshold) {
        group.push(j);
        support += weightOf(other);
      }
    });
    if (!best || support > best.support || (support === best.support && soft > best.soft)) {
      best = { chosen: i, group, support, soft };
    }
  });
  if (!best) return undefined;
  return {
    chosen: best.chosen,
    group: best.group,
    support: best.support,
    confidence: total > 0 ? Math.min(1, best.soft / total) : 0,
  };
}

/**
 * Majority vote: every answer counts one; the answer most others agree with wins.
 *
 * ## Example
 * ```ts
 * fuse({ strategy: majorityVote, quorum: 2 });
 * ```
 */
export const majorityVote: FusionStrategy = {
  name: 'majority',
  decide: (input) => consensus(input, () => 1),
};

/**
 * Weighted consensus: each answer counts its member's weight (a trusted model can outvote two weak
 * ones); the answer whose agreeing group weighs most wins.
 *
 * ## Example
 * ```ts
 * fuse({ strategy: weightedConsensus, weights: [3, 1, 1] });
 * ```
 */
export const weightedConsensus: FusionStrategy = {
  name: 'weighted',
  decide: (input) => consensus(input, (ballot) => ballot.weight),
};
