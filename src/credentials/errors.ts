import { redactSecrets } from '../core/redact.js';

/**
 * What went wrong with a credential:
 *
 * - `wrong_password`: the credential file did not decrypt (wrong password, or the file was altered).
 * - `corrupt`: the file is not a credential file, or a field of it is malformed.
 * - `not_found`: no file at the path, or no credential of that name in it.
 * - `missing`: a credential that is needed resolved to nothing (an unset environment variable).
 * - `invalid`: a bad argument (an empty password, a value that is not a string).
 * - `io`: the file could not be read or written.
 */
export type CredentialErrorKind = 'wrong_password' | 'corrupt' | 'not_found' | 'missing' | 'invalid' | 'io';

const MARK = Symbol.for('rxllm.CredentialError');

/**
 * The error of the credential functions. Its message names what failed (a file path, a credential
 * name, an environment variable), never a secret: it is redacted like every `LLMError`.
 *
 * ## Example
 * ```ts
 * try {
 *   await readCredentialFile('keys.enc', password);
 * } catch (e) {
 *   if (CredentialError.isInstance(e) && e.kind === 'wrong_password') console.error('Wrong password.');
 * }
 * ```
 */
export class CredentialError extends Error {
  /** Always `CredentialError`. */
  override readonly name = 'CredentialError';
  /** What failed. */
  readonly kind: CredentialErrorKind;
  /** The file concerned, when there is one. */
  readonly path?: string;
  /** Marks rxllm errors across copies of the package (see `isInstance`). */
  readonly [MARK] = true;

  constructor(kind: CredentialErrorKind, message: string, init: { path?: string; cause?: unknown } = {}) {
    super(redactSecrets(message), init.cause === undefined ? undefined : { cause: sanitize(init.cause) });
    this.kind = kind;
    if (init.path !== undefined) this.path = init.path;
  }

  /** True for a `CredentialError` from any copy of this package. */
  static isInstance(value: unknown): value is CredentialError {
    return typeof value === 'object' && value !== null && (value as { [MARK]?: unknown })[MARK] === true;
  }
}

function sanitize(cause: unknown): Error {
  const copy = new Error(redactSecrets(cause instanceof Error ? cause.message : String(cause)));
  if (cause instanceof Error) copy.name = cause.name;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}
