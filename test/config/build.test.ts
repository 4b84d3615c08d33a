import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPipeline, loadPipeline } from '../../src/config/build.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { writeCredentialFile } from '../../src/credentials/credentialFile.js';
import { collect } from '../../src/helpers/collect.js';
import { redactSecrets } from '../../src/core/redact.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';

const request = { messages: [{ role: 'user' as const, content: 'Say hi' }] };

describe('buildPipeline', () => {
  let sim: Simulator;
  let env: Record<string, string>;
  beforeAll(async () => {
    sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol] });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.handle(undefined);
    env = {
      SIM: sim.url,
      OPENAI_KEY: 'sk-build-SECRET-MARKER-000111',
      ANTHROPIC_KEY: 'ant-build-SECRET-MARKER-000222',
    };
  });

  const yaml = (extra = '') => `
providers:
  - name: primary
    type: openai
    model: gpt-4o-mini
    baseURL: \${SIM}/v1
    apiKey: \${OPENAI_KEY}
  - name: backup
    type: anthropic
    model: claude-haiku-4-5
    baseURL: \${SIM}
    apiKey: { env: ANTHROPIC_KEY }
retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 }
circuitBreaker: { consecutiveFailures: 2, openMs: 60000 }
budget: { limits: { day: 10 }, providers: { primary: { day: 5 } } }
${extra}`;

  it('streams through the configured providers and falls back on failure', async () => {
    const pipeline = await buildPipeline(parseConfig(yaml(), { env }), { env });
    sim.handle((r) =>
      r.protocol === 'openai' ? { fault: { type: 'status', status: 503 } } : { text: 'Hello from backup' },
    );
    const done = await collect(pipeline.model.stream(request));
    expect(done.text).toBe('Hello from backup');
    expect(done.provider).toBe('backup');
    expect(done.failures.map((f) => [f.from.provider, f.error.kind])).toEqual([['primary', 'unavailable']]);
    // Two attempts on primary (retry), one on backup.
    expect(sim.requests.filter((r) => r.protocol === 'openai')).toHaveLength(2);
    const status = await pipeline.status();
    expect(status.providers.map((p) => [p.name, p.circuit])).toEqual([
      ['primary', 'open'],
      ['backup', 'closed'],
    ]);
    expect(status.budget?.lines.map((l) => l.scope).sort()).toEqual(['global', 'primary']);
    expect(status.spend.calls).toBe(1);
    // A call every provider failed is attributed to the first candidate tried.
    sim.handle(() => ({ fault: { type: 'status', status: 503 } }));
    await expect(collect(pipeline.model.stream(request))).rejects.toMatchObject({ kind: 'all_failed' });
    expect(pipeline.handles.metrics.recent().at(-1)).toMatchObject({
      outcome: 'error',
      errorKind: 'all_failed',
      provider: 'primary', // its open circuit is the first cause
      requestModel: 'gpt-4o-mini',
    });
    expect(JSON.stringify(status)).not.toContain('SECRET-MARKER');
    expect(JSON.stringify(status)).not.toContain(sim.url);
    const keyHeader = sim.requests.find((r) => r.protocol === 'anthropic')?.headers['x-api-key'];
    expect(keyHeader).toBe(env.ANTHROPIC_KEY);
    pipeline.close();
  });

  it('registers credential-like header values for redaction', async () => {
    const config = parseConfig(
      `providers: [{ type: openai-compatible, name: gw, model: m, baseURL: "\${SIM}/v1", headers: { x-gateway-token: hdr-SECRET-MARKER-31 } }]`,
      { env },
    );
    await buildPipeline(config, { env });
    expect(redactSecrets('token hdr-SECRET-MARKER-31')).toBe('token [REDACTED]');
  });

  it('orders providers by priority and honours a disabled entry', async () => {
    const config = parseConfig(
      `
providers:
  - { name: a, type: openai, model: gpt-4o-mini, baseURL: "\${SIM}/v1", apiKey: k-aaaaaaaaaa, priority: 2 }
  - { name: b, type: openai, model: gpt-4o-mini, baseURL: "\${SIM}/v1", apiKey: k-bbbbbbbbbb, priority: 1 }
  - { name: c, type: openai, model: gpt-4o-mini, baseURL: "\${SIM}/v1", apiKey: k-cccccccccc, enabled: false }
`,
      { env },
    );
    const pipeline = await buildPipeline(config, { env });
    expect(pipeline.handles.providers.map((p) => p.provider)).toEqual(['b', 'a']);
    const done = await collect(pipeline.model.stream(request));
    expect(done.provider).toBe('b');
  });

  it('names the field of a key it cannot resolve', async () => {
    const config = parseConfig(yaml(), { env });
    const error = await buildPipeline(config, { env: { SIM: sim.url } }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues).toEqual([
      { path: 'providers[1].apiKey', message: 'environment variable ANTHROPIC_KEY is not set' },
    ]);
  });

  it('reads { credential } keys from an encrypted file next to the configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rxllm-build-'));
    try {
      await writeCredentialFile(
        join(dir, 'keys.enc'),
        { openai: 'sk-file-SECRET-MARKER-777777' },
        'pw-123456',
        { scrypt: { N: 2 ** 12 } },
      );
      const path = join(dir, 'rxllm.yaml');
      await writeFile(
        path,
        `providers:\n  - { type: openai, model: gpt-4o-mini, baseURL: "\${SIM}/v1", apiKey: { credential: openai } }\ncredentials: { file: keys.enc, passwordEnv: KEYS_PW }\n`,
      );
      const pipeline = await loadPipeline(path, { env: { SIM: sim.url, KEYS_PW: 'pw-123456' } });
      await collect(pipeline.model.stream(request));
      expect(sim.requests.at(-1)?.headers.authorization).toBe('Bearer sk-file-SECRET-MARKER-777777');
      await expect(loadPipeline(path, { env: { SIM: sim.url, KEYS_PW: 'wrong-pw' } })).rejects.toMatchObject({
        name: 'CredentialError',
        kind: 'wrong_password',
      });
      await expect(loadPipeline(path, { env: { SIM: sim.url } })).rejects.toThrow(
        'credentials.passwordEnv: environment variable KEYS_PW',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caches deterministic calls and records one metrics record per call', async () => {
    const config = parseConfig(yaml('routing: { strategy: cost }\ncache: { ttlMs: 60000 }'), { env });
    const pipeline = await buildPipeline(config, { env });
    const done = await collect(pipeline.model.stream({ ...request, temperature: 0 }));
    const again = await collect(pipeline.model.stream({ ...request, temperature: 0 }));
    expect(again.text).toBe(done.text);
    expect(again.cached).toBe(true);
    const records = pipeline.handles.metrics.recent();
    expect(records.map((r) => [r.outcome, r.cached])).toEqual([
      ['success', false],
      ['success', true],
    ]);
  });
});
