import { redactSecrets } from '../core/redact.js';

/** One problem of a configuration: where (`providers[1].apiKey`) and why. */
export interface ConfigIssue {
  /** The field, as written in the file: `providers[1].apiKey`, `routing.strategy`; `(root)` for the whole file. */
  readonly path: string;
  /** What is wrong with it, e.g. `must be ≥ 0 (got -5)`. */
  readonly message: string;
}

const MARK = Symbol.for('rxllm.ConfigError');

/**
 * A configuration that cannot be used. `issues` lists every problem found (not only the first), each
 * naming its field; the message lists them one per line. Messages are redacted of registered secrets.
 *
 * ## Example
 * ```ts
 * try {
 *   await loadConfig('rxllm.yaml');
 * } catch (e) {
 *   if (ConfigError.isInstance(e)) for (const i of e.issues) console.error(`${i.path}: ${i.message}`);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** Always `ConfigError`. */
  override readonly name = 'ConfigError';
  /** Every problem found, each with its field. */
  readonly issues: readonly ConfigIssue[];
  /** The file, when the configuration came from one. */
  readonly source?: string;
  /** Marks rxllm errors across copies of the package (see `isInstance`). */
  readonly [MARK] = true;

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const clean = issues.map((i) => ({ path: i.path, message: redactSecrets(i.message) }));
    const head = `Invalid configuration${source ? ` (${source})` : ''}`;
    super(
      clean.length === 1
        ? `${head}: ${formatIssue(clean[0] as ConfigIssue)}`
        : `${head}:\n${clean.map((i) => `  - ${formatIssue(i)}`).join('\n')}`,
    );
    this.issues = clean;
    if (source !== undefined) this.source = source;
  }

  /** True for a `ConfigError` from any copy of this package. */
  static isInstance(value: unknown): value is ConfigError {
    return typeof value === 'object' && value !== null && (value as { [MARK]?: unknown })[MARK] === true;
  }
}

/**
 * `path: message`.
 *
 * ## Example
 * ```ts
 * formatIssue({ path: 'routing.strategy', message: 'unknown value "fastest"' }); // 'routing.strategy: unknown value "fastest"'
 * ```
 */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}`;
}

/**
 * A field path as written in the file; keys that are not identifiers are quoted.
 *
 * ## Example
 * ```ts
 * formatPath(['providers', 1, 'apiKey']); // 'providers[1].apiKey'
 * formatPath(['budget', 'providers', 'my provider']); // 'budget.providers["my provider"]'
 * ```
 *
 * @param path A path of keys and indexes, as zod reports it.
 * @returns The path as written in a file (`providers[1].apiKey`), or `(root)`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
