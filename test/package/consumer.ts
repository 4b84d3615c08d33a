/**
 * A fresh consumer project with the packed package installed, as a user gets it: `npm pack` of this
 * repository, then `npm install <tarball>` in an empty folder (npm adds the required peer, `rxjs`, and no
 * optional one). Tools (tsc, esbuild, vite, attw, publint) come from this repository's node_modules, so
 * the consumer holds nothing but the package and what a step installs on purpose.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = resolve(import.meta.dirname, '../..');
export const bin = (name: string): string => join(REPO, 'node_modules/.bin', name);

/** The outcome of a command: output and exit code, never a throw. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with a time bound; a non-zero exit is returned, not thrown. */
export async function exec(
  file: string,
  args: readonly string[],
  cwd: string,
  timeout = 120_000,
): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, [...args], {
      cwd,
      timeout,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(error),
    };
  }
}

/** Throws with the command's output when it failed: for set-up steps that must succeed. */
export async function mustExec(
  file: string,
  args: readonly string[],
  cwd: string,
  timeout?: number,
): Promise<Ran> {
  const ran = await exec(file, args, cwd, timeout);
  if (ran.code !== 0)
    throw new Error(`${file} ${args.join(' ')} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`);
  return ran;
}

/** A version range of a dev dependency of this repository, to install the same one in the consumer. */
export async function devVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const range = pkg.devDependencies[name];
  if (range === undefined) throw new Error(`${name} is not a dev dependency`);
  return `${name}@${range}`;
}

export interface Consumer {
  readonly dir: string;
  readonly tarball: string;
  /** Installs more packages into the consumer (as a user adds an optional peer). */
  add(...specs: string[]): Promise<void>;
  write(file: string, text: string): Promise<void>;
  dispose(): Promise<void>;
}

/** Packs the built package and installs the tarball into a new folder. `npm run build` must have run. */
export async function createConsumer(): Promise<Consumer> {
  if (!existsSync(join(REPO, 'dist/index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'rxllm-consumer-'));
  const packed = await mustExec('npm', ['pack', '--json', '--pack-destination', dir], REPO);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  const tarball = join(dir, filename);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const install = (specs: readonly string[]): Promise<Ran> =>
    mustExec('npm', ['install', '--prefer-offline', '--no-package-lock', ...specs], dir, 180_000);
  await install([tarball]);
  return {
    dir,
    tarball,
    add: async (...specs) => void (await install([tarball, ...specs])),
    write: (file, text) => writeFile(join(dir, file), text),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
