import { LLMError } from '../core/errors.js';
import type { ChatRequest, JsonSchema } from '../core/request.js';

/**
 * A schema that can say what it accepts as JSON Schema: the Standard JSON Schema interface
 * (https://standardschema.dev), which zod 4 implements beside `~standard.validate`.
 */
interface JsonSchemaSource {
  readonly '~standard': {
    readonly jsonSchema?: {
      readonly output: (options: { readonly target: string }) => Record<string, unknown>;
    };
  };
}

/** Options of {@link objectRequest}. */
export interface ObjectRequestOptions {
  /** The name vendors show for the schema (OpenAI's `json_schema.name`). Default `response`. */
  readonly name?: string;
  /**
   * The JSON Schema to send, for a validator that cannot produce one (anything but the Standard JSON Schema
   * interface, which zod 4 implements).
   */
  readonly jsonSchema?: JsonSchema;
  /** Element mode: the answer is an array of what the schema describes (as `streamObject`'s `elements`). */
  readonly elements?: boolean;
}

/**
 * The request with `responseFormat` asking for JSON that matches `schema`; each provider sends it its
 * vendor's way (OpenAI `json_schema`, strict when the schema allows; Anthropic structured output; Gemini
 * `responseSchema`; Ollama `format`).
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const request = objectRequest({ messages: [{ role: 'user', content: 'A city?' }] }, z.object({ name: z.string() }));
 * request.responseFormat; // { type: 'json', name: 'response', schema: { type: 'object', … } }
 * ```
 *
 * @param request The request to extend.
 * @param schema A Standard Schema that also implements Standard JSON Schema, or any schema with `options.jsonSchema`.
 * @param options The schema's name, an explicit JSON Schema, element mode.
 * @returns A new request (the given one is untouched).
 */
export function objectRequest(
  request: ChatRequest,
  schema: unknown,
  options: ObjectRequestOptions = {},
): ChatRequest {
  const item = options.jsonSchema ?? jsonSchemaOf(schema, 'objectRequest');
  const json = options.elements ? { type: 'array', items: item } : item;
  return { ...request, responseFormat: { type: 'json', name: options.name ?? 'response', schema: json } };
}

/** The JSON Schema a Standard JSON Schema describes itself as; `what` names the caller in the error. */
export function jsonSchemaOf(schema: unknown, what: string): JsonSchema {
  const source = (schema as Partial<JsonSchemaSource> | null)?.['~standard']?.jsonSchema;
  if (source === undefined) {
    throw new LLMError(
      'invalid_request',
      `${what}: the schema cannot describe itself as JSON Schema (no ~standard.jsonSchema); give the JSON Schema`,
    );
  }
  const { $schema: _, ...rest } = source.output({ target: 'draft-2020-12' });
  return rest;
}
