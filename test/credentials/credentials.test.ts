import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/core/redact.js';
import {
  decryptCredentials,
  encryptCredentials,
  readCredentialFile,
  writeCredentialFile,
} from '../../src/credentials/credentialFile.js';
import { CredentialError } from '../../src/credentials/errors.js';
import { resolveCredential } from '../../src/credentials/resolve.js';

// Light scrypt cost in tests (the default is 2^15); the file stores it, so reading honours it.
const FAST = { scrypt: { N: 2 ** 12 } };
const KEYS = { openai: 'sk-cred-SECRET-MARKER-111111', anthropic: 'ant-cred-SECRET-MARKER-222222' };

describe('credential file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxllm-cred-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips, writes mode 0600, and registers the secrets for redaction', async () => {
    const path = join(dir, 'keys.enc');
    await writeCredentialFile(path, KEYS, 'correct horse battery staple', FAST);
    const mode = (await stat(path)).mode & 0o777;
    if (process.platform !== 'win32') expect(mode).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('SECRET-MARKER');
    const json = JSON.parse(text) as {
      kdf: { name: string; N: number; salt: string };
      cipher: { name: string };
    };
    expect(json.kdf).toMatchObject({ name: 'scrypt', N: 4096, r: 8, p: 1 });
    expect(Buffer.from(json.kdf.salt, 'base64')).toHaveLength(16);
    expect(json.cipher.name).toBe('aes-256-gcm');
    expect(await readCredentialFile(path, 'correct horse battery staple')).toEqual(KEYS);
    expect(redactSecrets(`key=${KEYS.anthropic}`)).toBe('key=[REDACTED]');
  });

  it('overwrites an existing file and keeps it 0600', async () => {
    const path = join(dir, 'existing.enc');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeCredentialFile(path, { a: 'x' }, 'pw', FAST);
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readCredentialFile(path, 'pw')).toEqual({ a: 'x' });
  });

  it('uses a fresh salt and IV each time', async () => {
    const a = JSON.parse(await encryptCredentials(KEYS, 'pw', FAST)) as {
      kdf: { salt: string };
      cipher: { iv: string };
    };
    const b = JSON.parse(await encryptCredentials(KEYS, 'pw', FAST)) as {
      kdf: { salt: string };
      cipher: { iv: string };
    };
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.cipher.iv).not.toBe(b.cipher.iv);
  });

  it('a wrong password is a clear, typed error that names the file and leaks nothing', async () => {
    const path = join(dir, 'wrong.enc');
    await writeCredentialFile(path, KEYS, 'right-password-123', FAST);
    const error = await readCredentialFile(path, 'wrong-password-456').catch((e: unknown) => e);
    expect(CredentialError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'wrong_password', path });
    expect((error as Error).message).toContain('wrong password');
    expect((error as Error).message).toContain(path);
    expect(JSON.stringify(error) + String(error)).not.toContain('SECRET-MARKER');
  });

  it('a tampered header (cost parameters) fails like a wrong password', async () => {
    const json = JSON.parse(await encryptCredentials(KEYS, 'pw', FAST)) as { kdf: { N: number } };
    json.kdf.N = 2 ** 11;
    await expect(decryptCredentials(JSON.stringify(json), 'pw')).rejects.toMatchObject({
      kind: 'wrong_password',
    });
  });

  it('tells a missing file, a non-credential file, absurd parameters and an empty password apart', async () => {
    await expect(readCredentialFile(join(dir, 'nope'), 'pw')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(decryptCredentials('{"hello":1}', 'pw')).rejects.toMatchObject({ kind: 'corrupt' });
    await expect(decryptCredentials('not json', 'pw')).rejects.toMatchObject({ kind: 'corrupt' });
    const json = JSON.parse(await encryptCredentials(KEYS, 'pw', FAST)) as { kdf: { N: number } };
    json.kdf.N = 2 ** 30;
    await expect(decryptCredentials(JSON.stringify(json), 'pw')).rejects.toMatchObject({ kind: 'corrupt' });
    await expect(encryptCredentials(KEYS, '')).rejects.toMatchObject({ kind: 'invalid' });
  });
});

describe('resolveCredential', () => {
  it('reads a literal, an environment variable, or a credential, and registers it', () => {
    expect(resolveCredential('literal-SECRET-MARKER-1')).toBe('literal-SECRET-MARKER-1');
    expect(resolveCredential({ env: 'K' }, { env: { K: 'env-SECRET-MARKER-2' } })).toBe(
      'env-SECRET-MARKER-2',
    );
    expect(resolveCredential({ credential: 'openai' }, { credentials: KEYS })).toBe(KEYS.openai);
    expect(redactSecrets('a literal-SECRET-MARKER-1 b env-SECRET-MARKER-2')).toBe(
      'a [REDACTED] b [REDACTED]',
    );
  });

  it('names what is missing', () => {
    expect(() => resolveCredential({ env: 'UNSET_VAR' }, { env: {} })).toThrow(/UNSET_VAR is not set/);
    expect(() => resolveCredential({ credential: 'x' })).toThrow(/credential "x" needs a credential file/);
    expect(() => resolveCredential({ credential: 'x' }, { credentials: {} })).toThrow(
      /"x" is not in the credential file/,
    );
  });
});
