/**
 * What the simulator does for one request: the answer (text, tool calls, usage), its pacing, and an
 * optional fault. Every field has a default, so `{}` answers "Hello from the simulator."
 */
export interface Scenario {
  /** The answer: a string (split into word tokens) or the exact text chunks to send. */
  readonly text?: string | readonly string[];
  /** Tool calls to stream after the text, each in `chunks` argument pieces (default 3). */
  readonly toolCalls?: readonly SimToolCall[];
  /** Normalized finish; the protocol sends its vendor's raw value. Default `stop` (`tool-calls` with tools). */
  readonly finish?: SimFinish;
  /** Reported token counts. Default: input estimated from the request, output = number of chunks. */
  readonly usage?: {
    /** Prompt tokens. */
    readonly inputTokens: number;
    /** Answer tokens. */
    readonly outputTokens: number;
    /** Prompt tokens read from the cache. */
    readonly cachedInputTokens?: number;
  };
  /** Model name the response reports. Default: the model the request asked for. */
  readonly model?: string;
  /** Delay before the first content chunk (headers and opening frames go at once). */
  readonly firstTokenDelayMs?: number;
  /** Delay between content chunks. */
  readonly tokenDelayMs?: number;
  /** A failure to inject instead of (or in the middle of) the answer. */
  readonly fault?: Fault;
  /** Extra response headers. */
  readonly headers?: { readonly [name: string]: string };
}

/** A tool call the simulator streams: its name, its arguments (as JSON), and in how many pieces. */
export interface SimToolCall {
  /** The call id. Default: generated. */
  readonly id?: string;
  /** The tool's name. */
  readonly name: string;
  /** The arguments, sent as JSON. */
  readonly args: unknown;
  /** Pieces the JSON is streamed in. Default 3. */
  readonly chunks?: number;
}

/** Finish reasons the simulator can send, normalized. */
export type SimFinish = 'stop' | 'length' | 'tool-calls' | 'content-filter';

/**
 * Faults the simulator injects, as vendors show them.
 *
 * - `status`: an HTTP error with the vendor's error body (429 with `retry-after`, 500, 503, 529, 400, …).
 * - `reset-before-headers`: the socket is destroyed before any response byte.
 * - `reset-after`: the socket is destroyed after `tokens` content chunks.
 * - `error-event`: HTTP 200, then the vendor's in-stream error after `tokens` chunks (0: before content,
 *   as Anthropic does with `overloaded_error`).
 * - `stall`: after `tokens` chunks nothing more is sent; the socket stays open until the client leaves.
 * - `malformed`: after `tokens` chunks a frame that is not valid JSON.
 * - `truncate`: after `tokens` chunks the body ends cleanly but without the vendor's terminal frames.
 */
export type Fault =
  | {
      /** An HTTP error response. */
      readonly type: 'status';
      /** The HTTP status. */
      readonly status: number;
      /** The message in the vendor's error body. */
      readonly message?: string;
      /** `retry-after` header value: seconds as a number, or any string (an HTTP date). */
      readonly retryAfter?: number | string;
      /** `retry-after-ms` header value. */
      readonly retryAfterMs?: number;
    }
  | {
      /** The socket is destroyed before any response byte. */
      readonly type: 'reset-before-headers';
    }
  | {
      /** The socket is destroyed mid-stream. */
      readonly type: 'reset-after';
      /** Content chunks sent first. */
      readonly tokens: number;
    }
  | {
      /** The vendor's in-stream error event after HTTP 200. */
      readonly type: 'error-event';
      /** Content chunks sent first (0: before content). */
      readonly tokens: number;
      /** Which vendor error. Default `overloaded`. */
      readonly error?: SimErrorKind;
      /** The error's message. */
      readonly message?: string;
    }
  | {
      /** Nothing more is sent; the socket stays open. */
      readonly type: 'stall';
      /** Content chunks sent first. */
      readonly tokens: number;
    }
  | {
      /** A frame that is not valid JSON. */
      readonly type: 'malformed';
      /** Content chunks sent first. */
      readonly tokens: number;
    }
  | {
      /** The body ends cleanly without the vendor's terminal frames. */
      readonly type: 'truncate';
      /** Content chunks sent first. */
      readonly tokens: number;
    };

