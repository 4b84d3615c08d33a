import type { LLMError } from './errors.js';

/**
 * Token counts for one call, normalized across vendors.
 *
 * `inputTokens` counts every prompt token, including the cached ones; `cachedInputTokens` says how many of
 * them were served from the vendor's prompt cache (billed at the cached price).
 */
export interface Usage {
  /** Prompt tokens, cached ones included. */
  readonly inputTokens: number;
  /** Answer tokens, reasoning included. */
  readonly outputTokens: number;
  /** Prompt tokens read from the vendor's prompt cache (billed at the cached price). */
  readonly cachedInputTokens?: number;
  /** Tokens of hidden or visible reasoning, when the vendor reports them. */
  readonly reasoningTokens?: number;
  /**
   * True when the vendor reported no usage (an OpenAI-compatible server that ignores `stream_options`, say)
   * and these counts are rxllm's estimate from the request and the answer. Budgets and ledgers charge the
   * estimate; telemetry leaves usage out rather than report a guess as fact.
   */
  readonly estimated?: boolean;
}

/** Cost of a call in US dollars, split by what was billed. */
export interface Cost {
  /** Dollars for the prompt tokens. */
  readonly input: number;
  /** Dollars for the answer tokens. */
  readonly output: number;
  /** `input + output`, in dollars. */
  readonly total: number;
}

/**
 * Why a stream finished, normalized across vendors.
 *
 * - `stop`: the model ended its answer (or hit a stop sequence).
 * - `length`: the output hit `maxTokens` or the model's output limit.
 * - `tool-calls`: the model asks for tools to be run.
 * - `content-filter`: the vendor's safety system cut the answer.
 * - `budget`: the `budget()` operator stopped the stream before it overspent.
 * - `other`: anything else the vendor reported (the raw value is kept beside it).
 */
export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'budget' | 'other';

/** Identifies which provider and model produced (part of) a stream. */
export interface ModelRef {
  /** The provider's name (`openai`, `anthropic`, or the name you gave it). */
  readonly provider: string;
  /** The model id as asked for, e.g. `gpt-4o-mini`. */
  readonly model: string;
}

/**
 * The stream opened: which provider and model answer. Always the first event of a provider's stream.
 * `model` is the model that was asked for (the identity routing, breakers and budgets key on);
 * `responseModel` is what the vendor says answered, often a dated snapshot (`gpt-4o-mini-2024-07-18`).
 */
export interface StartEvent extends ModelRef {
  /** The discriminant. */
  readonly type: 'start';
  /** The vendor's id for this response, when it sends one. */
  readonly id?: string;
  /** The model the vendor reports, when it reports one. */
  readonly responseModel?: string;
  /** Set by `cache()` when the stream is a replay of a stored call. */
  readonly cached?: boolean;
}

/** A piece of the answer's text. Concatenating every `text` of a stream gives the whole answer. */
export interface TextEvent {
  /** The discriminant. */
  readonly type: 'text';
  /** The next piece of the answer. */
  readonly text: string;
}

/** A piece of the model's visible reasoning (Anthropic thinking, reasoning models' summaries). */
export interface ReasoningEvent {
  /** The discriminant. */
  readonly type: 'reasoning';
  /** The next piece of the model's visible reasoning. */
  readonly text: string;
  /**
   * Anthropic's signature of the thinking block this piece belongs to (sent once, with empty `text`, at the
   * block's end): a later turn must send the block back with it for the model to continue its reasoning.
   */
  readonly signature?: string;
}

/** A piece of a tool call as it streams: the call at `index` gained `argsDelta` (raw JSON text). */
export interface ToolCallDeltaEvent {
  /** The discriminant. */
  readonly type: 'tool-call-delta';
  /** The call's position among this response's tool calls. */
  readonly index: number;
  /** The vendor's call id, on the first delta that carries it. */
  readonly id?: string;
  /** The tool's name, on the first delta that carries it. */
  readonly name?: string;
  /** The next piece of the arguments' JSON text. */
  readonly argsDelta: string;
}

