import { registerSecret } from '../core/redact.js';
import type { Credentials } from './credentialFile.js';
import { CredentialError } from './errors.js';

/**
 * Where a key comes from: the key itself (from a configuration file, after `${ENV}` interpolation), an
 * environment variable, or a named entry of an encrypted credential file.
 */
export type CredentialSource =
  | string
  | {
      /** The environment variable that holds the key. */
      readonly env: string;
    }
  | {
      /** The key's name in the decrypted credential file. */
      readonly credential: string;
    };

/** What {@link resolveCredential} reads from. */
export interface CredentialContext {
  /** Environment variables. Default `process.env`. */
  readonly env?: { readonly [name: string]: string | undefined };
  /** Secrets of a decrypted credential file. */
  readonly credentials?: Credentials;
}

/**
 * The key a {@link CredentialSource} names, registered for redaction (so it is hidden in every error,
 * log line, event and metric from then on).
 *
 * ## Example
 * ```ts
 * const keys = await readCredentialFile('rxllm.keys', password);
 * resolveCredential({ credential: 'openai' }, { credentials: keys }); // 'sk-…'
 * resolveCredential({ env: 'ANTHROPIC_API_KEY' });                   // from process.env
 * ```
 *
 * @param source The key, or where to find it.
 * @param context Environment and decrypted credentials.
 * @returns The key.
 * @throws {CredentialError} `missing` when the variable is unset or empty, or the credential absent.
 */
export function resolveCredential(source: CredentialSource, context: CredentialContext = {}): string {
  let value: string | undefined;
  if (typeof source === 'string') {
    value = source;
  } else if ('env' in source) {
    const env = context.env ?? processEnv();
    value = env[source.env];
    if (value === undefined || value === '') {
      throw new CredentialError('missing', `environment variable ${source.env} is not set`);
    }
  } else {
    if (!context.credentials) {
      throw new CredentialError(
        'missing',
        `credential "${source.credential}" needs a credential file, and none was opened`,
      );
    }
    value = context.credentials[source.credential];
    if (value === undefined) {
      throw new CredentialError('missing', `credential "${source.credential}" is not in the credential file`);
    }
  }
  if (value.length === 0) throw new CredentialError('missing', 'the key is empty');
  registerSecret(value);
  return value;
}

/**
 * Registers keys for redaction without resolving anything (keys you read another way).
 *
 * ## Example
 * ```ts
 * registerCredentials([process.env.GATEWAY_KEY ?? '']); // a key read by your own code
 * ```
 *
 * @param values The keys.
 */
export function registerCredentials(values: Iterable<string>): void {
  for (const value of values) registerSecret(value);
}

function processEnv(): { readonly [name: string]: string | undefined } {
  return (globalThis as { process?: { env?: { [name: string]: string | undefined } } }).process?.env ?? {};
}
