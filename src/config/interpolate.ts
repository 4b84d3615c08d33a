/** One reference that could not be resolved, and where. */
export interface InterpolationIssue {
  /** Path of the string holding it (`['providers', 1, 'apiKey']`). */
  readonly path: readonly (string | number)[];
  /** What is wrong, e.g. `unresolved ${OPENAI_KEY}`. */
  readonly message: string;
}

/** Environment variables to interpolate from. */
export type Env = { readonly [name: string]: string | undefined };

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` references in every string of a parsed configuration (keys are left alone) with the
 * environment's values:
 *
 * - `${NAME}`: the variable's value; unset (or empty) is an issue `unresolved ${NAME}` at that path;
 * - `${NAME:-fallback}`: the value, or `fallback` when unset or empty;
 * - `$${…}`: a literal `${…}`.
 *
 * Substitution happens after parsing, so a value can never inject YAML structure.
 *
 * ## Example
 * ```ts
 * interpolate({ apiKey: '${OPENAI_KEY}' }, { OPENAI_KEY: 'sk-…' }); // { value: { apiKey: 'sk-…' }, issues: [] }
 * ```
 *
 * @param value The parsed document.
 * @param env The variables. Default `process.env`.
 * @returns The document with references replaced, every unresolved reference, and the paths of the
 *   strings that received a value (error messages never show those: they may hold keys).
 */
export function interpolate(
  value: unknown,
  env: Env = processEnv(),
): {
  /** The document with references replaced. */
  value: unknown;
  /** Every unresolved reference. */
  issues: InterpolationIssue[];
  /** Paths of the strings that received a value. */
  substituted: (string | number)[][];
} {
  const issues: InterpolationIssue[] = [];
  const substituted: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      const out = substitute(node, env, (message) => issues.push({ path, message }));
      if (out !== node) substituted.push(path);
      return out;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (typeof node === 'object' && node !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return node;
  };
  return { value: walk(value, []), issues, substituted };
}

function substitute(text: string, env: Env, report: (message: string) => void): string {
  if (!text.includes('$')) return text;
  return text.replace(REFERENCE, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    const body = inner ?? '';
    const split = body.indexOf(':-');
    const name = (split === -1 ? body : body.slice(0, split)).trim();
    if (!NAME.test(name)) {
      report(`invalid reference \${${body}} (expected \${NAME} or \${NAME:-default})`);
      return match;
    }
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (split !== -1) return body.slice(split + 2);
    report(`unresolved \${${name}} (environment variable ${name} is not set)`);
    return match;
  });
}

function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}
