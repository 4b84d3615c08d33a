/**
 * `rxllm/config`: configuration files and credentials. A separate entry so the core never loads `zod`,
 * `yaml` or `node:crypto`.
 */

// ── Configuration ────────────────────────────────────────────────────────────
export type {
  BuildOptions,
  Pipeline,
  PipelineHandles,
  PipelineStatus,
  ProviderHandle,
} from './config/build.js';
export { buildPipeline, loadPipeline } from './config/build.js';
export type { ConfigIssue } from './config/errors.js';
export { ConfigError, formatPath } from './config/errors.js';
export type { Env, InterpolationIssue } from './config/interpolate.js';
export { interpolate } from './config/interpolate.js';
export type { ParseConfigOptions } from './config/load.js';
export { loadConfig, parseConfig, validateConfig } from './config/load.js';
export type {
  CredentialSourceConfig,
  ProviderConfig,
  RxllmConfig,
  RxllmConfigInput,
  ServerKeyConfig,
} from './config/schema.js';
export { configSchema, PROVIDER_TYPES, STRATEGIES } from './config/schema.js';

// ── Credentials ──────────────────────────────────────────────────────────────
export type { Credentials, EncryptOptions, ScryptParams } from './credentials/credentialFile.js';
export {
  decryptCredentials,
  encryptCredentials,
  readCredentialFile,
  writeCredentialFile,
} from './credentials/credentialFile.js';
export type { CredentialErrorKind } from './credentials/errors.js';
export { CredentialError } from './credentials/errors.js';
export type { CredentialContext, CredentialSource } from './credentials/resolve.js';
export { registerCredentials, resolveCredential } from './credentials/resolve.js';
