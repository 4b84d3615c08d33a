import { isStrictSchema } from './strict.js';
import { LLMError } from '../../core/errors.js';
import { assertNever } from '../../core/events.js';
import type { ChatRequest, ContentPart, JsonSchema, Message, ToolChoice } from '../../core/request.js';

/** A content part of a user message. */
export type OpenAIContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } };

/** A tool call of an earlier assistant turn, as the request carries it. */
export interface OpenAIToolCallParam {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** One message of the request. */
export type OpenAIMessageParam =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: string | readonly OpenAIContentPart[] }
  | {
      readonly role: 'assistant';
      readonly content: string | null;
      readonly tool_calls?: readonly OpenAIToolCallParam[];
    }
  | { readonly role: 'tool'; readonly tool_call_id: string; readonly content: string };

/** The chat completions request body rxllm sends. */
export interface OpenAIRequestBody {
  readonly model: string;
  readonly messages: readonly OpenAIMessageParam[];
  readonly stream: true;
  readonly stream_options?: { readonly include_usage: boolean };
  readonly tools?: readonly {
    readonly type: 'function';
    readonly function: {
      readonly name: string;
      readonly description?: string;
      readonly parameters: JsonSchema;
    };
  }[];
  readonly tool_choice?:
    | 'auto'
    | 'none'
    | 'required'
    | { readonly type: 'function'; readonly function: { readonly name: string } };
  readonly temperature?: number;
  readonly top_p?: number;
  readonly stop?: readonly string[];
  readonly max_tokens?: number;
  readonly max_completion_tokens?: number;
  readonly response_format?:
    | { readonly type: 'json_object' }
    | {
        readonly type: 'json_schema';
        readonly json_schema: {
          readonly name: string;
          readonly schema: JsonSchema;
          readonly strict?: boolean;
        };
      };
  readonly [extra: string]: unknown;
}

/** What {@link toOpenAIRequest} needs besides the request. */
export interface OpenAIRequestContext {
  /** The model to call (the request's `model` wins). */
  readonly model: string;
  /** Ask for the closing usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  /**
   * Where `maxTokens` goes: OpenAI deprecated `max_tokens` (reasoning models reject it) for
   * `max_completion_tokens`, which many compatible servers do not know yet.
   */
  readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** The `providerOptions` key merged into the body last (`openai`, or a compatible provider's name). */
  readonly optionsKey: string;
}

/**
 * Turns a normalized request into a streaming chat completions body (pure).
 *
 * Images become `image_url` parts (a URL, or a `data:` URL from base64 bytes); a JSON answer with a schema
 * becomes `response_format: json_schema`, `strict` when the schema allows it ({@link isStrictSchema}: strict
 * mode rejects schemas that leave properties optional), without one `json_object`. `providerOptions[optionsKey]` is merged last.
 *
 * ## Example
 * ```ts
 * const body = toOpenAIRequest(
 *   { messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64 },
 *   { model: 'gpt-4o-mini', includeUsage: true, maxTokensField: 'max_completion_tokens', optionsKey: 'openai' },
 * );
 * // { model: 'gpt-4o-mini', messages: [...], stream: true, stream_options: { include_usage: true }, max_completion_tokens: 64 }
 * ```
 *
 * @param request - the normalized request
 * @param context - the model and the dialect of the endpoint
 * @returns the request body
 */
export function toOpenAIRequest(request: ChatRequest, context: OpenAIRequestContext): OpenAIRequestBody {
  const format = request.responseFormat;
  return {
    model: request.model ?? context.model,
    messages: request.messages.map(toMessage),
    stream: true,
    ...(context.includeUsage && { stream_options: { include_usage: true } }),
    ...(request.tools !== undefined &&
      request.tools.length > 0 && {
        tools: request.tools.map((tool) => ({
          type: 'function' as const,
          function: {
            name: tool.name,
            ...(tool.description !== undefined && { description: tool.description }),
            parameters: tool.parameters,
          },
        })),
      }),
    ...(request.toolChoice !== undefined && { tool_choice: toToolChoice(request.toolChoice) }),
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.stop !== undefined && request.stop.length > 0 && { stop: request.stop }),
    ...(request.maxTokens !== undefined && { [context.maxTokensField]: request.maxTokens }),
    ...(format !== undefined && {
      response_format:
        format.schema === undefined
          ? { type: 'json_object' as const }
          : {
              type: 'json_schema' as const,
              json_schema: {
                name: format.name ?? 'response',
                schema: format.schema,
                ...(isStrictSchema(format.schema) && { strict: true }),
              },
            },
    }),
    ...request.providerOptions?.[context.optionsKey],
  };
}

function toMessage(message: Message): OpenAIMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content: typeof message.content === 'string' ? message.content : message.content.map(toPart),
      };
    case 'assistant':
      return message.toolCalls !== undefined && message.toolCalls.length > 0
        ? {
            role: 'assistant',
            content: message.content === '' ? null : message.content,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
            })),
          }
        : { role: 'assistant', content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    default:
      return assertNever(message);
  }
}

function toPart(part: ContentPart): OpenAIContentPart {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image': {
      const url =
        part.url ??
        (part.data !== undefined ? `data:${part.mediaType ?? 'image/png'};base64,${part.data}` : undefined);
      if (url === undefined) {
        throw new LLMError('invalid_request', 'An image part needs a url or base64 data');
      }
      return { type: 'image_url', image_url: { url } };
    }
    default:
      return assertNever(part);
  }
}

function toToolChoice(choice: ToolChoice): NonNullable<OpenAIRequestBody['tool_choice']> {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}
