import { LLMError } from '../../core/errors.js';
import { assertNever } from '../../core/events.js';
import type { ChatRequest, ContentPart, Message, ToolDefinition } from '../../core/request.js';
import type {
  OllamaChatBody,
  OllamaMessage,
  OllamaSamplingOptions,
  OllamaThink,
  OllamaTool,
} from './chunks.js';

/** What the factory adds to every request: the model and its server-side settings. */
export interface OllamaRequestContext {
  readonly provider: string;
  readonly model: string;
  readonly keepAlive?: string | number;
  readonly think?: OllamaThink;
}

/**
 * Builds the body of `POST /api/chat` from a normalized request (pure).
 *
 * Intuition: messages keep their roles, images become base64 strings, tools their JSON Schemas, and
 * the sampling settings move under `options`.
 *
 * - `toolChoice: 'none'` sends no tools (Ollama has no tool choice); `{ name }` sends only that tool;
 *   `'required'` cannot be enforced and sends every tool.
 * - `responseFormat` json → `format: 'json'`, or the schema itself when one is given.
 * - `providerOptions.ollama` is merged last; its `options` object is merged into the sampling options.
 *
 * ## Example
 * ```ts
 * const body = toOllamaRequest(
 *   { messages: [{ role: 'user', content: 'Hi' }], maxTokens: 32 },
 *   { provider: 'ollama', model: 'llama3.2' },
 * );
 * // { model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }], stream: true, options: { num_predict: 32 } }
 * ```
 *
 * @param request The normalized request.
 * @param context The provider name, the model, and the factory's `keepAlive` and `think`.
 * @returns The JSON body to send.
 * @throws LLMError `invalid_request` for an image given by an `http(s):` URL (Ollama takes bytes only).
 */
export function toOllamaRequest(request: ChatRequest, context: OllamaRequestContext): OllamaChatBody {
  const model = request.model ?? context.model;
  const messages = request.messages.map((m) => toOllamaMessage(m, context.provider, model));
  const tools = selectTools(request);
  const options: OllamaSamplingOptions = {
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.maxTokens !== undefined && { num_predict: request.maxTokens }),
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.stop !== undefined && request.stop.length > 0 && { stop: [...request.stop] }),
  };
  const extra = request.providerOptions?.['ollama'] ?? {};
  const extraOptions = isRecord(extra['options']) ? extra['options'] : {};
  const mergedOptions = { ...options, ...extraOptions };
  const format = request.responseFormat ? (request.responseFormat.schema ?? ('json' as const)) : undefined;
  return {
    model,
    messages,
    stream: true,
    ...(tools.length > 0 && { tools }),
    ...(format !== undefined && { format }),
    ...(context.keepAlive !== undefined && { keep_alive: context.keepAlive }),
    ...(context.think !== undefined && { think: context.think }),
    ...extra,
    ...(Object.keys(mergedOptions).length > 0 && { options: mergedOptions }),
  };
}

function selectTools(request: ChatRequest): OllamaTool[] {
  const tools = request.tools ?? [];
  const choice = request.toolChoice;
  if (choice === 'none') return [];
  const chosen = typeof choice === 'object' ? tools.filter((t) => t.name === choice.name) : tools;
  return chosen.map(toOllamaTool);
}

function toOllamaTool(tool: ToolDefinition): OllamaTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      parameters: tool.parameters,
    },
  };
}

function toOllamaMessage(message: Message, provider: string, model: string): OllamaMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return toUserMessage(message.content, provider, model);
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls !== undefined &&
          message.toolCalls.length > 0 && {
            tool_calls: message.toolCalls.map((call) => ({
              function: { name: call.name, arguments: call.args },
            })),
          }),
      };
    case 'tool':
      return {
        role: 'tool',
        content: message.content,
        ...(message.name !== undefined && { tool_name: message.name }),
      };
    default:
      return assertNever(message);
  }
}

function toUserMessage(
  content: string | readonly ContentPart[],
  provider: string,
  model: string,
): OllamaMessage {
  if (typeof content === 'string') return { role: 'user', content };
  let text = '';
  const images: string[] = [];
  for (const part of content) {
    switch (part.type) {
      case 'text':
        text += part.text;
        break;
      case 'image':
        images.push(imageBytes(part, provider, model));
        break;
      default:
        assertNever(part);
    }
  }
  return { role: 'user', content: text, ...(images.length > 0 && { images }) };
}

const DATA_URL = /^data:[^,;]*(?:;[^,;]*)*;base64,/i;

/** Base64 bytes of an image part: `data` as is, or a base64 `data:` URL without its prefix. */
function imageBytes(
  part: { readonly url?: string; readonly data?: string },
  provider: string,
  model: string,
): string {
  if (part.data !== undefined) return part.data.replace(DATA_URL, '');
  const url = part.url ?? '';
  const prefix = DATA_URL.exec(url);
  if (prefix) return url.slice(prefix[0].length);
  const shown = url.startsWith('data:') ? 'a data: URL that is not base64' : `the URL ${url.slice(0, 100)}`;
  throw new LLMError(
    'invalid_request',
    `${provider}: Ollama takes images as base64 bytes only, not ${shown}; fetch the image and pass its bytes as \`data\``,
    { provider, model, retryable: false },
  );
}

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
