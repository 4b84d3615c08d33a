import type { Usage } from '../../core/events.js';
import type { ChatRequest } from '../../core/request.js';
import { createEstimator } from '../../routing/estimate.js';

// Uncalibrated and shared: a provider has no usage to calibrate against when it needs this.
const estimator = createEstimator();

/**
 * The answer so far, kept so usage can be estimated when the vendor reports none: the pieces are only
 * referenced per chunk and joined once, at the end, if needed.
 */
export interface AnswerTally {
  /** Keeps one piece of text, reasoning or tool arguments. */
  add(piece: string): void;
  /**
   * Usage marked `estimated: true`: the counts the vendor did report, the rest estimated from the
   * request (input) and the answer (output) with the heuristic token estimator.
   */
  estimate(known?: { readonly inputTokens?: number; readonly outputTokens?: number }): Usage;
}

/**
 * Starts a tally for one stream of `request`.
 *
 * ## Example
 * ```ts
 * const tally = answerTally(request);
 * tally.add('Paris.');
 * tally.estimate(); // { inputTokens: 12, outputTokens: 2, estimated: true }
 * ```
 *
 * @param request - the call's request (`undefined`: input is estimated as 0)
 * @returns a fresh tally
 */
export function answerTally(request: ChatRequest | undefined): AnswerTally {
  const pieces: string[] = [];
  return {
    add(piece) {
      pieces.push(piece);
    },
    estimate(known = {}) {
      return {
        inputTokens: known.inputTokens ?? (request === undefined ? 0 : estimator.promptTokens(request)),
        outputTokens: known.outputTokens ?? estimator.count(pieces.join('')),
        estimated: true,
      };
    },
  };
}
