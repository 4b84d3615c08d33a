/**
 * The package as published: packed, installed into a fresh project beside only `rxjs`, and used the ways
 * users use it. TypeScript strict without `skipLibCheck` in every resolution mode, `import` and `require`
 * of every entry, one copy of the library across entries and formats, arethetypeswrong and publint, and
 * the tarball's contents. (The browser bundles are in browser.test.ts.)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type Consumer, createConsumer, devVersion, exec, mustExec, REPO } from './consumer.js';

const ENTRIES = [
  'rxllm',
  'rxllm/testing',
  'rxllm/react',
  'rxllm/config',
  'rxllm/otel',
  'rxllm/server',
] as const;

/** How each TypeScript resolution mode sees a file: ESM under `bundler` and `node16`, CJS under the rest. */
const MODES = [
  { name: 'esm-bundler', module: 'esnext', moduleResolution: 'bundler', ext: 'ts' },
  { name: 'esm-node16', module: 'node16', moduleResolution: 'node16', ext: 'mts' },
  { name: 'cjs-node16', module: 'node16', moduleResolution: 'node16', ext: 'cts' },
  { name: 'cjs-node10', module: 'commonjs', moduleResolution: 'node10', ext: 'ts' },
] as const;

// What a user of the main entry writes: the providers, a policy, the SSE helpers, errors, events.
const MAIN_USE = `
import { collect, fromSSE, LLMError, openai, pipeSSE, textDeltas, toSSEResponse, withRetry } from 'rxllm';
import type { ChatRequest, LanguageModel, SSEResponseSink, TokenEvent } from 'rxllm';

const request: ChatRequest = { messages: [{ role: 'user', content: 'Hi' }] };
const model: LanguageModel = openai({ model: 'gpt-4o-mini', apiKey: 'sk-test' }).pipe(withRetry());
export const done: Promise<string> = collect(model.stream(request)).then((c) => c.text);
export const response: Response = toSSEResponse(model.stream(request));
export const deltas = fromSSE('/api/generate', { body: request }).pipe(textDeltas());
export const sink = (res: SSEResponseSink): Promise<void> => pipeSSE(model.stream(request), res);
export const kind = (e: unknown): string | undefined => (LLMError.isInstance(e) ? e.kind : undefined);
export const isText = (e: TokenEvent): boolean => e.type === 'text';
`;

// One use of each subpath; each needs only the peers its documentation names.
const SUBPATH_USE = `
import { createSimulator, openaiProtocol, scriptedModel } from 'rxllm/testing';
import { createStreamStore, useTokenStream } from 'rxllm/react';
import { ConfigError, parseConfig } from 'rxllm/config';
import { withTelemetry } from 'rxllm/otel';
import { createGateway, hashKey } from 'rxllm/server';

export const sim = createSimulator({ protocols: [openaiProtocol] });
export const scripted = scriptedModel({ scripts: [{ text: 'Hello there' }] });
export const store = createStreamStore(scripted.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
export const hook = useTokenStream;
export const parse = (text: string): unknown => parseConfig(text);
export const isConfigError = (e: unknown): boolean => e instanceof ConfigError;
export const traced = scripted.pipe(withTelemetry());
export const gateway = createGateway;
export const hashed: string = hashKey('rk-test');
`;

/** The peers each subpath's documentation names (README, "Install"). */
const SUBPATH_PEERS = ['@types/node', 'react', '@types/react', 'yaml', 'zod', '@opentelemetry/api'];

let consumer: Consumer;

beforeAll(async () => {
  consumer = await createConsumer();
}, 240_000);
afterAll(() => consumer?.dispose());

async function typecheck(label: string, source: string, types: readonly string[]): Promise<void> {
  const results = MODES.map(async (mode) => {
    const file = `${label}-${mode.name}.${mode.ext}`;
    await consumer.write(file, source);
    await consumer.write(
      `tsconfig.${label}-${mode.name}.json`,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          target: 'ES2022',
          module: mode.module,
          moduleResolution: mode.moduleResolution,
          types,
          jsx: 'react-jsx',
          // What `tsc --init` sets; zod's own CommonJS typings need it under node10 resolution.
          esModuleInterop: true,
        },
        files: [file],
      }),
    );
    const ran = await exec(bin('tsc'), ['-p', `tsconfig.${label}-${mode.name}.json`], consumer.dir, 280_000);
    return { mode: mode.name, output: ran.stdout + ran.stderr, code: ran.code };
  });
  expect(await Promise.all(results)).toEqual(MODES.map((mode) => ({ mode: mode.name, output: '', code: 0 })));
}

