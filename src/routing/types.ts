import type { ModelSpec } from '../core/catalog.js';
import type { ModelRef } from '../core/events.js';
import type { LanguageModel } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import type { ModelStatsSnapshot } from './stats.js';

/** What a call to one model is expected to take and cost. */
export interface RouteEstimate {
  /** Prompt tokens (estimated for this model's tokenizer, calibrated). */
  readonly inputTokens: number;
  /** Output tokens expected: the request's `maxTokens`, else the router's `expectedOutputTokens`. */
  readonly outputTokens: number;
  /** Dollars at the model's catalog price; `undefined` when the model has no known price. */
  readonly cost: number | undefined;
}

/** One model of the pool as a strategy sees it: its spec, estimate and observed stats. */
export interface RouteCandidate {
  /** The pool member. */
  readonly model: LanguageModel;
  /** `provider/model`. */
  readonly key: string;
  /** Position in the pool (strategies break ties by it). */
  readonly index: number;
  /** Catalog entry (or override); `undefined` for an unknown model. */
  readonly spec: ModelSpec | undefined;
  /** `spec.quality`, or the router's `defaultQuality` for unknown models. */
  readonly quality: number;
  /** Runs locally (`spec.local`). */
  readonly local: boolean;
  /** The call's estimated tokens and cost on this model. */
  readonly estimate: RouteEstimate;
  /** What the router observed of this model. */
  readonly stats: ModelStatsSnapshot;
}

/** What a strategy knows besides the candidates. */
export interface StrategyContext {
  /** Scheduler time of the decision. */
  readonly now: number;
  /** How many decisions this router has committed before (round-robin turns on it). */
  readonly sequence: number;
  /**
   * A uniform random number in [0, 1) from the router's seeded generator. Ranking the same request twice
   * before a decision is committed gives the same numbers, so `candidates()` and `stream()` agree.
   */
  random(): number;
}

/**
 * A routing strategy: orders the eligible candidates, best first (it may also drop some).
 * Candidates arrive in pool order, already filtered by the request's constraints.
 *
 * ## Example
 * ```ts
 * // Cheapest first, but never a local model for code.
 * const mine: RoutingStrategy = (candidates, request) =>
 *   [...candidates]
 *     .filter((c) => !(request.hints?.task === 'code' && c.local))
 *     .sort((a, b) => (a.estimate.cost ?? Infinity) - (b.estimate.cost ?? Infinity));
 * ```
 */
export type RoutingStrategy = (
  candidates: readonly RouteCandidate[],
  request: ChatRequest,
  context: StrategyContext,
) => readonly RouteCandidate[];

/** A model the router left out, and why (one short phrase per failed constraint). */
export interface RouteRejection {
  /** The model left out. */
  readonly model: ModelRef;
  /** Why, one line per constraint it failed. */
  readonly reasons: readonly string[];
}

/** A committed routing decision, as published on `decisions$`. */
export interface RouteDecision {
  /** The strategy's name. */
  readonly strategy: string;
  /** The model tried first. */
  readonly chosen: ModelRef;
  /** The rest of the ranking, in the order a fallback walks it. */
  readonly fallbacks: readonly ModelRef[];
  /** The chosen model's estimated cost in dollars (0 when it has no known price). */
  readonly estimatedCost: number;
  /** One line: what was chosen, on what grounds, and what was excluded. */
  readonly reason: string;
  /** Every eligible candidate, ranked. */
  readonly ranked: readonly RouteCandidate[];
  /** Every model left out by a constraint. */
  readonly rejected: readonly RouteRejection[];
  /** Scheduler time of the decision. */
  readonly at: number;
  /** Sequence number of the decision in its router (0, 1, 2, …). */
  readonly sequence: number;
}