/** Kinds of in-stream errors the simulator can send. */
export type SimErrorKind = 'overloaded' | 'server' | 'rate_limit' | 'invalid_request';

/** A scenario with every default resolved, ready for a protocol to render. */
export interface ResolvedScenario {
  /** The model name the response reports. */
  readonly model: string;
  /** The text chunks to send, in order. */
  readonly textChunks: readonly string[];
  /** The tool calls to stream after the text. */
  readonly toolCalls: readonly ResolvedToolCall[];
  /** The normalized finish reason. */
  readonly finish: SimFinish;
  /** The token counts to report. */
  readonly usage: {
    /** Prompt tokens. */
    readonly inputTokens: number;
    /** Answer tokens. */
    readonly outputTokens: number;
    /** Prompt tokens read from the cache. */
    readonly cachedInputTokens?: number;
  };
}

/** A scripted tool call with its id and its arguments' JSON cut into the pieces to send. */
export interface ResolvedToolCall {
  /** The call id. */
  readonly id: string;
  /** The tool's name. */
  readonly name: string;
  /** The arguments as JSON text. */
  readonly argsJson: string;
  /** `argsJson` cut into the pieces to stream. */
  readonly argChunks: readonly string[];
}

/** The text the simulator answers when a scenario gives none. */
export const DEFAULT_TEXT = 'Hello from the simulator.';

/**
 * Splits text into word tokens, each with its leading space (" capital"), as vendors stream them.
 *
 * ## Example
 * ```ts
 * splitTokens('The capital is Paris.'); // ['The', ' capital', ' is', ' Paris.']
 * ```
 *
 * @param text The answer.
 * @returns Its tokens, which join back to `text`.
 */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? (text.length > 0 ? [text] : []);
}

function cut(text: string, pieces: number): string[] {
  const n = Math.max(1, Math.min(pieces, text.length));
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

/**
 * Resolves a scenario's defaults against the request (its model and prompt size): what a protocol
 * renders.
 *
 * ## Example
 * ```ts
 * resolveScenario({ text: 'Paris.' }, 'gpt-4o-mini', 40).textChunks; // ['Paris.']
 * ```
 *
 * @param scenario The scenario as scripted.
 * @param requestModel The model the request asked for.
 * @param promptChars The prompt's length, for the default input token count.
 * @returns The scenario with every default filled in.
 */
export function resolveScenario(
  scenario: Scenario,
  requestModel: string,
  promptChars: number,
): ResolvedScenario {
  const textChunks =
    scenario.text === undefined
      ? scenario.toolCalls?.length
        ? []
        : splitTokens(DEFAULT_TEXT)
      : typeof scenario.text === 'string'
        ? splitTokens(scenario.text)
        : [...scenario.text];
  const toolCalls = (scenario.toolCalls ?? []).map((call, i): ResolvedToolCall => {
    const argsJson = JSON.stringify(call.args);
    return {
      id: call.id ?? `call_${i}`,
      name: call.name,
      argsJson,
      argChunks: cut(argsJson, call.chunks ?? 3),
    };
  });
  const outputTokens = textChunks.length + toolCalls.reduce((n, c) => n + c.argChunks.length, 0);
  return {
    model: scenario.model ?? requestModel,
    textChunks,
    toolCalls,
    finish: scenario.finish ?? (toolCalls.length > 0 ? 'tool-calls' : 'stop'),
    usage: scenario.usage ?? { inputTokens: Math.max(1, Math.ceil(promptChars / 4)), outputTokens },
  };
}
