import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { type ConfigIssue, ConfigError, formatPath } from './errors.js';
import { type Env, interpolate } from './interpolate.js';
import { configSchema, type RxllmConfig } from './schema.js';

/** Options of {@link parseConfig} and {@link loadConfig}. */
export interface ParseConfigOptions {
  /** Variables for `${NAME}` references. Default `process.env`. */
  readonly env?: Env;
  /** Names the source in error messages (a file path). */
  readonly source?: string;
}

/**
 * Parses and validates a configuration written in YAML or JSON (JSON is YAML): `${ENV}` references are
 * resolved in every string, then the result is checked against {@link configSchema}. Every problem is
 * reported at once, each naming its field and the reason.
 *
 * ## Example
 * ```ts
 * const config = parseConfig(`
 * providers:
 *   - type: openai
 *     model: gpt-4o-mini
 *     apiKey: \${OPENAI_API_KEY}
 * routing: { strategy: cost }
 * `);
 * ```
 *
 * @param text The file's text.
 * @param options Environment and source name.
 * @returns The validated configuration.
 * @throws {ConfigError} e.g. `providers[1].apiKey: unresolved ${OPENAI_KEY} (…)`, `routing.strategy: unknown value "fastest" (expected one of: …)`.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): RxllmConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const syntax = document.errors[0];
  if (syntax) {
    // The first syntax error only: the ones after it are usually its echoes.
    const position = syntax.linePos
      ? `line ${syntax.linePos[0].line}, column ${syntax.linePos[0].col}`
      : '(root)';
    const message = (syntax.message.split('\n')[0] ?? 'syntax error').replace(
      / at line \d+, column \d+:?$/,
      '',
    );
    throw new ConfigError([{ path: position, message }], options.source);
  }
  return validateConfig(document.toJS() as unknown, options);
}

/**
 * Validates a configuration given as data (already parsed, or built in code), after `${ENV}` interpolation.
 *
 * ## Example
 * ```ts
 * const config = validateConfig({ providers: [{ type: 'anthropic', model: 'claude-haiku-4-5' }] });
 * ```
 *
 * @param data The configuration.
 * @param options Environment and source name.
 * @returns The validated configuration.
 * @throws {ConfigError} listing every problem.
 */
export function validateConfig(data: unknown, options: ParseConfigOptions = {}): RxllmConfig {
  if (data === null || data === undefined) {
    throw new ConfigError([{ path: '(root)', message: 'the configuration is empty' }], options.source);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ path: '(root)', message: 'expected a mapping of sections' }], options.source);
  }
  const { value, issues: unresolved, substituted } = interpolate(data, options.env);
  const fromEnv = new Set(substituted.map((path) => formatPath(path)));
  const issues: ConfigIssue[] = unresolved.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const result = configSchema.safeParse(value);
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) {
    const taken = new Set(issues.map((i) => i.path));
    for (const issue of result.error.issues) {
      for (const converted of describeIssue(issue, value, fromEnv)) {
        // An unresolved reference already explains whatever the schema says about that field.
        if (!taken.has(converted.path)) issues.push(converted);
      }
    }
  }
  throw new ConfigError(issues, options.source);
}

/**
 * Reads, interpolates and validates a configuration file (`.yaml`, `.yml` or `.json`).
 *
 * ## Example
 * ```ts
 * const config = await loadConfig('rxllm.yaml');
 * const pipeline = await buildPipeline(config);
 * ```
 *
 * @param path The file.
 * @param options Environment.
 * @returns The validated configuration.
 * @throws {ConfigError} naming the file and every problem in it.
 */
export async function loadConfig(
  path: string,
  options: Omit<ParseConfigOptions, 'source'> = {},
): Promise<RxllmConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigError(
      [
        {
          path: '(root)',
          message: code === 'ENOENT' ? 'no such file' : `cannot read the file (${String(code)})`,
        },
      ],
      path,
    );
  }
  return parseConfig(text, { ...options, source: path });
}

type ZodIssue = z.core.$ZodIssue;

function describeIssue(issue: ZodIssue, root: unknown, fromEnv: ReadonlySet<string>): ConfigIssue[] {
  const path = formatPath(issue.path);
  const at = (suffix: PropertyKey) => formatPath([...issue.path, suffix]);
  // A value that came from the environment may be a key: describe it, never show it.
  const got = fromEnv.has(path) ? HIDDEN : valueAt(root, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return [
        {
          path,
          message:
            got === undefined
              ? `required (expected ${article(issue.expected)})`
              : `expected ${article(issue.expected)}, got ${kindOf(got)}`,
        },
      ];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: at(key),
        message: 'unknown key (not part of the schema; a typo?)',
      }));
    case 'invalid_value':
      return [
        {
          path,
          message: `unknown value ${show(got)} (expected one of: ${issue.values.map((v) => String(v)).join(', ')})`,
        },
      ];
    case 'too_small':
      return [
        {
          path,
          message:
            issue.origin === 'array'
              ? issue.message
              : `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)} (got ${show(got)})`,
        },
      ];
    case 'too_big':
      return [
        {
          path,
          message: `must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)} (got ${show(got)})`,
        },
      ];
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
    case 'invalid_union':
    case 'custom':
      return [{ path, message: issue.message.replace(/^Invalid input: /, '') }];
  }
}

const HIDDEN = Symbol('a value from the environment');

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function kindOf(value: unknown): string {
  if (value === HIDDEN) return 'a value from the environment';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `a string ${show(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return `${String(value)}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** A short rendering of a user value (strings quoted and cut; long ones are likely keys, so never shown whole). */
function show(value: unknown): string {
  if (value === HIDDEN) return '(a value from the environment)';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 12)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  return Array.isArray(value) ? 'a list' : 'a mapping';
}
