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
  /** The Standard Schema properties, under a name unlikely to clash with the validator's own API. */
  readonly '~standard': {
    /** The version of the Standard Schema spec implemented: 1. */
    readonly version: 1;
    /** The validator library's name, e.g. `zod`, `valibot` or `arktype`. */
    readonly vendor: string;
    /** Validates `value`, at once or asynchronously: the parsed value, or the issues. */
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    /** The input and output types, for inference only (no value is present at run time). */
    readonly types?:
      | {
          /** The type the schema accepts. */
          readonly input: Input;
          /** The type the schema validates to. */
          readonly output: Output;
        }
      | undefined;
  };
}

/** What a Standard Schema's `validate` answers: the value, or the issues. */
export type StandardResult<Output> =
  | {
      /** The validated value (possibly transformed by the schema). */
      readonly value: Output;
      /** Absent on success. */
      readonly issues?: undefined;
    }
  | {
      /** Why the value failed validation, at least one issue. */
      readonly issues: readonly SchemaIssue[];
    };

/** One validation issue: a message and where in the value it is. */
export interface SchemaIssue {
  /** What is wrong, in the validator's words. */
  readonly message: string;
  /** Where in the value: property names and array indices from the root; absent or empty for the root itself. */
  readonly path?:
    | ReadonlyArray<
        | PropertyKey
        | {
            /** A property name or array index. */
            readonly key: PropertyKey;
          }
      >
    | undefined;
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
