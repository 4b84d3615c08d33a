import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  // `rxllm` and its subpaths resolve to the sources here, as tsconfig.json's `paths` say for tsc and tsx:
  // examples import the package by name. test/package checks the built package itself.
  resolve: {
    alias: [
      { find: /^rxllm$/, replacement: src('index.ts') },
      { find: /^rxllm\/(testing|react|config|otel|server)$/, replacement: src('$1.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Fail fast on leaks: a test that leaves a socket or timer open keeps vitest from exiting.
    teardownTimeout: 5_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
