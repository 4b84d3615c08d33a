import type { ChatRequest, JsonSchema } from '../../core/request.js';

/**
 * True for Claude models with native structured output (`output_config.format`): Opus 4.1 and later,
 * Sonnet and Haiku 4.5 and later. Older models get the schema as a forced tool instead.
 */
export function hasNativeStructuredOutput(model: string): boolean {
  const m = /claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (!m) return false;
  const major = Number(m[2]);
  const minor = m[3] === undefined ? 0 : Number(m[3]);
  if (major > 4) return true;
  if (major < 4) return false;
  return m[1] === 'opus' ? minor >= 1 : minor >= 5;
}

/** The body fields that ask Claude for JSON matching a schema, and whether the JSON comes as a tool call. */
export interface AnthropicStructured {
  readonly fields: { readonly [key: string]: unknown };
  /** The forced tool carrying the schema, for models without native structured output. */
  readonly tool?: { readonly name: string; readonly description: string; readonly input_schema: JsonSchema };
}

/**
 * How a request's `responseFormat` schema reaches Claude: `output_config.format` where the model has
 * native structured output, else a tool named as the format (default `response`) that Claude is forced to
 * call, whose arguments are the JSON (`streamObject` reads either). Nothing without a schema.
 */
export function anthropicStructured(request: ChatRequest, model: string): AnthropicStructured {
  const format = request.responseFormat;
  if (format?.schema === undefined) return { fields: {} };
  if (hasNativeStructuredOutput(model)) {
    return { fields: { output_config: { format: { type: 'json_schema', schema: format.schema } } } };
  }
  const name = format.name ?? 'response';
  return {
    fields: { tool_choice: { type: 'tool', name } },
    tool: {
      name,
      description: 'Answer by calling this tool with the answer as its input.',
      input_schema: format.schema,
    },
  };
}
