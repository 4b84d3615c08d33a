/**
 * Bundles the page (app.tsx, with React, RxJS and rxllm's `fromSSE` and `useTokenStream`) into
 * examples/web/dist/app.js with esbuild. The server runs it at start; run it alone with
 * `npx tsx examples/web/build.ts`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Where the bundle goes (gitignored). */
export const DIST_DIR = join(here, 'dist');

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** React's development build: StrictMode double-invokes effects, warnings are on. Default false. */
  readonly dev?: boolean;
  /** Output directory. Default {@link DIST_DIR}. */
  readonly outdir?: string;
}

/** Bundles the page; resolves to the path of the written `app.js`. */
export async function buildApp(options: BuildAppOptions = {}): Promise<string> {
  const outfile = join(options.outdir ?? DIST_DIR, 'app.js');
  await build({
    entryPoints: [join(here, 'app.tsx')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: options.dev !== true,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': JSON.stringify(options.dev === true ? 'development' : 'production') },
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildApp({ dev: process.argv.includes('--dev') }).then(
    (file) => console.log(`built ${file}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
