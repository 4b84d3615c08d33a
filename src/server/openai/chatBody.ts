/**
 * The body of OpenAI's `POST /v1/chat/completions`, validated and mapped to a `ChatRequest`. Fields rxllm
 * has no equivalent for (`user`, `seed`, penalties, `logit_bias`, …) are accepted and ignored, as
 * OpenAI-compatible servers do; `n` above 1 and `logprobs` are refused (one choice, no log-probabilities).
 */
import { z } from 'zod';
import type { AssistantToolCall, ChatRequest, ContentPart, Message } from '../../core/request.js';
import { parseBody } from '../body.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }),
});
const parts = z.array(z.discriminatedUnion('type', [textPart, imagePart])).min(1);
const textOnly = z.union([z.string(), z.array(textPart)]);

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: textOnly, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), parts]), name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: textOnly.nullish(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: textOnly }),
]);

const chatBodySchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1, 'needs at least one message'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  n: z.literal(1, 'rxllm answers one choice (n: 1)').nullish(),
  logprobs: z.literal(false, 'log-probabilities are not supported').nullish(),
  tools: z
    .array(
      z.object({
        type: z.literal('function'),
        function: z.object({
          name: z.string().min(1),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      }),
    )
    .nullish(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    ])
    .nullish(),
  response_format: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({
          name: z.string(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
});

type ChatBody = z.output<typeof chatBodySchema>;

/** A parsed chat completions call. */
export interface ChatCall {
  /** The `model` asked for: a name from `GET /v1/models`. */
  readonly model: string;
  readonly request: ChatRequest;
  readonly stream: boolean;
  /** `stream_options.include_usage`: a last chunk with `usage` and no choices. */
  readonly includeUsage: boolean;
}

/** Validates a parsed JSON body; the issues name each bad field (`messages[0].role: …`). */
export function parseChatBody(body: unknown) {
  return parseBody(chatBodySchema, body, (b): ChatCall => ({
    model: b.model,
    request: chatRequestOf(b),
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
  }));
}

function chatRequestOf(b: ChatBody): ChatRequest {
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  const format = b.response_format;
  return {
    messages: b.messages.map(messageOf),
    ...(maxTokens != null && { maxTokens }),
    ...(b.temperature != null && { temperature: b.temperature }),
    ...(b.top_p != null && { topP: b.top_p }),
    ...(b.stop != null && { stop: typeof b.stop === 'string' ? [b.stop] : b.stop }),
    ...(b.tools && {
      tools: b.tools.map(({ function: f }) => ({
        name: f.name,
        ...(f.description !== undefined && { description: f.description }),
        parameters: f.parameters ?? { type: 'object', properties: {} },
      })),
    }),
    ...(b.tool_choice != null && {
      toolChoice: typeof b.tool_choice === 'string' ? b.tool_choice : { name: b.tool_choice.function.name },
    }),
    ...(format &&
      format.type !== 'text' && {
        responseFormat:
          format.type === 'json_object'
            ? { type: 'json' as const }
            : {
                type: 'json' as const,
                name: format.json_schema.name,
                ...(format.json_schema.schema && { schema: format.json_schema.schema }),
              },
      }),
  };
}

function messageOf(m: ChatBody['messages'][number]): Message {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(m.content) };
    case 'user':
      return {
        role: 'user',
        content: typeof m.content === 'string' ? m.content : m.content.map(partOf),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: textOf(m.content ?? ''),
        ...(m.tool_calls && m.tool_calls.length > 0 && { toolCalls: m.tool_calls.map(assistantToolCall) }),
      };
    case 'tool':
      return { role: 'tool', toolCallId: m.tool_call_id, content: textOf(m.content) };
  }
}

function textOf(content: string | readonly { text: string }[]): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

function partOf(
  p: { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } },
): ContentPart {
  if (p.type === 'text') return { type: 'text', text: p.text };
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(p.image_url.url);
  return data
    ? { type: 'image', mediaType: data[1], data: data[2] }
    : { type: 'image', url: p.image_url.url };
}

function assistantToolCall(c: z.output<typeof toolCall>): AssistantToolCall {
  let args: unknown;
  try {
    args = JSON.parse(c.function.arguments || '{}');
  } catch {
    args = c.function.arguments; // kept as sent: the model sees what it wrote
  }
  return { id: c.id, name: c.function.name, args };
}
