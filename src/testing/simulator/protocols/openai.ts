import { assertNever } from '../../../core/events.js';
import type { RenderedStream, WireProtocol } from '../protocol.js';
import type { ResolvedScenario, SimErrorKind, SimFinish } from '../scenario.js';

const CREATED = 1752105377;
const FINGERPRINT = 'fp_sim0000001';

function frame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

function rawFinish(finish: SimFinish): string {
  switch (finish) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return assertNever(finish);
  }
}

function wantsUsage(body: unknown): boolean {
  const options = (body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options;
  return options?.include_usage === true;
}

interface OpenAIErrorBody {
  readonly message: string;
  readonly type: string;
  readonly param: null;
  readonly code: string | null;
}

function errorBody(status: number, message: string): OpenAIErrorBody {
  switch (status) {
    case 401:
      return { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' };
    case 403:
      return {
        message,
        type: 'invalid_request_error',
        param: null,
        code: 'unsupported_country_region_territory',
      };
    case 404:
      return { message, type: 'invalid_request_error', param: null, code: 'model_not_found' };
    case 429:
      // OpenAI answers an exhausted balance with 429 too, under its own code.
      return /quota/i.test(message)
        ? { message, type: 'insufficient_quota', param: null, code: 'insufficient_quota' }
        : { message, type: 'requests', param: null, code: 'rate_limit_exceeded' };
    case 529:
      // Not an OpenAI status: a generic "overloaded" body, as a proxy in front of a compatible server writes.
      return { message, type: 'overloaded_error', param: null, code: null };
    default:
      return status >= 500
        ? { message, type: 'server_error', param: null, code: null }
        : { message, type: 'invalid_request_error', param: null, code: null };
  }
}

function streamError(kind: SimErrorKind, message: string): OpenAIErrorBody {
  switch (kind) {
    case 'overloaded':
      return errorBody(529, message);
    case 'server':
      return errorBody(500, message);
    case 'rate_limit':
      return errorBody(429, message);
    case 'invalid_request':
      return errorBody(400, message);
    default:
      return assertNever(kind);
  }
}

let requestCounter = 0;

/**
 * OpenAI chat completions streaming, as `api.openai.com` speaks it: `POST /v1/chat/completions` (or any path
 * ending in `/chat/completions`, so compatible base URLs such as `/openai/v1` work too).
 *
 * Frames are `data: {json}\n\n`: a role chunk, one chunk per text delta or tool-argument piece (a tool call's
 * id and name ride on its first piece), a chunk with the `finish_reason`, then, only when the request set
 * `stream_options.include_usage`, a usage chunk with `choices: []` (and `"usage": null` on every other chunk,
 * as OpenAI does), and `data: [DONE]`. HTTP errors carry `{"error":{message,type,param,code}}` and an
 * `x-request-id`; an in-stream error is `data: {"error":{…}}`.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [openaiProtocol] });
 * const gpt = openai({ apiKey: 'test', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' });
 * ```
 */
export const openaiProtocol: WireProtocol = {
  name: 'openai',
  contentType: 'text/event-stream; charset=utf-8',
  matches: (method, pathname) => method === 'POST' && pathname.endsWith('/chat/completions'),
  requestModel: (_pathname, body) => {
    const model = (body as { model?: unknown } | undefined)?.model;
    return typeof model === 'string' ? model : 'unknown';
  },
  render(scenario: ResolvedScenario, responseId: string, requestBody?: unknown): RenderedStream {
    const usage = wantsUsage(requestBody);
    const chunk = (choices: readonly unknown[], extra: object = {}): string =>
      frame({
        id: `chatcmpl-${responseId}`,
        object: 'chat.completion.chunk',
        created: CREATED,
        model: scenario.model,
        service_tier: 'default',
        system_fingerprint: FINGERPRINT,
        choices,
        ...(usage && { usage: null }),
        ...extra,
      });
    const choice = (delta: object, finish: string | null = null): object => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });

    const content = scenario.textChunks.map((text) => chunk([choice({ content: text })]));
    scenario.toolCalls.forEach((call, index) => {
      call.argChunks.forEach((piece, i) => {
        const toolCall =
          i === 0
            ? { index, id: call.id, type: 'function', function: { name: call.name, arguments: piece } }
            : { index, function: { arguments: piece } };
        content.push(chunk([choice({ tool_calls: [toolCall] })]));
      });
    });

    const u = scenario.usage;
    const tail = [chunk([choice({}, rawFinish(scenario.finish))])];
    if (usage) {
      tail.push(
        chunk([], {
          usage: {
            prompt_tokens: u.inputTokens,
            completion_tokens: u.outputTokens,
            total_tokens: u.inputTokens + u.outputTokens,
            prompt_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0, audio_tokens: 0 },
            completion_tokens_details: {
              reasoning_tokens: 0,
              audio_tokens: 0,
              accepted_prediction_tokens: 0,
              rejected_prediction_tokens: 0,
            },
          },
        }),
      );
    }
    tail.push('data: [DONE]\n\n');
    const role = scenario.textChunks.length > 0 || scenario.toolCalls.length === 0 ? '' : null;
    return {
      head: [chunk([choice({ role: 'assistant', content: role, refusal: null })])],
      content,
      tail,
    };
  },
  errorResponse(status, message) {
    return {
      body: JSON.stringify({ error: errorBody(status, message) }, null, 2),
      headers: { 'x-request-id': `req_sim${String(++requestCounter).padStart(8, '0')}` },
    };
  },
  errorFrame(kind, message) {
    return frame({ error: streamError(kind, message) });
  },
  malformedFrame() {
    return 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oo\n\n';
  },
};