describe('with only rxjs installed', () => {
  it('installs no optional peer', async () => {
    const installed = (await readdir(join(consumer.dir, 'node_modules'))).filter((n) => !n.startsWith('.'));
    // rxjs brings tslib; the dependencies are eventsource-parser and @streamparser/json (streamObject).
    expect(installed.sort()).toEqual(['@streamparser', 'eventsource-parser', 'rxjs', 'rxllm', 'tslib']);
  });

  it('type-checks the main entry, strict and without skipLibCheck, in every resolution mode', async () => {
    await typecheck('main', MAIN_USE, []);
  }, 300_000);

  it('runs the main entry from ESM and CommonJS on the direct transport against the simulator', async () => {
    const script = (load: string): string => `
${load}
const sim = await createSimulator({ protocols: [openaiProtocol] });
sim.enqueue({ text: 'The capital of France is Paris.' });
const gpt = openai({ apiKey: 'sk-test', baseURL: sim.url + '/v1', model: 'gpt-4o-mini' });
const done = await collect(gpt.stream({ messages: [{ role: 'user', content: 'Capital of France?' }] }));
await sim.close();
console.log(JSON.stringify({ text: done.text, finish: done.finishReason }));
`;
    await consumer.write(
      'run.mjs',
      script(
        `import { collect, openai } from 'rxllm';\nimport { createSimulator, openaiProtocol } from 'rxllm/testing';`,
      ),
    );
    await consumer.write(
      'run.cjs',
      `(async () => {${script(
        `const { collect, openai } = require('rxllm');\nconst { createSimulator, openaiProtocol } = require('rxllm/testing');`,
      )}})();`,
    );
    for (const file of ['run.mjs', 'run.cjs']) {
      const ran = await mustExec('node', [file], consumer.dir, 30_000);
      expect(JSON.parse(ran.stdout)).toEqual({ text: 'The capital of France is Paris.', finish: 'stop' });
      expect(ran.stderr).toBe(''); // no warning (require(esm) is quiet on Node 20.19+)
    }
  }, 60_000);
});

describe('with only the peers rxllm/config names (yaml, zod)', () => {
  beforeAll(async () => {
    await consumer.add(await devVersion('yaml'), await devVersion('zod'));
  }, 240_000);

  it('imports and requires rxllm/config without @opentelemetry/api', async () => {
    await consumer.write(
      'config-only.cjs',
      `const { parseConfig } = require('rxllm/config');
import('rxllm/config').then((esm) => {
  const config = parseConfig('version: 1\\nproviders: [{ name: a, type: openai, model: gpt-4o-mini, apiKey: k }]');
  console.log(JSON.stringify({ same: esm.parseConfig === parseConfig, providers: config.providers.length }));
});`,
    );
    const ran = await mustExec('node', ['config-only.cjs'], consumer.dir, 30_000);
    expect(JSON.parse(ran.stdout)).toEqual({ same: true, providers: 1 });
  }, 60_000);
});

