import type { Scenario, SimToolCall } from './scenario.js';
import type { ScenarioHandler, SimRequest } from './server.js';

/** A tool result a request carries back to the model, read from the vendor's own body. */
export interface SimToolResult {
  /** The call id it answers (OpenAI, Anthropic; absent where the vendor keys results by name). */
  readonly id?: string;
  /** The tool's name (Gemini, and Ollama when sent). */
  readonly name?: string;
  /** The result as text (Gemini's `response` object as JSON). */
  readonly content: string;
}

type Json = { readonly [key: string]: unknown };
const list = (value: unknown): readonly Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * The tool results in a request's body, in order, the way its vendor sends them: OpenAI `tool` messages,
 * Anthropic `tool_result` blocks, Gemini `functionResponse` parts, Ollama `tool` messages.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [openaiProtocol] });
 * sim.handle((request) => (toolResultsOf(request).length > 0 ? { text: 'Done.' } : undefined));
 * ```
 *
 * @param request A request the simulator received.
 * @returns Its tool results (empty when it carries none).
 */
export function toolResultsOf(request: SimRequest): SimToolResult[] {
  const body = (request.body ?? {}) as Json;
  switch (request.protocol) {
    case 'openai':
    case 'ollama':
      return list(body.messages)
        .filter((m) => m.role === 'tool')
        .map((m) => ({
          ...(typeof m.tool_call_id === 'string' && { id: m.tool_call_id }),
          ...(typeof m.tool_name === 'string' && { name: m.tool_name }),
          content: text(m.content),
        }));
    case 'anthropic':
      return list(body.messages)
        .flatMap((m) => list(m.content))
        .filter((block) => block.type === 'tool_result')
        .map((block) => ({ id: String(block.tool_use_id), content: text(block.content) }));
    case 'gemini':
      return list(body.contents)
        .flatMap((c) => list(c.parts))
        .flatMap((part) => (part.functionResponse ? [part.functionResponse as Json] : []))
        .map((r) => ({ name: String(r.name), content: text(r.response) }));
  }
}

/**
 * A handler for a tool conversation: a request without tool results gets `calls`; one that carries
 * results gets `answer(results)`, so a tool loop runs against the simulator over any vendor.
 *
 * ## Example
 * ```ts
 * const sim = await createSimulator({ protocols: [openaiProtocol] });
 * sim.handle(toolConversation([{ name: 'weather', args: { city: 'Lyon' } }], (r) => `It is ${r[0]?.content}.`));
 * ```
 *
 * @param calls The tool calls of the first answer.
 * @param answer The text that answers the results (a function of them), or a whole scenario.
 * @returns A handler for `sim.handle()`.
 */
export function toolConversation(
  calls: readonly SimToolCall[],
  answer: (results: readonly SimToolResult[]) => string | Scenario,
): ScenarioHandler {
  return (request) => {
    const results = toolResultsOf(request);
    if (results.length === 0) return { toolCalls: calls };
    const reply = answer(results);
    return typeof reply === 'string' ? { text: reply } : reply;
  };
}
