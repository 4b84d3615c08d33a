import { z } from 'zod';
import type { ChatRequest } from '../core/request.js';
import { parseBody } from './body.js';

const text = z.string();
const part = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text }),
  z.strictObject({
    type: z.literal('image'),
    url: z.string().optional(),
    data: z.string().optional(),
    mediaType: z.string().optional(),
  }),
]);

const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: text }),
  z.strictObject({ role: z.literal('user'), content: z.union([text, z.array(part).min(1)]) }),
  z.strictObject({
    role: z.literal('assistant'),
    content: text,
    toolCalls: z.array(z.strictObject({ id: z.string(), name: z.string(), args: z.unknown() })).optional(),
  }),
  z.strictObject({
    role: z.literal('tool'),
    toolCallId: z.string(),
    name: z.string().optional(),
    content: text,
  }),
]);

/** The body of `POST /v1/generate`: a `ChatRequest` (without `model` and `providerOptions`) plus `stream`. */
export const generateBodySchema = z.strictObject({
  messages: z.array(message).min(1, 'needs at least one message'),
  /** `true`: Server-Sent Events; `false`: one JSON answer. Default: SSE when `Accept: text/event-stream`. */
  stream: z.boolean().optional(),
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  stop: z.array(z.string()).max(16).optional(),
  tools: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  toolChoice: z
    .union([z.enum(['auto', 'none', 'required']), z.strictObject({ name: z.string() })])
    .optional(),
  responseFormat: z
    .strictObject({
      type: z.literal('json'),
      schema: z.record(z.string(), z.unknown()).optional(),
      name: z.string().optional(),
    })
    .optional(),
  hints: z
    .strictObject({
      task: z.string().optional(),
      complexity: z.enum(['low', 'medium', 'high']).optional(),
      priority: z.enum(['low', 'normal', 'high']).optional(),
      maxCost: z.number().nonnegative().optional(),
      maxLatencyMs: z.number().positive().optional(),
      minQuality: z.number().min(0).max(1).optional(),
      requiredCapabilities: z.array(z.enum(['tools', 'vision', 'json', 'streaming', 'prefill'])).optional(),
      preferProviders: z.array(z.string()).optional(),
      excludeProviders: z.array(z.string()).optional(),
    })
    .optional(),
});

/** A parsed body: the request to stream and whether to stream it. */
export interface GenerateCall {
  readonly request: ChatRequest;
  readonly stream: boolean | undefined;
}

/** Validates a parsed JSON body; the issues name each bad field (`messages[0].role: …`). */
export function parseGenerateBody(body: unknown) {
  return parseBody(generateBodySchema, body, ({ stream, ...request }): GenerateCall => ({
    request: request as ChatRequest,
    stream,
  }));
}