/** A complete tool call with its arguments parsed from JSON (`rawArgs` keeps the text as sent). */
export interface ToolCallEvent {
  /** The discriminant. */
  readonly type: 'tool-call';
  /** The call's position among this response's tool calls. */
  readonly index: number;
  /** The vendor's call id (answer it with a `ToolMessage` of this `toolCallId`). */
  readonly id: string;
  /** The tool's name. */
  readonly name: string;
  /** The arguments, parsed from JSON. */
  readonly args: unknown;
  /** The arguments' JSON text as streamed. */
  readonly rawArgs: string;
}

/** Token counts reported by the vendor (or estimated where it reported none). */
export interface UsageEvent {
  /** The discriminant. */
  readonly type: 'usage';
  /** Token counts so far (the `finish` event repeats the final ones). */
  readonly usage: Usage;
}

/** The stream ended normally. Always the last event of a successful stream. */
export interface FinishEvent {
  /** The discriminant. */
  readonly type: 'finish';
  /** Why the answer ended, normalized across vendors. */
  readonly reason: FinishReason;
  /** The vendor's own finish value (`end_turn`, `STOP`, …). */
  readonly raw?: string;
  /** The call's token counts. */
  readonly usage: Usage;
  /** The call's cost in dollars. */
  readonly cost: Cost;
  /**
   * The model declined, and this is its explanation (OpenAI's `refusal` deltas), kept out of the answer's
   * `text`. Set only with reason `content-filter`.
   */
  readonly refusal?: string;
}

/**
 * A policy moved to another candidate: `from` failed with `error`, the stream continues from the next
 * candidate. Usually before any content reached the subscriber; with `withFallback({ onMidStream: 'continue' })`
 * also after content that is KEPT (the next candidate continues the partial answer, so no `reset`).
 */
export interface FallbackEvent {
  /** The discriminant. */
  readonly type: 'fallback';
  /** The candidate that failed. */
  readonly from: ModelRef;
  /** Why it failed. */
  readonly error: LLMError;
}

/**
 * Everything emitted so far is void: a UI should clear what it shows. A new `start` follows.
 * Emitted by fallback with the `restart` policy after content had streamed.
 */
export interface ResetEvent {
  /** The discriminant. */
  readonly type: 'reset';
  /** The candidate whose content is void. */
  readonly from: ModelRef;
  /** Why it failed after content. */
  readonly error: LLMError;
}

/** A routing decision, emitted by `route()` before the chosen model's stream. */
export interface RouteEvent {
  /** The discriminant. */
  readonly type: 'route';
  /** The model tried first. */
  readonly chosen: ModelRef;
  /** The models tried next, in order. */
  readonly fallbacks: readonly ModelRef[];
  /** The chosen model's estimated cost of the call, in dollars. */
  readonly estimatedCost: number;
  /** Why it was chosen, in words (for logs). */
  readonly reason: string;
}

/**
 * Every part of `T` optional, all the way down: what a growing JSON value may hold before it is complete.
 */
export type DeepPartial<T> = T extends readonly (infer E)[]
  ? DeepPartial<E>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * A JSON answer as it grows, emitted by `streamObject()` after the text it was read from. A `partial` value
 * is a prefix of the final one (properties and elements only added, the last string only extended,
 * numbers only whole); the one event with `partial: false` holds the complete value, validated by the
 * schema, right before `finish`.
 */
export type ObjectEvent<T = unknown> =
  | {
      /** The discriminant. */
      readonly type: 'object';
      /** True: the value is still growing. */
      readonly partial: true;
      /** The value so far, a prefix of the final one (not yet validated). */
      readonly value: DeepPartial<T>;
    }
  | {
      /** The discriminant. */
      readonly type: 'object';
      /** False: the value is complete. */
      readonly partial: false;
      /** The complete value, validated by the schema. */
      readonly value: T;
    };

/** One element of a top-level JSON array, once complete and validated (`streamObject` element mode). */
export interface ElementEvent<T = unknown> {
  /** The discriminant. */
  readonly type: 'element';
  /** The element's position in the array, from 0. */
  readonly index: number;
  /** The element, validated by the schema. */
  readonly value: T;
}

/**
 * What running a tool call gave, emitted by `runTools()` and sent back to the model. `isError` marks a
 * tool that threw, was unknown, got arguments its schema rejected, or was declined; `output` then says so.
 */