describe('with the peers each subpath names', () => {
  beforeAll(async () => {
    await consumer.add(...(await Promise.all(SUBPATH_PEERS.map(devVersion))));
  }, 240_000);

  it('type-checks every subpath in every resolution mode', async () => {
    await typecheck('subpaths', SUBPATH_USE, ['node']);
  }, 300_000);

  it('imports and requires every entry', async () => {
    const names = JSON.stringify(ENTRIES);
    await consumer.write(
      'entries.mjs',
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const out = {};
for (const entry of ${names}) {
  const esm = Object.keys(await import(entry)).sort();
  const cjs = Object.keys(require(entry)).sort();
  out[entry] = { esm: esm.length, same: JSON.stringify(esm) === JSON.stringify(cjs) };
}
console.log(JSON.stringify(out));`,
    );
    const ran = await mustExec('node', ['entries.mjs'], consumer.dir, 30_000);
    const out = JSON.parse(ran.stdout) as Record<string, { esm: number; same: boolean }>;
    for (const entry of ENTRIES) {
      expect(out[entry]?.same, entry).toBe(true);
      expect(out[entry]?.esm, entry).toBeGreaterThan(0);
    }
  }, 60_000);

  it('holds one copy of the library across entries and formats: one LLMError, one secret registry', async () => {
    await consumer.write(
      'one-copy.mjs',
      `import { createRequire } from 'node:module';
import { LLMError, redactSecrets } from 'rxllm';
const require = createRequire(import.meta.url);
const cjs = require('rxllm');
const { scriptedModel } = require('rxllm/testing');
const { buildPipeline, validateConfig } = await import('rxllm/config');

// An error made inside rxllm/testing (CommonJS) is an LLMError of rxllm (ESM), and of require('rxllm').
const failure = await new Promise((resolve) =>
  scriptedModel({ scripts: [{ fail: 'overloaded' }] }).stream({ messages: [{ role: 'user', content: 'x' }] })
    .subscribe({ error: resolve, complete: () => resolve(undefined) }),
);

// A key registered by rxllm/config is redacted by the main entry in both formats.
const secret = 'sk-config-secret-0123456789abcdef';
const { model } = await buildPipeline(
  validateConfig({ version: 1, providers: [{ name: 'local', type: 'openai', model: 'gpt-4o-mini', apiKey: secret, baseURL: 'http://127.0.0.1:9/v1' }] }),
);
const networkError = await new Promise((resolve) =>
  model.stream({ messages: [{ role: 'user', content: 'x' }] }).subscribe({ error: resolve, complete: () => resolve(undefined) }),
);
console.log(JSON.stringify({
  sameClass: LLMError === cjs.LLMError,
  testingError: failure instanceof LLMError && failure instanceof cjs.LLMError,
  configError: networkError instanceof LLMError && networkError instanceof cjs.LLMError,
  configKind: networkError?.kind,
  redactedEsm: !redactSecrets('key ' + secret).includes(secret),
  redactedCjs: !cjs.redactSecrets('key ' + secret).includes(secret),
}));
process.exit(0);`,
    );
    const ran = await mustExec('node', ['one-copy.mjs'], consumer.dir, 60_000);
    expect(JSON.parse(ran.stdout)).toEqual({
      sameClass: true,
      testingError: true,
      configError: true,
      configKind: 'all_failed',
      redactedEsm: true,
      redactedCjs: true,
    });
  }, 90_000);
});

describe('the tarball', () => {
  it('passes arethetypeswrong with no problem in any resolution mode', async () => {
    const ran = await exec(bin('attw'), [consumer.tarball, '--format', 'json'], consumer.dir);
    const report = JSON.parse(ran.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
    expect(ran.code).toBe(0);
  }, 300_000);

  it('passes publint', async () => {
    const ran = await exec(bin('publint'), ['--strict'], REPO);
    expect(ran.stdout + ran.stderr).toContain('All good!');
    expect(ran.code).toBe(0);
  }, 300_000);

  it('holds the built entries, README and LICENSE, and no sources or tests', async () => {
    const ran = await mustExec('tar', ['-tzf', consumer.tarball], consumer.dir);
    const files = ran.stdout.split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining(['package/README.md', 'package/LICENSE', 'package/package.json']),
    );
    for (const entry of ['index', 'testing', 'react', 'config', 'otel', 'server']) {
      for (const ext of ['js', 'cjs', 'd.ts', 'd.cts'])
        expect(files).toContain(`package/dist/${entry}.${ext}`);
    }
    expect(files.filter((f) => /^package\/(src|test|examples|bench|scripts)\//.test(f))).toEqual([]);
  }, 30_000);

  it('has a README whose links all resolve outside this repository', async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const relative = [...readme.matchAll(/\]\(((?!https?:|#)[^)]+)\)/g)].map((m) => m[1]);
    expect(relative).toEqual([]);
  });
});
