import { LLMError } from '../../core/errors.js';
import { assertNever } from '../../core/events.js';
import { anthropicStructured } from './structured.js';
import type {
  AssistantMessage,
  ChatRequest,
  ContentPart,
  ImagePart,
  JsonSchema,
  ToolChoice,
} from '../../core/request.js';

/**
 * Output limit sent when neither the request nor the catalog gives one (Anthropic requires `max_tokens`).
 *
 * ## Example
 * ```ts
 * toAnthropicRequest(request, { model: 'my-claude-finetune', defaultMaxTokens: DEFAULT_MAX_TOKENS });
 * ```
 */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * The `anthropic-version` header the direct transport sends (the SDK sends its own).
 *
 * ## Example
 * ```ts
 * anthropic({ model: 'claude-haiku-4-5', headers: { 'anthropic-version': ANTHROPIC_VERSION } });
 * ```
 */
export const ANTHROPIC_VERSION = '2023-06-01';

/** A content block of a request message. */
export type AnthropicBlockParam =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'image';
      readonly source:
        | { readonly type: 'base64'; readonly media_type: string; readonly data: string }
        | { readonly type: 'url'; readonly url: string };
    }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly tool_use_id: string; readonly content: string };

/** One turn of the request (`system` is a top-level field, not a message). */
export interface AnthropicMessageParam {
  readonly role: 'user' | 'assistant';
  readonly content: string | readonly AnthropicBlockParam[];
}

/** The Messages API request body rxllm sends. */
export interface AnthropicRequestBody {
  readonly model: string;
  readonly max_tokens: number;
  readonly messages: readonly AnthropicMessageParam[];
  readonly stream: true;
  readonly system?: string;
  readonly tools?: readonly {
    readonly name: string;
    readonly description?: string;
    readonly input_schema: JsonSchema;
  }[];
  readonly tool_choice?: { readonly type: 'auto' | 'any' | 'none' } | { readonly type: 'tool'; name: string };
  readonly temperature?: number;
  readonly top_p?: number;
  readonly stop_sequences?: readonly string[];
  readonly [extra: string]: unknown;
}

/** What {@link toAnthropicRequest} needs besides the request. */
export interface AnthropicRequestContext {
  /** The model to call. */
  readonly model: string;
  /** `max_tokens` when the request sets none: the catalog's output limit, else {@link DEFAULT_MAX_TOKENS}. */
  readonly defaultMaxTokens: number;
  /** Key of `request.providerOptions` merged into the body last. Default `anthropic`. */
  readonly optionsKey?: string;
}

/**
 * The instruction added to `system` for `responseFormat: { type: 'json' }`.
 *
 * Anthropic has no JSON mode on every model, so rxllm asks for JSON in the system prompt: the answer is
 * very likely JSON, but not guaranteed (parse it defensively). For schema-enforced output on models that
 * support it, pass the vendor's own field instead, e.g.
 * `providerOptions: { anthropic: { output_config: { format: { type: 'json_schema', schema } } } }`.
 *
 * ## Example
 * ```ts
 * jsonInstruction({ type: 'object', properties: { answer: { type: 'number' } } });
 * // 'Answer with a single valid JSON value and nothing else: … conform to this JSON Schema:\n{"type":"object",…}'
 * ```
 *
 * @param schema - the JSON Schema the answer should match, if any.
 * @returns the instruction text.
 */
export function jsonInstruction(schema: JsonSchema | undefined): string {
  const base =
    'Answer with a single valid JSON value and nothing else: no prose before or after it, no Markdown code fences.';
  return schema === undefined
    ? base
    : `${base} The JSON must conform to this JSON Schema:\n${JSON.stringify(schema)}`;
}

/**
 * Converts a normalized {@link ChatRequest} to an Anthropic Messages request body (pure).
 *
 * Mapping worth knowing: system messages join into the top-level `system`; tool results become
 * `tool_result` blocks of a user turn (consecutive results share one turn); a trailing assistant message
 * is a prefill that Claude continues (its trailing whitespace is trimmed, which the API requires); images
 * become base64 or URL sources; `responseFormat` json adds {@link jsonInstruction} to `system`, and its
 * schema goes as native structured output or a forced tool (see `anthropicStructured`).
 *
 * ## Example
 * ```ts
 * const body = toAnthropicRequest(
 *   { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] },
 *   { model: 'claude-haiku-4-5', defaultMaxTokens: 4096 },
 * );
 * // { model: 'claude-haiku-4-5', max_tokens: 4096, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }], stream: true }
 * ```
 *
 * @param request - the normalized request.
 * @param context - model and defaults.
 * @returns the body to POST to `/v1/messages`.
 * @throws LLMError `invalid_request` for an image the API cannot take (no media type, not base64).
 */
