import type { RenderedStream, WireProtocol } from '../protocol.js';
import type { ResolvedScenario, SimErrorKind, SimFinish } from '../scenario.js';

/** Where the simulated timestamps start (Ollama stamps every line with the time it was generated). */
const EPOCH = Date.UTC(2025, 10, 19, 14, 3, 21, 118);

/** Ollama's `done_reason` for a finish. Ollama has no safety finish: a content filter renders as `stop`. */
function doneReason(finish: SimFinish): string {
  switch (finish) {
    case 'length':
      return 'length';
    case 'stop':
    case 'tool-calls':
    case 'content-filter':
      return 'stop';
  }
}

/** `JSON.stringify` as Go's encoder writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function line(value: unknown): string {
  return `${goJson(value)}\n`;
}

/**
 * The simulator's Ollama: `POST /api/chat`, answered as `application/x-ndjson`, one JSON object per
 * line ending in `\n`, exactly as the Ollama server writes it.
 *
 * Intuition: no opening frame; each text chunk is a line `{model, created_at, message: {role, content},
 * done: false}`; each tool call comes whole in its own line (arguments as an object, with `function.index`;
 * an `id` only when the scenario named one other than the default `call_<i>`, as older servers send none);
 * the last line has `done: true`, `done_reason` and the counts and durations.
 *
 * - HTTP errors: `{"error": "…"}` with the status (404 model not found, 400, 500, 503 server busy, …).
 * - In-stream error (after HTTP 200): a line `{"error": "…"}`; Ollama sends no code, only the message.
 * - Malformed frame: a line cut off in the middle of its JSON, then `\n`.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [ollamaProtocol] });
 * sim.enqueue({ text: 'The sky is blue.' });
 * const llama = ollama({ host: sim.url, model: 'llama3.2' });
 * ```
 */
export const ollamaProtocol: WireProtocol = {
  name: 'ollama',
  contentType: 'application/x-ndjson',

  matches: (method, pathname) => method === 'POST' && pathname === '/api/chat',

  requestModel: (_pathname, body) => {
    const model = (body as { model?: unknown } | undefined)?.model;
    return typeof model === 'string' ? model : '';
  },

  render(scenario: ResolvedScenario): RenderedStream {
    let tick = 0;
    const stamp = (): string => new Date(EPOCH + 12 * tick++).toISOString().replace(/Z$/, '000Z');
    const chunk = (message: object): string =>
      line({
        model: scenario.model,
        created_at: stamp(),
        message: { role: 'assistant', ...message },
        done: false,
      });
    const content = [
      ...scenario.textChunks.map((text) => chunk({ content: text })),
      ...scenario.toolCalls.map((call, index) =>
        chunk({
          content: '',
          tool_calls: [
            {
              ...(call.id !== `call_${index}` && { id: call.id }),
              function: {
                index,
                name: call.name,
                arguments: (call.argsJson === undefined ? {} : JSON.parse(call.argsJson)) as unknown,
              },
            },
          ],
        }),
      ),
    ];
    const final = line({
      model: scenario.model,
      created_at: stamp(),
      message: { role: 'assistant', content: '' },
      done_reason: doneReason(scenario.finish),
      done: true,
      total_duration: 1_843_302_125,
      load_duration: 28_477_458,
      prompt_eval_count: scenario.usage.inputTokens,
      prompt_eval_duration: 160_114_500,
      eval_count: scenario.usage.outputTokens,
      eval_duration: 1_652_801_291,
    });
    return { head: [], content, tail: [final] };
  },

  errorResponse: (_status, message) => ({ body: goJson({ error: message }) }),

  errorFrame: (_kind: SimErrorKind, message: string) => line({ error: message }),

  malformedFrame: () =>
    '{"model":"llama3.2","created_at":"2025-11-19T14:03:22.4Z","message":{"role":"assist\n',
};
