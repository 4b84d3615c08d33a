import type { RenderedStream, WireProtocol } from '../protocol.js';
import type { ResolvedScenario, SimErrorKind, SimFinish } from '../scenario.js';

const PATH = /^\/(?:v1beta|v1|v1alpha)\/((?:models|tunedModels)\/[^/:]+):streamGenerateContent$/;

// Google's canonical error status for each HTTP status (google.rpc.Code).
const STATUS_NAMES: { readonly [status: number]: string } = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const IN_STREAM: { readonly [kind in SimErrorKind]: { readonly code: number; readonly status: string } } = {
  overloaded: { code: 503, status: 'UNAVAILABLE' },
  server: { code: 500, status: 'INTERNAL' },
  rate_limit: { code: 429, status: 'RESOURCE_EXHAUSTED' },
  invalid_request: { code: 400, status: 'INVALID_ARGUMENT' },
};

function finishReason(finish: SimFinish): string {
  switch (finish) {
    case 'stop':
    case 'tool-calls':
      return 'STOP';
    case 'length':
      return 'MAX_TOKENS';
    case 'content-filter':
      return 'SAFETY';
  }
}

/** A JSON string as Google writes it: HTML-sensitive characters and U+2028/U+2029 as `\u` escapes. */
function googleString(text: string): string {
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** JSON in the layout of Google's SSE frames: `"key": value` pairs joined by a bare comma. */
function googleJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return googleString(value);
  if (Array.isArray(value)) return `[${value.map(googleJson).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${googleString(k)}: ${googleJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function frame(value: unknown): string {
  return `data: ${googleJson(value)}\r\n\r\n`;
}

function retryDelay(ms: number): string {
  return Number.isInteger(ms / 1000) ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}

/**
 * Google Gemini's `streamGenerateContent?alt=sse`, as the simulator speaks it.
 *
 * Serves `POST /{v1beta|v1}/models/{model}:streamGenerateContent` (the model comes from the path).
 * Frames follow Google's: `data: ` lines only, CRLF line endings, `"key": value` layout with HTML-safe
 * escapes, `usageMetadata` (prompt counts only) on every chunk. Each text chunk and each function call
 * (whole, `args` as an object, `id` only when the scenario named one) is one frame; a last frame with
 * an empty text part carries `finishReason` (`STOP`, `MAX_TOKENS`, or `SAFETY` with blocked
 * `safetyRatings` and no content) and the full usage. Errors are Google's: `{ error: { code, message,
 * status } }` with the canonical status name (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`, `INTERNAL`, …), a
 * `google.rpc.RetryInfo` detail when the fault sets a retry delay, and the same object as an in-stream
 * `data:` frame.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [geminiProtocol] });
 * const flash = gemini({ apiKey: 'test', baseURL: sim.url, model: 'gemini-2.0-flash' });
 * ```
 */
export const geminiProtocol: WireProtocol = {
  name: 'gemini',
  contentType: 'text/event-stream',

  matches: (method, pathname) => method === 'POST' && PATH.test(pathname),

  requestModel(pathname) {
    const name = PATH.exec(pathname)?.[1] ?? 'models/unknown';
    return decodeURIComponent(name.startsWith('models/') ? name.slice('models/'.length) : name);
  },

  render(scenario: ResolvedScenario, responseId: string): RenderedStream {
    const { inputTokens, outputTokens, cachedInputTokens } = scenario.usage;
    const promptDetails = [{ modality: 'TEXT', tokenCount: inputTokens }];
    const partial = {
      promptTokenCount: inputTokens,
      totalTokenCount: inputTokens,
      promptTokensDetails: promptDetails,
    };
    const chunk = (candidate: unknown, usageMetadata: unknown): string =>
      frame({ candidates: [candidate], usageMetadata, modelVersion: scenario.model, responseId });
    const content = (part: unknown): string =>
      chunk({ content: { parts: [part], role: 'model' }, index: 0 }, partial);

    const frames = scenario.textChunks.map((text) => content({ text }));
    scenario.toolCalls.forEach((call, i) => {
      const id = call.id === `call_${i}` ? undefined : call.id;
      frames.push(
        content({ functionCall: { id, name: call.name, args: JSON.parse(call.argsJson) as unknown } }),
      );
    });

    const reason = finishReason(scenario.finish);
    const usage = {
      promptTokenCount: inputTokens,
      candidatesTokenCount: outputTokens,
      totalTokenCount: inputTokens + outputTokens,
      cachedContentTokenCount: cachedInputTokens,
      promptTokensDetails: promptDetails,
      cacheTokensDetails:
        cachedInputTokens !== undefined ? [{ modality: 'TEXT', tokenCount: cachedInputTokens }] : undefined,
      candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: outputTokens }],
    };
    const last =
      reason === 'SAFETY'
        ? {
            finishReason: reason,
            index: 0,
            safetyRatings: [
              { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
              { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
              { category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true },
              { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'NEGLIGIBLE' },
            ],
          }
        : { content: { parts: [{ text: '' }], role: 'model' }, finishReason: reason, index: 0 };
    return { head: [], content: frames, tail: [chunk(last, usage)] };
  },

  errorResponse(status, message, fault) {
    const delayMs =
      fault?.retryAfterMs ?? (typeof fault?.retryAfter === 'number' ? fault.retryAfter * 1000 : undefined);
    const error = {
      code: status,
      message,
      status: STATUS_NAMES[status] ?? 'UNKNOWN',
      ...(delayMs !== undefined && {
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: retryDelay(delayMs) }],
      }),
    };
    return {
      body: `${JSON.stringify({ error }, null, 2)}\n`,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    };
  },

  errorFrame(kind, message) {
    const { code, status } = IN_STREAM[kind];
    return frame({ error: { code, message, status } });
  },

  malformedFrame: () => 'data: {"candidates": [{"content": {"parts": [{"text": "cut off\r\n\r\n',
};
