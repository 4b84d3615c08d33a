/**
 * The Standard Schema interface (https://standardschema.dev), declared here as the spec recommends so that
 * no validator is a dependency: zod 4, valibot and arktype schemas all carry this `~standard` property.
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const schema: StandardSchema<unknown, { city: string }> = z.object({ city: z.string() });
 * ```
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a Standard Schema's `validate` answers: the value, or the issues. */
export type StandardResult<Output> =
  { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly SchemaIssue[] };

/** One validation issue: a message and where in the value it is. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The value type a Standard Schema validates to. */
export type InferOutput<S extends StandardSchema> = NonNullable<S['~standard']['types']>['output'];

/** True when `value` carries the Standard Schema `~standard` property. */
export function isStandardSchema(value: unknown): value is StandardSchema {
  return typeof value === 'object' && value !== null && '~standard' in value;
}

/** `path.to[0].field`, for messages. */
export function issuePath(issue: SchemaIssue): string {
  if (!issue.path || issue.path.length === 0) return '(root)';
  return issue.path
    .map((p) => (typeof p === 'object' ? p.key : p))
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
    .join('')
    .replace(/^\./, '');
}
