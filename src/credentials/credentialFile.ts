import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { chmod, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { registerSecret } from '../core/redact.js';
import { CredentialError } from './errors.js';

/** Named secrets: `{ openai: 'sk-…', anthropic: 'sk-ant-…' }`. */
export type Credentials = { readonly [name: string]: string };

/** scrypt cost parameters, stored in the file so a file always opens with the cost it was written with. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. Default 2^15. */
  readonly N: number;
  /** Block size. Default 8. */
  readonly r: number;
  /** Parallelization. Default 1. */
  readonly p: number;
}

/** Options of {@link encryptCredentials} and {@link writeCredentialFile}. */
export interface EncryptOptions {
  /** scrypt parameters. Default `{ N: 2 ** 15, r: 8, p: 1 }` (32 MiB, tens of milliseconds). */
  readonly scrypt?: Partial<ScryptParams>;
}

/** The JSON layout of a credential file (everything binary in base64). */
interface CredentialFileV1 {
  readonly format: 'rxllm-credentials';
  readonly version: 1;
  readonly kdf: {
    readonly name: 'scrypt';
    readonly N: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly cipher: { readonly name: 'aes-256-gcm'; readonly iv: string; readonly tag: string };
  readonly data: string;
}

const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
/** Bounds on parameters read from a file, so a crafted file cannot make opening it exhaust memory. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts named secrets with a password: AES-256-GCM under a key derived with scrypt from the password
 * and a fresh random salt (and a fresh random IV). The header (format, version, KDF parameters, salt, IV)
 * is authenticated too, so a file whose parameters were tampered with fails like a wrong password.
 *
 * ## Example
 * ```ts
 * const text = await encryptCredentials({ openai: process.env.OPENAI_API_KEY! }, password);
 * ```
 *
 * @param credentials The secrets by name.
 * @param password The password (registered for redaction).
 * @param options scrypt cost.
 * @returns The file's text (JSON).
 */
export async function encryptCredentials(
  credentials: Credentials,
  password: string,
  options: EncryptOptions = {},
): Promise<string> {
  checkPassword(password);
  for (const [name, value] of Object.entries(credentials)) {
    if (typeof value !== 'string')
      throw new CredentialError('invalid', `credential "${name}" is not a string`);
  }
  const params = { ...DEFAULT_SCRYPT, ...options.scrypt };
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await deriveKey(password, salt, params);
  const kdf = {
    name: 'scrypt' as const,
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
  };
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(header(kdf, iv.toString('base64')));
  const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  const file: CredentialFileV1 = {
    format: 'rxllm-credentials',
    version: 1,
    kdf,
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') },
    data: data.toString('base64'),
  };
  key.fill(0);
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Decrypts the text of a credential file and registers every secret in it (and the password) for
 * redaction.
 *
 * ## Example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const keys = await decryptCredentials(await readFile('rxllm.keys', 'utf8'), password); // { openai: 'sk-…' }
 * ```
 *
 * @param text The file's text.
 * @param password The password it was written with.
 * @returns The secrets by name.
 * @throws {CredentialError} `wrong_password` when it does not decrypt; `corrupt` when it is not a credential file.
 */
export async function decryptCredentials(text: string, password: string): Promise<Credentials> {
  checkPassword(password);
  const file = parseFile(text);
  const salt = decode(file.kdf.salt, 'kdf.salt', SALT_BYTES);
  const iv = decode(file.cipher.iv, 'cipher.iv', IV_BYTES);
  const tag = decode(file.cipher.tag, 'cipher.tag', TAG_BYTES);
  const data = decode(file.data, 'data');
  const key = await deriveKey(password, salt, file.kdf);
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(header(file.kdf, file.cipher.iv));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialError(
      'wrong_password',
      'The credential file did not decrypt: wrong password, or the file was modified',
    );
  } finally {
    key.fill(0);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain);
  } catch {
    throw new CredentialError('corrupt', 'The credential file decrypted to something that is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialError('corrupt', 'The credential file does not hold an object of named secrets');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string')
      throw new CredentialError('corrupt', `credential "${name}" is not a string`);
    registerSecret(value);
    out[name] = value;
  }
  return out;
}

/**
 * Writes an encrypted credential file readable by its owner only (mode 0600): the text goes to a
 * temporary file created with that mode in the same directory, then replaces `path` in one rename, so a
 * reader never sees half a file and the secrets are never on disk with wider permissions.
 *
 * ## Example
 * ```ts
 * await writeCredentialFile('rxllm.keys', { openai: 'sk-…', anthropic: 'sk-ant-…' }, password);
 * ```
 *
 * @param path Where to write.
 * @param credentials The secrets by name.
 * @param password The password (see {@link encryptCredentials}).
 * @param options scrypt cost.
 */
export async function writeCredentialFile(
  path: string,
  credentials: Credentials,
  password: string,
  options: EncryptOptions = {},
): Promise<void> {
  const text = await encryptCredentials(credentials, password, options);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new CredentialError('io', `Could not write the credential file ${path}`, { path, cause: error });
  }
}

/**
 * Reads and decrypts a credential file written by {@link writeCredentialFile}; every secret in it is
 * registered for redaction.
 *
 * ## Example
 * ```ts
 * const keys = await readCredentialFile('rxllm.keys', process.env.RXLLM_CREDENTIALS_PASSWORD!);
 * const gpt = openai({ apiKey: keys.openai, model: 'gpt-4o-mini' });
 * ```
 *
 * @param path The file.
 * @param password Its password.
 * @returns The secrets by name.
 * @throws {CredentialError} `not_found`, `io`, `corrupt`, or `wrong_password`.
 */
export async function readCredentialFile(path: string, password: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CredentialError(
      code === 'ENOENT' ? 'not_found' : 'io',
      code === 'ENOENT' ? `No credential file at ${path}` : `Could not read the credential file ${path}`,
      { path, cause: error },
    );
  }
  try {
    return await decryptCredentials(text, password);
  } catch (error) {
    if (CredentialError.isInstance(error)) {
      throw new CredentialError(error.kind, `${path}: ${error.message}`, { path });
    }
    throw error;
  }
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length === 0) {
    throw new CredentialError('invalid', 'The credential file password is empty');
  }
  registerSecret(password);
}

function checkParams(params: ScryptParams): void {
  const { N, r, p } = params;
  const powerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (
    !powerOfTwo ||
    N > MAX_N ||
    !Number.isInteger(r) ||
    r < 1 ||
    r > MAX_R ||
    !Number.isInteger(p) ||
    p < 1 ||
    p > MAX_P
  ) {
    throw new CredentialError(
      'invalid',
      `scrypt parameters out of range (N a power of two ≤ 2^20, 1 ≤ r ≤ ${MAX_R}, 1 ≤ p ≤ ${MAX_P})`,
    );
  }
}

function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => {
      if (error) reject(new CredentialError('invalid', 'scrypt failed to derive the key', { cause: error }));
      else resolve(key);
    });
  });
}

/** The authenticated header: everything that decides how the data is decrypted. */
function header(kdf: CredentialFileV1['kdf'], iv: string): Buffer {
  return Buffer.from(
    JSON.stringify(['rxllm-credentials', 1, kdf.name, kdf.N, kdf.r, kdf.p, kdf.salt, 'aes-256-gcm', iv]),
    'utf8',
  );
}

function parseFile(text: string): CredentialFileV1 {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialError('corrupt', 'Not a credential file (not JSON)');
  }
  const f = json as Partial<CredentialFileV1> | null;
  if (typeof f !== 'object' || f === null || f.format !== 'rxllm-credentials') {
    throw new CredentialError('corrupt', 'Not a credential file (no "format": "rxllm-credentials")');
  }
  if (f.version !== 1)
    throw new CredentialError('corrupt', `Unsupported credential file version ${String(f.version)}`);
  const kdf = f.kdf;
  if (!kdf || kdf.name !== 'scrypt' || typeof kdf.salt !== 'string') {
    throw new CredentialError('corrupt', 'Credential file: "kdf" must be scrypt with a salt');
  }
  try {
    checkParams({ N: kdf.N, r: kdf.r, p: kdf.p });
  } catch {
    throw new CredentialError('corrupt', 'Credential file: scrypt parameters out of range');
  }
  const cipher = f.cipher;
  if (
    !cipher ||
    cipher.name !== 'aes-256-gcm' ||
    typeof cipher.iv !== 'string' ||
    typeof cipher.tag !== 'string'
  ) {
    throw new CredentialError(
      'corrupt',
      'Credential file: "cipher" must be aes-256-gcm with an iv and a tag',
    );
  }
  if (typeof f.data !== 'string') throw new CredentialError('corrupt', 'Credential file: "data" is missing');
  return f as CredentialFileV1;
}

function decode(value: string, field: string, bytes?: number): Buffer {
  const buffer = Buffer.from(value, 'base64');
  if (bytes !== undefined && buffer.length !== bytes) {
    throw new CredentialError('corrupt', `Credential file: "${field}" must be ${bytes} bytes`);
  }
  return buffer;
}
