import type { RenderedStream, WireProtocol } from '../protocol.js';
import type { ResolvedScenario, SimErrorKind, SimFinish } from '../scenario.js';

/** One SSE event as Anthropic writes it: `event:` name, one `data:` line, a blank line (LF endings). */
function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

const STOP_REASON: { readonly [finish in SimFinish]: string } = {
  stop: 'end_turn',
  length: 'max_tokens',
  'tool-calls': 'tool_use',
  'content-filter': 'refusal',
};

const STREAM_ERROR_TYPE: { readonly [kind in SimErrorKind]: string } = {
  overloaded: 'overloaded_error',
  server: 'api_error',
  rate_limit: 'rate_limit_error',
  invalid_request: 'invalid_request_error',
};

/** Anthropic's `error.type` for an HTTP status, as its API documents them. */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

let requestCounter = 0;
const requestId = (): string => `req_sim${String(++requestCounter).padStart(20, '0')}`;

/**
 * Anthropic's Messages API as the simulator speaks it: `POST /v1/messages`, SSE frames exactly as the
 * API writes them (`message_start`, `content_block_start`, a `ping`, `content_block_delta`s with
 * `text_delta` / `input_json_delta`, `content_block_stop`, `message_delta` with the stop reason and
 * cumulative usage, `message_stop`); HTTP errors as `{"type":"error","error":{"type":…,"message":…}}`
 * with a `request-id` header (529 for `overloaded_error`); in-stream errors as `event: error`.
 *
 * Content frames carry the block boundaries: the first frame of a block opens it (closing the block
 * before), so faults that cut after N content chunks leave blocks open as a real cut-off stream does.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [anthropicProtocol] });
 * sim.enqueue({ fault: { type: 'error-event', tokens: 0, error: 'overloaded' } });
 * const claude = anthropic({ apiKey: 'test-key', baseURL: sim.url, model: 'claude-haiku-4-5' });
 * ```
 *
 * @see createSimulator
 */
export const anthropicProtocol: WireProtocol = {
  name: 'anthropic',
  contentType: 'text/event-stream; charset=utf-8',
  matches: (method, pathname) => method === 'POST' && pathname === '/v1/messages',
  requestModel: (_pathname, body) => {
    const model = (body as { model?: unknown } | undefined)?.model;
    return typeof model === 'string' ? model : 'claude-unknown';
  },
  render: (scenario, responseId) => render(scenario, responseId),
  errorResponse: (status, message) => {
    const id = requestId();
    return {
      body: JSON.stringify({ type: 'error', error: { type: errorType(status), message }, request_id: id }),
      headers: { 'request-id': id, 'x-should-retry': String(status === 429 || status >= 500) },
    };
  },
  errorFrame: (kind, message) =>
    // The API writes this payload with spaces after separators, unlike its other frames.
    sse(
      'error',
      `{"type": "error", "error": {"type": "${STREAM_ERROR_TYPE[kind]}", "message": ${JSON.stringify(message)}}}`,
    ),
  malformedFrame: () =>
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n',
};

function render(scenario: ResolvedScenario, responseId: string): RenderedStream {
  const cached = scenario.usage.cachedInputTokens ?? 0;
  const usage = {
    input_tokens: scenario.usage.inputTokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
  const head = [
    sse('message_start', {
      type: 'message_start',
      message: {
        model: scenario.model,
        id: `msg_${responseId.replace(/[^A-Za-z0-9]/g, '')}`,
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          ...usage,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          output_tokens: 1,
          service_tier: 'standard',
        },
      },
    }),
  ];

  const content: string[] = [];
  let index = -1;
  /** The frames that close the open block (if any) and open block `index + 1`. */
  const open = (block: unknown): string => {
    const close = index >= 0 ? sse('content_block_stop', { type: 'content_block_stop', index }) : '';
    index++;
    const start = sse('content_block_start', { type: 'content_block_start', index, content_block: block });
    return index === 0 ? close + start + sse('ping', '{"type": "ping"}') : close + start;
  };
  const delta = (d: unknown): string =>
    sse('content_block_delta', { type: 'content_block_delta', index, delta: d });

  scenario.textChunks.forEach((text, i) => {
    const prefix = i === 0 ? open({ type: 'text', text: '' }) : '';
    content.push(prefix + delta({ type: 'text_delta', text }));
  });
  for (const call of scenario.toolCalls) {
    const prefix = open({ type: 'tool_use', id: call.id, name: call.name, input: {} });
    // The API opens every tool argument stream with an empty piece.
    const first = prefix + delta({ type: 'input_json_delta', partial_json: '' });
    call.argChunks.forEach((piece, i) =>
      content.push((i === 0 ? first : '') + delta({ type: 'input_json_delta', partial_json: piece })),
    );
  }

  const tail: string[] = [];
  if (index >= 0) tail.push(sse('content_block_stop', { type: 'content_block_stop', index }));
  tail.push(
    sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: STOP_REASON[scenario.finish], stop_sequence: null },
      usage: { ...usage, output_tokens: scenario.usage.outputTokens },
    }),
    sse('message_stop', { type: 'message_stop' }),
  );
  return { head, content, tail };
}
