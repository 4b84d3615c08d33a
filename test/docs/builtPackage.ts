/**
 * The doc tests compile against the package as published: `dist/` built by `npm run build`, reached through
 * the `exports` map of a `node_modules/rxllm` symlink in a throwaway consumer project.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ENTRIES, ROOT } from './extract.js';

function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);
}

/** Builds `dist/` when it is missing or older than `src/` (the typings must match the sources). */
export function ensureBuilt(): void {
  const typings = Object.keys(ENTRIES).map((name) =>
    join(ROOT, 'dist', `${name.replace(/^rxllm\/?/, '') || 'index'}.d.ts`),
  );
  const fresh = typings.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestMtime(join(ROOT, 'src')));
  if (fresh) return;
  try {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer; stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`dist/ is missing or stale and \`npm run build\` failed:\n${output}`);
  }
}

/** Packages a consumer of the doc examples may import, linked from this repository's node_modules. */
const LINKED = [
  'rxjs',
  'react',
  'react-dom',
  '@types/node',
  '@types/react',
  '@types/react-dom',
  'openai',
  '@anthropic-ai/sdk',
  '@google/generative-ai',
  'zod',
  'yaml',
];

/** Creates a consumer project whose `node_modules/rxllm` links to the repository root; returns its path. */
export function consumerProject(files: Readonly<Record<string, string>>, types: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxllm-docs-'));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  symlinkSync(ROOT, join(modules, 'rxllm'), 'dir');
  for (const name of LINKED) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    jsx: 'react-jsx',
    types,
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, include: ['**/*.ts', '**/*.tsx'] }),
  );
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** One compiler message, by file of the consumer project. */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Type-checks a consumer project with this repository's `tsc`; returns its messages. */
export function typecheck(dir: string): Diagnostic[] {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, stdio: 'pipe' });
  } catch (error) {
    output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
  }
  const diagnostics: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\): (error .*)$/.exec(line);
    if (match) diagnostics.push({ file: match[1] ?? '', line: Number(match[2]), message: match[3] ?? '' });
    else if (line.trim() !== '' && diagnostics.length > 0) {
      const last = diagnostics.pop()!;
      diagnostics.push({ ...last, message: `${last.message}\n${line}` });
    } else if (line.trim() !== '') diagnostics.push({ file: '', line: 0, message: line });
  }
  return diagnostics;
}
