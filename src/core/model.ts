import { type Observable, throwError } from 'rxjs';
import { LLMError, toLLMError } from './errors.js';
import type { TokenEvent } from './events.js';
import type { Pricing } from './catalog.js';
import type { Capability, ChatRequest } from './request.js';
import { checkRequest } from './validate.js';

/**
 * The one shape of rxllm: a provider and a composed pipeline are both a `LanguageModel`, so pipelines nest.
 *
 * `stream()` returns a cold Observable: nothing is sent until subscribe, and unsubscribing aborts the call.
 *
 * @example
 * const gpt = openai({ apiKey, model: 'gpt-4o-mini' });
 * gpt.stream({ messages: [{ role: 'user', content: 'Hi' }] }).subscribe((event) => console.log(event));
 */
export interface LanguageModel {
  /** Provider name (`openai`, `anthropic`, …), or a policy's label for a pipeline. */
  readonly provider: string;
  /** Model id as the vendor knows it, or a pipeline's label. */
  readonly model: string;
  /**
   * What the model says of itself, over the catalog's entry: a provider's `pricing` and `capabilities`
   * options. Budgets, routers, ledgers and fallback read it before the catalog; policies that wrap one
   * model pass it on.
   */
  readonly profile?: ModelProfile;
  /** A cold stream of events answering `request`. */
  stream(request: ChatRequest): Observable<TokenEvent>;
  /**
   * The models this one would try for `request`, best first. A provider lists itself; `route()` lists
   * its ranked pool, which `withFallback()` then walks.
   */
  candidates(request: ChatRequest): readonly LanguageModel[];
  /** Applies policies left to right: `model.pipe(withRetry(), withTimeout())` is `withTimeout()(withRetry()(model))`. */
  pipe(): this;
  /** Applies 1 policies left to right. */
  pipe<A>(op1: (m: this) => A): A;
  /** Applies 2 policies left to right. */
  pipe<A, B>(op1: (m: this) => A, op2: (m: A) => B): B;
  /** Applies 3 policies left to right. */
  pipe<A, B, C>(op1: (m: this) => A, op2: (m: A) => B, op3: (m: B) => C): C;
  /** Applies 4 policies left to right. */
  pipe<A, B, C, D>(op1: (m: this) => A, op2: (m: A) => B, op3: (m: B) => C, op4: (m: C) => D): D;
  /** Applies 5 policies left to right. */
  pipe<A, B, C, D, E>(
    op1: (m: this) => A,
    op2: (m: A) => B,
    op3: (m: B) => C,
    op4: (m: C) => D,
    op5: (m: D) => E,
  ): E;
  /** Applies any number of policies left to right. */
  pipe(...ops: ReadonlyArray<(m: LanguageModel) => LanguageModel>): LanguageModel;
}

/**
 * Prices and capabilities a model declares itself, which win over its catalog entry. Providers always have
 * one (empty when their options say nothing); a pipeline of the user's own usually has none.
 */
export interface ModelProfile {
  /** The model's prices in USD per million tokens, over the catalog's. Default: the catalog's. */
  readonly pricing?: Pricing;
  /** What the model supports, replacing the catalog's list. Default: the catalog's. */
  readonly capabilities?: readonly Capability[];
}

/** A set of models a policy chooses among (routing, fallback, fusion). */
export type ModelPool = readonly LanguageModel[];

/** A policy: a function from a model to a model. Compose with RxJS `pipe()` or `model.pipe()`. */
export type ModelPolicy = (model: LanguageModel) => LanguageModel;

/** What {@link defineModel} needs: a name and a stream function. */
export interface ModelDefinition {
  /** The provider's name, in events, metrics and routing. */
  readonly provider: string;
  /** The model id. */
  readonly model: string;
  /** See {@link LanguageModel.profile}; a policy wrapping one model passes `model.profile`. */
  readonly profile?: ModelProfile | undefined;
  /** The cold Observable of one call's events (nothing sent before subscribe). */
  stream(request: ChatRequest): Observable<TokenEvent>;
  /** The models a fallback walks for this request. Default: the model itself. */
  candidates?(request: ChatRequest): readonly LanguageModel[];
}

/**
 * Makes a {@link LanguageModel} from a stream function: the way providers, policies and user code
 * create models.
 *
 * Every model is made here, so this is where a caller's request is checked: a malformed one (no messages,
 * an unknown role, a non-finite number, …) fails the stream with an `invalid_request` `LLMError` naming the
 * field, before `definition.stream` sees it; a synchronous throw from `definition.stream` fails the stream
 * too. `candidates()` of a malformed request is the model itself, whose stream then says why.
 *
 * @example
 * const echo = defineModel({
 *   provider: 'echo',
 *   model: 'v1',
 *   stream: (request) => of<TokenEvent>({ type: 'start', provider: 'echo', model: 'v1' }),
 * });
 *
 * @param definition The provider and model names, and `stream` (with `candidates` if it is a pool).
 * @returns A `LanguageModel`, with `pipe`.
 */
export function defineModel(definition: ModelDefinition): LanguageModel {
  const where = { provider: definition.provider, model: definition.model };
  const model: LanguageModel = {
    provider: definition.provider,
    model: definition.model,
    ...(definition.profile !== undefined && { profile: definition.profile }),
    stream: (request) => {
      const problem = checkRequest(request, where);
      if (problem !== undefined) return throwError(() => problem);
      try {
        return definition.stream(request);
      } catch (error) {
        // An `LLMError` keeps its own source: a policy's refusal names the model it refused.
        const failure = LLMError.isInstance(error) ? error : toLLMError(error, where.provider, where.model);
        return throwError(() => failure);
      }
    },
    candidates: (request) =>
      (definition.candidates !== undefined && checkRequest(request) === undefined
        ? definition.candidates(request)
        : undefined) ?? [model],
    pipe: pipeModel,
  };
  return model;
}

function pipeModel(
  this: LanguageModel,
  ...ops: ReadonlyArray<(m: LanguageModel) => LanguageModel>
): LanguageModel {
  return ops.reduce((current, op) => op(current), this);
}
