import type { Usage } from '../../core/events.js';
import type { ChatRequest } from '../../core/request.js';
import { createEstimator, heuristicTokens } from '../../routing/estimate.js';
import { optionalString, type Source } from './validate.js';

// Uncalibrated and shared: a provider has no usage to calibrate against when it needs this.
const estimator = createEstimator();

/**
 * The answer so far, counted so usage can be estimated when the vendor reports none. Each piece is
 * counted as it passes (with the heuristic estimator's counter) rather than kept: keeping every piece
 * until the end made them survive the young generation, and the garbage collector's copying of them
 * tripled the mappers' cost per chunk.
 */
export interface AnswerTally {
  /** Counts one piece of text, reasoning or tool arguments (until {@link AnswerTally.reported}). */
  add(piece: string): void;
  /**
   * The vendor reports usage for this stream (Anthropic's `message_start`, Gemini's `usageMetadata`):
   * stop counting, which costs about as much per chunk as the rest of the mapping.
   */
  reported(): void;
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
  let output = 0;
  let counting = true;
  return {
    add(piece) {
      if (counting) output += heuristicTokens(piece);
    },
    reported() {
      counting = false;
    },
    estimate(known = {}) {
      return {
        inputTokens: known.inputTokens ?? (request === undefined ? 0 : estimator.promptTokens(request)),
        outputTokens: known.outputTokens ?? output,
        estimated: true,
      };
    },
  };
}

/**
 * A piece of the answer from a vendor field: checked to be a string (else `invalid_response`), kept in
 * `tally`, and returned when not empty, for the mapper to emit.
 *
 * ## Example
 * ```ts
 * const text = answerPiece(tally, delta.content, 'content', source);
 * if (text) emit({ type: 'text', text });
 * ```
 *
 * @param tally - the stream's tally
 * @param value - the vendor's field
 * @param field - its name, for the error
 * @param source - provider and model
 * @returns the piece, or `undefined` when absent or empty
 */
export function answerPiece(
  tally: AnswerTally,
  value: unknown,
  field: string,
  source: Source,
): string | undefined {
  const piece = optionalString(value, field, source);
  if (!piece) return undefined;
  tally.add(piece);
  return piece;
}
