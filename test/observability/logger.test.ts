import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { registerSecret } from '../../src/core/redact.js';
import { collect } from '../../src/helpers/collect.js';
import { createLogger, type LogRecord, sanitizeFields, withLogging } from '../../src/observability/logger.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const MARKER = 'log-SECRET-MARKER-424242';
registerSecret(MARKER);

describe('createLogger', () => {
  it('redacts registered secrets in messages and every nested string, and drops credential-named fields', () => {
    const lines: LogRecord[] = [];
    const log = createLogger((r) => lines.push(r), { level: 'debug' });
    const cyclic: Record<string, unknown> = { note: `inner ${MARKER}` };
    cyclic.self = cyclic;
    log.info(`calling with ${MARKER}`, {
      apiKey: 'anything-at-all',
      headers: { authorization: 'Bearer abc', 'x-trace': MARKER },
      list: [MARKER, 1, true, null],
      cyclic,
      fn: () => MARKER,
      when: new Date(0),
      big: 10n,
    });
    expect(lines).toHaveLength(1);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('anything-at-all');
    expect(text).not.toContain('Bearer abc');
    expect(lines[0]?.fields).toMatchObject({
      apiKey: '[REDACTED]',
      headers: { authorization: '[REDACTED]', 'x-trace': '[REDACTED]' },
      list: ['[REDACTED]', 1, true, null],
      cyclic: { note: 'inner [REDACTED]', self: '[…]' },
      when: '1970-01-01T00:00:00.000Z',
      big: '10',
    });
    expect(lines[0]?.fields).not.toHaveProperty('fn');
  });

  it('logs errors as their serialized LLMError, without stack or cause', () => {
    const lines: LogRecord[] = [];
    const log = createLogger((r) => lines.push(r));
    const plain = new Error(`upstream said ${MARKER}`);
    const typed = new LLMError('auth', `bad key ${MARKER}`, {
      status: 401,
      provider: 'openai',
      cause: plain,
    });
    log.error('failed', { error: typed, other: plain });
    expect(lines[0]?.fields.error).toEqual({
      name: 'LLMError',
      kind: 'auth',
      message: 'bad key [REDACTED]',
      retryable: false,
      status: 401,
      provider: 'openai',
    });
    expect(JSON.stringify(lines)).not.toContain(MARKER);
    expect(JSON.stringify(lines)).not.toContain('stack');
  });

  it('filters by level and survives a throwing hook', () => {
    const lines: LogRecord[] = [];
    createLogger((r) => lines.push(r), { level: 'warn' }).info('dropped');
    expect(lines).toEqual([]);
    expect(() =>
      createLogger(() => {
        throw new Error('sink down');
      }).error('x'),
    ).not.toThrow();
  });

  it('sanitizeFields is usable alone', () => {
    expect(sanitizeFields({ password: 'p', n: Number.NaN })).toEqual({ password: '[REDACTED]', n: 'NaN' });
  });
});

describe('withLogging', () => {
  it('logs start, fallback and finish lines with numbers and kinds only', async () => {
    const lines: LogRecord[] = [];
    const log = createLogger((r) => lines.push(r), { level: 'debug' });
    const first = scriptedModel({
      provider: 'openai',
      scripts: [{ fail: new LLMError('overloaded', `busy ${MARKER}`, { provider: 'openai', model: 'm' }) }],
    });
    const second = scriptedModel({ provider: 'anthropic', scripts: [{ text: `secret answer ${MARKER}` }] });
    await collect(
      first.pipe(withFallback({ candidates: [second] }), withLogging(log)).stream({
        messages: [{ role: 'user', content: `prompt ${MARKER}` }],
      }),
    );
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['debug', 'llm call started'],
      ['warn', 'llm candidate failed, falling back'],
      ['info', 'llm call finished'],
    ]);
    expect(lines[2]?.fields).toMatchObject({ provider: 'anthropic', outcome: 'success', fallbacks: 1 });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('secret answer');
    expect(text).not.toContain('prompt');
  });

  it('logs a failure at error level with its kind', async () => {
    const lines: LogRecord[] = [];
    const model = scriptedModel({ scripts: [{ fail: 'rate_limit' }] }).pipe(
      withLogging(createLogger((r) => lines.push(r))),
    );
    await expect(collect(model.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).rejects.toThrow();
    expect(lines.at(-1)).toMatchObject({
      level: 'error',
      message: 'llm call failed',
      fields: { outcome: 'error', errorKind: 'rate_limit', error: { kind: 'rate_limit' } },
    });
  });
});
