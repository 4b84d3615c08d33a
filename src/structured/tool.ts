import type { Observable } from 'rxjs';
import type { JsonSchema } from '../core/request.js';
import type { StandardSchema } from './standardSchema.js';

/** What a tool's `execute` gets besides its input. */
export interface ToolContext {
  /** Aborts when the loop's subscriber leaves (or the loop fails): stop the work and let go of resources. */
  readonly signal: AbortSignal;
  /** The id of the tool call being answered. */
  readonly toolCallId: string;
}

/**
 * What a tool's `execute` may return: the output, a promise of it, or an Observable whose first value is
 * it (an Observable makes a tool marble-testable and cancellable without the signal).
 */
export type ToolOutput<O> = O | PromiseLike<O> | Observable<O>;

/**
 * A tool the model may call and `runTools()` runs: a description, a Standard Schema for its input (zod 4,
 * valibot, arktype), and `execute`.
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const weather = tool({
 *   description: 'Current temperature of a city, in °C',
 *   input: z.object({ city: z.string() }),
 *   execute: async ({ city }, { signal }) => (await fetch(`https://wttr.in/${city}?format=j1`, { signal })).json(),
 * });
 * ```
 */
export interface Tool<I = unknown, O = unknown> {
  /** What the tool does and when to use it, sent to the model with its name. Default: none. */
  readonly description?: string;
  /** Validates the model's arguments; a mismatch becomes an error result the model sees. */
  readonly input: StandardSchema<unknown, I>;
  /**
   * The arguments' JSON Schema sent to the model. Default: what `input` says through Standard JSON
   * Schema (zod 4 implements it); required for validators that cannot.
   */
  readonly parameters?: JsonSchema;
  /**
   * True (or a function of the input answering true) when a call must be approved first: the loop emits a
   * `tool-approval` event and waits for `runTools`' `approve` answer.
   */
  readonly needsApproval?: boolean | Approval<I>['needs'];
  /** Runs the tool. A throw (or rejection, or error) is an error result, or fails the loop (`onToolError`). */
  execute(input: I, context: ToolContext): ToolOutput<O>;
}

// Method syntax makes the check bivariant, so a `Tool<{ city: string }>` fits a record of `Tool`s.
interface Approval<I> {
  needs(input: I): boolean;
}

/**
 * Declares a tool with its input type inferred from the schema (an identity function for types).
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const add = tool({ input: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
 * ```
 *
 * @param definition The tool.
 * @returns The same tool, typed.
 */
export function tool<I, O>(definition: Tool<I, O>): Tool<I, O> {
  return definition;
}
