import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    react: 'src/react.ts',
    config: 'src/config.ts',
    otel: 'src/otel.ts',
    server: 'src/server.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // Vendor SDKs are optional peers: adapters load them lazily, never bundle them.
  external: [
    'rxjs',
    'openai',
    '@anthropic-ai/sdk',
    '@google/generative-ai',
    'ollama',
    'ioredis',
    'react',
    'eventsource-parser',
  ],
});
