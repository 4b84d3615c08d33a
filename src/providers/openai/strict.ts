import type { JsonSchema } from '../../core/request.js';

// Keywords OpenAI's strict mode rejects (https://platform.openai.com/docs/guides/structured-outputs).
const UNSUPPORTED = [
  'not',
  'if',
  'then',
  'else',
  'patternProperties',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
];

/**
 * True when OpenAI's strict structured output accepts the schema as it is: every object closes
 * (`additionalProperties: false`) and requires all its properties, and no unsupported keyword appears.
 * zod 4's `z.object` schemas qualify; a schema with optional properties does not (strict would reject it).
 */
export function isStrictSchema(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictSchema);
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as JsonSchema;
  if (UNSUPPORTED.some((k) => k in node)) return false;
  const properties = node.properties;
  if (typeof properties === 'object' && properties !== null) {
    const required = Array.isArray(node.required) ? (node.required as unknown[]) : [];
    if (node.additionalProperties !== false) return false;
    if (!Object.keys(properties).every((k) => required.includes(k))) return false;
  } else if (node.type === 'object' && node.additionalProperties !== false) {
    return false;
  }
  return Object.entries(node).every(
    ([key, value]) => key === 'enum' || key === 'const' || isStrictSchema(value),
  );
}