export function toAnthropicRequest(
  request: ChatRequest,
  context: AnthropicRequestContext,
): AnthropicRequestBody {
  const system: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  const last = request.messages.length - 1;
  request.messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        messages.push({ role: 'user', content: userContent(message.content) });
        break;
      case 'assistant': {
        const turn = assistantTurn(message, i === last);
        if (turn) messages.push(turn);
        break;
      }
      case 'tool': {
        const block: AnthropicBlockParam = {
          type: 'tool_result',
          tool_use_id: message.toolCallId,
          content: message.content,
        };
        const previous = messages[messages.length - 1];
        if (previous?.role === 'user' && isToolResults(previous.content)) {
          messages[messages.length - 1] = { role: 'user', content: [...previous.content, block] };
        } else {
          messages.push({ role: 'user', content: [block] });
        }
        break;
      }
      default:
        assertNever(message);
    }
  });
  const structured = anthropicStructured(request, context.model);
  if (request.responseFormat?.type === 'json' && !structured.tool) {
    system.push(jsonInstruction(request.responseFormat.schema));
  }

  const tools = request.tools ?? [];
  const extra = request.providerOptions?.[context.optionsKey ?? 'anthropic'] ?? {};
  return {
    model: context.model,
    max_tokens: request.maxTokens ?? context.defaultMaxTokens,
    ...(system.length > 0 && { system: system.join('\n\n') }),
    messages,
    ...((tools.length > 0 || structured.tool) && {
      tools: [
        ...tools.map((tool) => ({
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          input_schema: tool.parameters,
        })),
        ...(structured.tool ? [structured.tool] : []),
      ],
    }),
    ...(tools.length > 0 &&
      request.toolChoice !== undefined && { tool_choice: toolChoice(request.toolChoice) }),
    ...structured.fields,
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.stop !== undefined && request.stop.length > 0 && { stop_sequences: request.stop }),
    ...extra,
    // Both transports parse a stream: a vendor option cannot turn it off.
    stream: true,
  };
}

/**
 * Anthropic's `tool_choice` for a normalized {@link ToolChoice}: `auto` → `auto`, `required` → `any`,
 * `none` → `none`, `{ name }` → `{ type: 'tool', name }`.
 *
 * ## Example
 * ```ts
 * toolChoice('required'); // { type: 'any' }
 * ```
 *
 * @param choice - the normalized choice.
 * @returns the vendor's `tool_choice`.
 */
export function toolChoice(choice: ToolChoice): NonNullable<AnthropicRequestBody['tool_choice']> {
  if (typeof choice === 'object') return { type: 'tool', name: choice.name };
  switch (choice) {
    case 'auto':
      return { type: 'auto' };
    case 'required':
      return { type: 'any' };
    case 'none':
      return { type: 'none' };
    default:
      return assertNever(choice);
  }
}

function isToolResults(content: AnthropicMessageParam['content']): content is readonly AnthropicBlockParam[] {
  return typeof content !== 'string' && content.every((block) => block.type === 'tool_result');
}

function userContent(content: string | readonly ContentPart[]): AnthropicMessageParam['content'] {
  if (typeof content === 'string') return content;
  return content.map((part): AnthropicBlockParam => {
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text };
      case 'image':
        return imageBlock(part);
      default:
        return assertNever(part);
    }
  });
}

/** An assistant turn; the last message of the request is a prefill, `undefined` when it says nothing. */
function assistantTurn(message: AssistantMessage, isLast: boolean): AnthropicMessageParam | undefined {
  // The API rejects a final assistant turn that ends in whitespace.
  const text = isLast ? message.content.trimEnd() : message.content;
  const calls = message.toolCalls ?? [];
  if (calls.length === 0) return text.length > 0 ? { role: 'assistant', content: text } : undefined;
  const blocks: AnthropicBlockParam[] = text.length > 0 ? [{ type: 'text', text }] : [];
  for (const call of calls) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.args });
  return { role: 'assistant', content: blocks };
}

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*?);base64,(.*)$/s;

function imageBlock(part: ImagePart): AnthropicBlockParam {
  if (part.data !== undefined) {
    if (part.mediaType === undefined) throw badImage('an image given as data needs its mediaType');
    return { type: 'image', source: { type: 'base64', media_type: part.mediaType, data: part.data } };
  }
  if (part.url === undefined) throw badImage('an image needs a url or data');
  if (part.url.startsWith('data:')) {
    const match = DATA_URL.exec(part.url);
    if (!match) throw badImage('an image data: URL must be base64-encoded');
    return {
      type: 'image',
      source: {
        type: 'base64',
        media_type: part.mediaType ?? (match[1] as string),
        data: match[3] as string,
      },
    };
  }
  return { type: 'image', source: { type: 'url', url: part.url } };
}

function badImage(reason: string): LLMError {
  return new LLMError('invalid_request', `anthropic: ${reason}`, { provider: 'anthropic' });
}
