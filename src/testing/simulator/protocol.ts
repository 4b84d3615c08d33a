import type { Fault, ResolvedScenario, SimErrorKind } from './scenario.js';

/** A rendered response body, as the frames a vendor would write (each a complete SSE event or NDJSON line). */
export interface RenderedStream {
  /** Frames before any content (Anthropic's `message_start`, OpenAI's role chunk). */
  readonly head: readonly string[];
  /** One frame per content chunk (a text delta or a piece of tool arguments); faults count these. */
  readonly content: readonly string[];
  /** Closing frames: finish, usage and the terminal marker. A `truncate` fault drops them. */
  readonly tail: readonly string[];
}

/**
 * One vendor's wire protocol, as the simulator speaks it: which requests it serves, how it renders a
 * scenario, and how it writes errors (HTTP error bodies and in-stream error frames).
 */
export interface WireProtocol {
  /** The vendor. */
  readonly name: 'openai' | 'anthropic' | 'gemini' | 'ollama';
  /** `text/event-stream` or `application/x-ndjson`. */
  readonly contentType: string;
  /** Whether this protocol serves a request to `pathname`. */
  matches(method: string, pathname: string): boolean;
  /** The model the request asks for, from its body or path. */
  requestModel(pathname: string, body: unknown): string;
  /**
   * Renders the answer. `requestBody` is the parsed request, for protocols whose frames depend on what was
   * asked (OpenAI sends its usage chunk only when `stream_options.include_usage` is set).
   */
  render(scenario: ResolvedScenario, responseId: string, requestBody?: unknown): RenderedStream;
  /**
   * The body (and extra headers) the vendor sends with an HTTP error status. `fault` is the scenario's
   * status fault, for vendors that put the retry delay in the body too (Google's `RetryInfo`).
   */
  errorResponse(
    status: number,
    message: string,
    fault?: Extract<Fault, { readonly type: 'status' }>,
  ): {
    /** The vendor's error body. */
    readonly body: string;
    /** Extra response headers. */
    readonly headers?: Record<string, string>;
  };
  /** An in-stream error frame, sent after HTTP 200. */
  errorFrame(kind: SimErrorKind, message: string): string;
  /** A frame whose payload is not valid JSON. */
  malformedFrame(): string;
}
