// Bundle size of examples/browser (an app importing `openai`, `collect`, `fromSSE` and `textDeltas`)
// built from this package's dist/ as a user's bundler would: esbuild, platform browser, minified, no
// externals. Prints the minified and gzip sizes the README states. Run `npm run build` first.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['examples/browser/app.ts'],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  minify: true,
  write: false,
  // The package as published, not the sources tsconfig.json maps the name to in this repository.
  alias: { rxllm: './dist/index.js' },
  tsconfigRaw: {},
  logLevel: 'error',
});
const bytes = result.outputFiles[0].contents;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `examples/browser/app.ts: ${kib(bytes.length)} minified, ${kib(gzipSync(bytes, { level: 9 }).length)} gzip`,
);
