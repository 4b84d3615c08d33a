import { defineConfig, type Options } from 'tsup';

// One implementation, in ESM: every entry shares one copy of the core (code splitting), so an `LLMError`
// from `rxllm/testing` is an `LLMError` of `rxllm`, and one secret registry redacts for all. CommonJS
// entries are one-line wrappers that `require()` the ESM (Node 20.19+), written by
// scripts/cjs-entries.mjs after this build; the `.d.cts` types come from the second config below.
const entry = {
  index: 'src/index.ts',
  testing: 'src/testing.ts',
  react: 'src/react.ts',
  config: 'src/config.ts',
  otel: 'src/otel.ts',
  server: 'src/server.ts',
};

// Optional peers are loaded lazily by the part that needs them, never bundled.
const external = [
  'rxjs',
  'openai',
  '@anthropic-ai/sdk',
  '@google/generative-ai',
  'ollama',
  'ioredis',
  'react',
  'eventsource-parser',
  '@opentelemetry/api',
  'gpt-tokenizer',
  'yaml',
  'zod',
  '@modelcontextprotocol/sdk',
];

const common: Options = { entry, external, target: 'node20', treeshake: true };

export default defineConfig([
  // The `rxllm` command (dist/cli.js, ESM only) shares the chunks of the entries it uses.
  {
    ...common,
    entry: { ...entry, cli: 'src/cli.ts' },
    format: ['esm'],
    splitting: true,
    dts: true,
    sourcemap: true,
  },
  { ...common, format: ['cjs'], dts: { only: true } },
]);
