import type { LLMErrorInit } from '../core/errors.js';
import { SchemaMismatchError } from './SchemaMismatchError.js';
import type { StandardResult, StandardSchema } from './standardSchema.js';

/**
 * Runs a Standard Schema's `validate` and hands the value to `then`, synchronously when the validator
 * answers synchronously (so marble tests keep virtual time), else once its promise settles.
 */
export function validateThen<T>(
  schema: StandardSchema<unknown, T>,
  value: unknown,
  what: string,
  init: LLMErrorInit,
  then: (value: T) => void,
  fail: (error: unknown) => void,
): void | Promise<void> {
  const settle = (result: StandardResult<T>): void => {
    if (result.issues) fail(new SchemaMismatchError(what, result.issues, init));
    else then(result.value);
  };
  let result: StandardResult<T> | Promise<StandardResult<T>>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    return fail(error);
  }
  if (result instanceof Promise) return result.then(settle, fail);
  settle(result);
}