export interface ToolResultEvent {
  /** The discriminant. */
  readonly type: 'tool-result';
  /** The id of the `tool-call` this answers. */
  readonly id: string;
  /** The tool's name, as the model called it. */
  readonly name: string;
  /** What the tool returned, or with `isError` what went wrong; sent to the model as the tool's result. */
  readonly output: unknown;
  /** True when the call failed or was declined rather than run. */
  readonly isError: boolean;
}

/**
 * A tool call waits for the caller's approval (`runTools()` with a tool that `needsApproval`): the loop
 * pauses until the `approve` callback answers.
 */
export interface ToolApprovalEvent {
  /** The discriminant. */
  readonly type: 'tool-approval';
  /** The id of the `tool-call` waiting for approval. */
  readonly id: string;
  /** The tool's name. */
  readonly name: string;
  /** The call's arguments, as validated by the tool's `input` schema. */
  readonly args: unknown;
}

/**
 * One model call of a tool loop ended (it stands where that call's `finish` was): its index from 0, why it
 * ended, and what it used. `runTools()` ends with one `finish` for the whole loop.
 */
export interface StepEvent {
  /** The discriminant. */
  readonly type: 'step';
  /** The step's position in the loop, from 0. */
  readonly index: number;
  /** Why this call ended (`tool-calls` when it asked for tools). */
  readonly reason: FinishReason;
  /** The vendor's own finish value, when it sent one. */
  readonly raw?: string;
  /** This call's token counts. */
  readonly usage: Usage;
  /** This call's cost in dollars. */
  readonly cost: Cost;
}

/**
 * The one event model every provider and every pipeline emits.
 *
 * A successful stream reads `start (text | reasoning | tool-call-delta | tool-call | usage)* finish`;
 * policies may add `route`, `fallback` and `reset` events; `streamObject()` adds `object` and `element`, and
 * `runTools()` adds `tool-result`, `tool-approval` and `step`. A failed stream ends with an `LLMError`.
 */
export type TokenEvent =
  | StartEvent
  | TextEvent
  | ReasoningEvent
  | ToolCallDeltaEvent
  | ToolCallEvent
  | UsageEvent
  | FinishEvent
  | FallbackEvent
  | ResetEvent
  | RouteEvent
  | ObjectEvent
  | ElementEvent
  | ToolResultEvent
  | ToolApprovalEvent
  | StepEvent;

/** The `type` tag of every event. */
export type TokenEventType = TokenEvent['type'];

/**
 * True for events that carry part of the answer (`text`, `reasoning`, tool calls).
 * Intuition: once one reached a subscriber, a retry would duplicate it.
 *
 * ## Example
 * ```ts
 * gpt.stream(request).pipe(filter(isContentEvent)).subscribe(render);
 * ```
 *
 * @param event Any event.
 * @returns Whether it is content.
 */
export function isContentEvent(event: TokenEvent): boolean {
  switch (event.type) {
    case 'text':
    case 'reasoning':
    case 'tool-call-delta':
    case 'tool-call':
    case 'object':
    case 'element':
    case 'tool-result':
      return true;
    case 'tool-approval':
    case 'step':
    case 'start':
    case 'usage':
    case 'finish':
    case 'fallback':
    case 'reset':
    case 'route':
      return false;
    default:
      return assertNever(event);
  }
}

/**
 * Exhaustiveness guard for switches over discriminated unions: the compiler rejects the call when a case
 * is missing, and it throws if a value the types ruled out arrives anyway.
 *
 * ## Example
 * ```ts
 * function label(event: TokenEvent): string {
 *   switch (event.type) {
 *     case 'text':
 *     case 'reasoning':
 *       return event.text;
 *     case 'start':
 *     case 'tool-call-delta':
 *     case 'tool-call':
 *     case 'usage':
 *     case 'finish':
 *     case 'fallback':
 *     case 'reset':
 *     case 'route':
 *     case 'object':
 *     case 'element':
 *     case 'tool-result':
 *     case 'tool-approval':
 *     case 'step':
 *       return event.type;
 *     default:
 *       return assertNever(event);
 *   }
 * }
 * ```
 *
 * @param value The value no case matched (of type `never` when the switch is exhaustive).
 * @returns Never: it throws.
 */
export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}

/** Zero usage, the starting point for accumulating. */
export const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0 });

/** Zero cost: a cached replay or a local model. */
export const ZERO_COST: Cost = Object.freeze({ input: 0, output: 0, total: 0 });
