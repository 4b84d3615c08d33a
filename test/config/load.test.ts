import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatPath } from '../../src/config/errors.js';
import { interpolate } from '../../src/config/interpolate.js';
import { loadConfig, parseConfig, validateConfig } from '../../src/config/load.js';

const env = { OPENAI_KEY: 'sk-config-SECRET-MARKER-000001', RETRIES: '4', EMPTY: '' };

/** The issues a configuration text produces, as `path: message` lines. */
function issuesOf(text: string): string[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

const valid = `
version: 1
providers:
  - name: main
    type: openai
    model: gpt-4o-mini
    apiKey: \${OPENAI_KEY}
    priority: 1
  - type: anthropic
    model: claude-haiku-4-5
    apiKey: { env: ANTHROPIC_API_KEY }
    weight: 2
    timeout: { firstTokenMs: 5000 }
routing:
  strategy: cost
  fallback: { onMidStream: restart }
retry:
  maxAttempts: \${RETRIES}
  jitter: full
circuitBreaker: false
budget:
  limits: { day: 5, month: 100 }
  providers: { main: { day: 2 } }
  thresholds: [0.5, 0.8]
cache: { ttlMs: 60000 }
`;

describe('parseConfig', () => {
  it('parses YAML with ${ENV} interpolation, numeric strings and switched-off sections', () => {
    const config = parseConfig(valid, { env });
    expect(config.providers[0]?.apiKey).toBe(env.OPENAI_KEY);
    expect(config.providers[1]?.apiKey).toEqual({ env: 'ANTHROPIC_API_KEY' });
    expect(config.retry?.maxAttempts).toBe(4);
    expect(config.circuitBreaker).toEqual({ enabled: false });
    expect(config.routing?.strategy).toBe('cost');
  });

  it('parses the same configuration written as JSON', () => {
    const json = JSON.stringify({
      providers: [{ type: 'ollama', model: 'llama3.2' }],
      routing: { strategy: 'priority' },
    });
    expect(parseConfig(json).providers[0]?.type).toBe('ollama');
  });

  it.each([
    ['missing providers', 'routing: { strategy: cost }', ['providers: required (expected a list)']],
    ['empty providers', 'providers: []', ['providers: needs at least one provider']],
    ['missing model', 'providers: [{ type: openai }]', ['providers[0].model: required (expected a string)']],
    [
      'wrong type',
      'providers: [{ type: openai, model: m }]\nretry: { maxAttempts: three }',
      ['retry.maxAttempts: expected a number, got a string "three"'],
    ],
    [
      'a section that is not a mapping',
      'providers: [{ type: openai, model: m }]\nbudget: [1, 2]',
      ['budget: expected a mapping, got a list'],
    ],
    [
      'unknown strategy',
      'providers: [{ type: openai, model: m }]\nrouting: { strategy: fastest }',
      [
        'routing.strategy: unknown value "fastest" (expected one of: priority, cost, quality, performance, balanced, weighted-random, round-robin, least-busy, capability)',
      ],
    ],
    [
      'unknown provider type',
      'providers: [{ type: mistral, model: m }]',
      [
        'providers[0].type: unknown value "mistral" (expected one of: openai, anthropic, gemini, ollama, openai-compatible)',
      ],
    ],
    [
      'negative limits',
      'providers: [{ type: openai, model: m }]\nbudget: { limits: { day: -5 } }\nrateLimit: { requestsPerMinute: -1 }',
      ['rateLimit.requestsPerMinute: must be > 0 (got -1)', 'budget.limits.day: must be ≥ 0 (got -5)'],
    ],
    [
      'unresolved ${VAR}',
      'providers:\n  - { type: openai, model: m }\n  - { type: anthropic, model: m, apiKey: "${OPENAI_KEY_X}" }',
      ['providers[1].apiKey: unresolved ${OPENAI_KEY_X} (environment variable OPENAI_KEY_X is not set)'],
    ],
    [
      'an empty variable is unresolved',
      'providers: [{ type: openai, model: "${EMPTY}" }]',
      ['providers[0].model: unresolved ${EMPTY} (environment variable EMPTY is not set)'],
    ],
    [
      'a misspelt key',
      'providers: [{ type: openai, model: m }]\nretry: { maxAttempt: 3 }',
      ['retry.maxAttempt: unknown key (not part of the schema; a typo?)'],
    ],
    [
      'a fraction out of range',
      'providers: [{ type: openai, model: m }]\ncircuitBreaker: { failureRate: 1.5 }',
      ['circuitBreaker.failureRate: must be ≤ 1 (got 1.5)'],
    ],
    [
      'duplicate provider names',
      'providers: [{ type: openai, model: a }, { type: openai, model: b }]',
      [
        'providers[1].name: duplicate provider name "openai" (also providers[0]); give each entry a unique name',
      ],
    ],
    [
      'a budget for an unknown provider',
      'providers: [{ type: openai, model: a }]\nbudget: { providers: { anthropic: { day: 1 } } }',
      ['budget.providers.anthropic: no provider named "anthropic" (known: openai)'],
    ],
    [
      'openai-compatible without a base URL',
      'providers: [{ type: openai-compatible, model: a, name: groq }]',
      ['providers[0].baseURL: required for openai-compatible'],
    ],
    [
      'a malformed key source',
      'providers: [{ type: openai, model: a, apiKey: { envv: X } }]',
      ['providers[0].apiKey: expected a key string, { env: NAME } or { credential: NAME }'],
    ],
    [
      'a credential without a credential file',
      'providers: [{ type: openai, model: a, apiKey: { credential: openai } }]',
      ['providers[0].apiKey: { credential: openai } needs a "credentials" section naming the file'],
    ],
    [
      'a bad URL',
      'providers: [{ type: openai, model: a, baseURL: "not a url" }]',
      ['providers[0].baseURL: must be an absolute URL'],
    ],
    ['YAML syntax', 'providers: [{ type: openai', [expect.stringMatching(/^line \d+, column \d+: /)]],
    ['an empty file', '', ['(root): the configuration is empty']],
  ])('%s gives a clear error naming the field', (_name, text, expected) => {
    expect(issuesOf(text)).toEqual(expected);
  });

  it('never shows a value that came from the environment', () => {
    const plain = { TRANSPORT: 'plain-SECRET-MARKER-9', N: 'abc' };
    let message = '';
    try {
      parseConfig(
        'providers: [{ type: openai, model: m, transport: "${TRANSPORT}" }]\nretry: { maxAttempts: "${N}" }',
        {
          env: plain,
        },
      );
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('providers[0].transport: unknown value (a value from the environment)');
    expect(message).toContain('retry.maxAttempts: expected a number, got a value from the environment');
    expect(message).not.toContain('plain-SECRET-MARKER-9');
    expect(message).not.toContain('abc');
  });

  it('lists every problem at once, one per line, and never prints a key', () => {
    const text = `providers:\n  - { type: openai, model: m, apiKey: "\${OPENAI_KEY}", transport: "${env.OPENAI_KEY}" }\n  - { type: x, model: 1 }`;
    let error: unknown;
    try {
      parseConfig(text, { env });
    } catch (e) {
      error = e;
    }
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid configuration:\n {2}- /);
    expect(message.split('\n')).toHaveLength(4);
    expect(message).toContain('providers[1].type');
    expect(message).toContain('providers[1].model: expected a string, got the number 1');
    expect(message).not.toContain(env.OPENAI_KEY);
  });
});

describe('loadConfig', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rxllm-config-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, valid);
      expect((await loadConfig(good, { env })).providers).toHaveLength(2);
      const bad = join(dir, 'bad.yml');
      await writeFile(bad, 'providers: [{ type: openai }]');
      await expect(loadConfig(bad, { env })).rejects.toThrow(
        `Invalid configuration (${bad}): providers[0].model: required`,
      );
      await expect(loadConfig(join(dir, 'none.yaml'))).rejects.toMatchObject({
        issues: [{ message: 'no such file' }],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('interpolate', () => {
  it('supports defaults and escapes, and leaves keys alone', () => {
    const { value, issues } = interpolate(
      { '${KEY}': 'a ${A} b ${B:-fallback} c $${LITERAL} d ${EMPTY:-x}', list: ['${A}'] },
      { A: '1', EMPTY: '' },
    );
    expect(value).toEqual({ '${KEY}': 'a 1 b fallback c ${LITERAL} d x', list: ['1'] });
    expect(issues).toEqual([]);
    expect(interpolate({ a: '${not valid}' }, {}).issues[0]?.message).toMatch(/invalid reference/);
  });

  it('formats paths as written', () => {
    expect(formatPath(['providers', 1, 'apiKey'])).toBe('providers[1].apiKey');
    expect(formatPath(['budget', 'providers', 'my provider'])).toBe('budget.providers["my provider"]');
    expect(formatPath([])).toBe('(root)');
  });

  it('validateConfig takes data built in code', () => {
    expect(
      validateConfig({ providers: [{ type: 'gemini', model: 'gemini-2.5-flash' }] }).providers,
    ).toHaveLength(1);
  });
});
