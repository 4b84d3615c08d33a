import type { JsonSchema } from '../../core/request.js';

/**
 * A schema in the OpenAPI 3.0 subset Gemini accepts for function parameters and `responseSchema`.
 *
 * ## Example
 * ```ts
 * const schema: GeminiSchema = { type: 'string', nullable: true };
 * ```
 */
export type GeminiSchema = { readonly [key: string]: unknown };

// Keys Gemini's `Schema` accepts and whose values need no conversion.
const PLAIN_KEYS = [
  'title',
  'description',
  'nullable',
  'required',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'default',
  'minimum',
  'maximum',
  'propertyOrdering',
] as const;

// The `format` values Gemini knows, per type; any other format is dropped.
const FORMATS: { readonly [type: string]: readonly string[] } = {
  string: ['enum', 'date-time'],
  integer: ['int32', 'int64'],
  number: ['float', 'double'],
};

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Converts a JSON Schema to the OpenAPI subset Gemini accepts (Gemini answers HTTP 400 to keys it does
 * not know, such as `$schema` or `additionalProperties`).
 *
 * Kept: `type`, `format` (only the ones Gemini knows), `title`, `description`, `nullable`, `enum`,
 * `properties`, `required`, `items`, `anyOf`, the min/max bounds, `pattern`, `example`, `default`,
 * `propertyOrdering`. Converted: `type: ['string', 'null']` → `type: 'string', nullable: true` (several
 * non-null types → `anyOf`), `const` → a one-value `enum` (strings only), `oneOf` → `anyOf`, a
 * one-element `allOf` → its element, `examples[0]` → `example`. Dropped: everything else, notably
 * `$schema`, `$id`, `$ref`/`$defs` (inline references before passing a schema), `additionalProperties`,
 * `exclusiveMinimum`/`exclusiveMaximum`, `not`, `if`/`then`/`else`.
 *
 * ## Example
 * ```ts
 * toGeminiSchema({
 *   $schema: 'http://json-schema.org/draft-07/schema#',
 *   type: 'object',
 *   properties: { city: { type: ['string', 'null'] } },
 *   additionalProperties: false,
 * });
 * // → { type: 'object', properties: { city: { type: 'string', nullable: true } } }
 * ```
 *
 * @param schema - A JSON Schema (draft 7 or 2020-12).
 * @returns The same constraints as Gemini's `Schema`.
 */
export function toGeminiSchema(schema: JsonSchema): GeminiSchema {
  const out: { [key: string]: unknown } = {};
  const allOf = schema['allOf'];
  if (Array.isArray(allOf) && allOf.length === 1 && isRecord(allOf[0])) {
    Object.assign(out, toGeminiSchema(allOf[0]));
  }
  const type = schema['type'];
  if (Array.isArray(type)) {
    const types = type.filter((t): t is string => typeof t === 'string' && t !== 'null');
    if (types.length < type.length) out['nullable'] = true;
    if (types.length === 1) out['type'] = types[0];
    else if (types.length > 1) out['anyOf'] = types.map((t) => toGeminiSchema({ ...schema, type: t }));
  } else if (typeof type === 'string') {
    out['type'] = type;
  }
  const format = schema['format'];
  if (typeof format === 'string' && typeof out['type'] === 'string') {
    if (FORMATS[out['type']]?.includes(format)) out['format'] = format;
  }
  for (const key of PLAIN_KEYS) if (schema[key] !== undefined) out[key] = schema[key];
  const examples = schema['examples'];
  if (out['example'] === undefined && Array.isArray(examples) && examples.length > 0) {
    out['example'] = examples[0];
  }
  if (Array.isArray(schema['enum'])) out['enum'] = schema['enum'];
  else if (typeof schema['const'] === 'string') out['enum'] = [schema['const']];
  const properties = schema['properties'];
  if (isRecord(properties)) {
    const converted: { [key: string]: GeminiSchema } = {};
    for (const [name, value] of Object.entries(properties)) {
      if (isRecord(value)) converted[name] = toGeminiSchema(value);
    }
    out['properties'] = converted;
  }
  const items = schema['items'];
  if (isRecord(items)) out['items'] = toGeminiSchema(items);
  const anyOf = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(anyOf) && out['anyOf'] === undefined) {
    const members = anyOf.filter(isRecord);
    const nonNull = members.filter((m) => m['type'] !== 'null');
    if (nonNull.length < members.length) out['nullable'] = true;
    if (nonNull.length === 1 && out['type'] === undefined) {
      // `anyOf: [X, { type: 'null' }]` is a nullable X; the outer keys (description) win.
      for (const [key, value] of Object.entries(toGeminiSchema(nonNull[0] as JsonSchema))) {
        if (out[key] === undefined) out[key] = value;
      }
    } else if (nonNull.length > 0) {
      out['anyOf'] = nonNull.map((m) => toGeminiSchema(m));
    }
  }
  return out;
}

/**
 * True for a schema that declares no argument at all (`{}` or `{ type: 'object' }` without properties).
 * Gemini rejects an object schema with no properties, so such a function is declared without `parameters`.
 *
 * ## Example
 * ```ts
 * isEmptyObjectSchema({ type: 'object', properties: {} }); // true
 * ```
 *
 * @param schema - A converted schema.
 * @returns Whether `parameters` should be left out.
 */
export function isEmptyObjectSchema(schema: GeminiSchema): boolean {
  const properties = schema['properties'];
  const noProperties =
    properties === undefined || (isRecord(properties) && Object.keys(properties).length === 0);
  return (schema['type'] === undefined || schema['type'] === 'object') && noProperties && !schema['anyOf'];
}
