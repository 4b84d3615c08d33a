/**
 * The chunks Gemini's `streamGenerateContent?alt=sse` sends: one `GenerateContentResponse` per SSE
 * `data:` frame (what `@google/generative-ai` yields from `generateContentStream().stream`).
 *
 * Only the fields rxllm reads are typed; the rest pass through untouched.
 */

/**
 * A function call the model asks for. Gemini sends it whole (arguments already an object), rarely with an id.
 *
 * ## Example
 * ```ts
 * const call: GeminiFunctionCall = { name: 'weather', args: { city: 'Paris' } };
 * ```
 */
export interface GeminiFunctionCall {
  readonly id?: string;
  readonly name: string;
  readonly args?: { readonly [key: string]: unknown };
}

/**
 * One part of a candidate's content: text (a thought summary when `thought` is true), a function call,
 * or a kind rxllm does not map (inline data, executable code, code results).
 *
 * ## Example
 * ```ts
 * const part: GeminiPart = { text: 'Let me think…', thought: true };
 * ```
 */
export interface GeminiPart {
  readonly text?: string;
  readonly thought?: boolean;
  readonly thoughtSignature?: string;
  readonly functionCall?: GeminiFunctionCall;
  readonly [key: string]: unknown;
}

/**
 * A safety rating Gemini attaches to a prompt or candidate.
 *
 * ## Example
 * ```ts
 * const rating: GeminiSafetyRating = { category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true };
 * ```
 */
export interface GeminiSafetyRating {
  readonly category: string;
  readonly probability: string;
  readonly blocked?: boolean;
}

/**
 * One candidate answer; rxllm reads the first. `finishReason` marks the candidate's last chunk.
 *
 * ## Example
 * ```ts
 * const last: GeminiCandidate = { content: { parts: [{ text: '.' }], role: 'model' }, finishReason: 'STOP', index: 0 };
 * ```
 */
export interface GeminiCandidate {
  readonly content?: { readonly role?: string; readonly parts?: readonly GeminiPart[] };
  readonly finishReason?: string;
  readonly finishMessage?: string;
  readonly index?: number;
  readonly safetyRatings?: readonly GeminiSafetyRating[];
}

/**
 * Token counts. Gemini repeats them on every chunk; the last chunk's are final.
 *
 * ## Example
 * ```ts
 * const usage: GeminiUsageMetadata = { promptTokenCount: 11, candidatesTokenCount: 52, totalTokenCount: 63 };
 * ```
 */
export interface GeminiUsageMetadata {
  readonly promptTokenCount?: number;
  readonly candidatesTokenCount?: number;
  readonly totalTokenCount?: number;
  readonly cachedContentTokenCount?: number;
  readonly thoughtsTokenCount?: number;
  readonly toolUsePromptTokenCount?: number;
}

/**
 * Why the prompt itself was refused (then no candidate is sent).
 *
 * ## Example
 * ```ts
 * const feedback: GeminiPromptFeedback = { blockReason: 'SAFETY' };
 * ```
 */
export interface GeminiPromptFeedback {
  readonly blockReason?: string;
  readonly blockReasonMessage?: string;
  readonly safetyRatings?: readonly GeminiSafetyRating[];
}

/**
 * Google's error object: `{ code: 429, message, status: 'RESOURCE_EXHAUSTED', details: [...] }`.
 *
 * ## Example
 * ```ts
 * const error: GeminiErrorBody = { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' };
 * ```
 */
export interface GeminiErrorBody {
  readonly code?: number;
  readonly message?: string;
  readonly status?: string;
  readonly details?: readonly unknown[];
}

/**
 * One streamed chunk. A chunk carrying `error` (HTTP 200, then an error frame) ends the stream with
 * that error.
 *
 * ## Example
 * ```ts
 * const chunk: GeminiChunk = JSON.parse(
 *   '{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.0-flash"}',
 * );
 * ```
 */
export interface GeminiChunk {
  readonly candidates?: readonly GeminiCandidate[];
  readonly promptFeedback?: GeminiPromptFeedback;
  readonly usageMetadata?: GeminiUsageMetadata;
  readonly modelVersion?: string;
  readonly responseId?: string;
  readonly error?: GeminiErrorBody;
}
