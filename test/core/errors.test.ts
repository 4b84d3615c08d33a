import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFault, errorFromResponse, kindForStatus, parseRetryAfter } from '../../src/core/classify.js';
import { isNetworkError, LLMError, toLLMError } from '../../src/core/errors.js';
import { redactSecrets, registerSecret } from '../../src/core/redact.js';

describe('LLMError', () => {
  it('carries kind, retryability and source', () => {
    const e = new LLMError('rate_limit', 'slow down', {
      provider: 'openai',
      model: 'gpt-4o',
      status: 429,
      retryAfterMs: 2000,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'LLMError',
      kind: 'rate_limit',
      retryable: true,
      status: 429,
      retryAfterMs: 2000,
    });
    expect(new LLMError('auth', 'no').retryable).toBe(false);
    expect(new LLMError('auth', 'no', { retryable: true }).retryable).toBe(true);
  });

  it('is recognised across copies of the package by a global symbol', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('rxllm.LLMError')]: true });
    expect(LLMError.isInstance(foreign)).toBe(true);
    expect(LLMError.isInstance(new Error('x'))).toBe(false);
    expect(LLMError.isInstance(null)).toBe(false);
  });

  it('round-trips through JSON with every cause', () => {
    const all = new LLMError('all_failed', 'all failed', {
      causes: [
        new LLMError('overloaded', 'a', { provider: 'anthropic', status: 529 }),
        new LLMError('timeout', 'b'),
      ],
    });
    const back = LLMError.fromJSON(JSON.parse(JSON.stringify(all)));
    expect(back.kind).toBe('all_failed');
    expect(back.causes?.map((c) => c.kind)).toEqual(['overloaded', 'timeout']);
    expect(back.causes?.[0]?.status).toBe(529);
  });

  it('fills in provider and model where they were missing', () => {
    const e = new LLMError('network', 'reset').withSource('ollama', 'llama3.2');
    expect([e.provider, e.model]).toEqual(['ollama', 'llama3.2']);
  });

  it('keeps only a redacted copy of its cause', () => {
    registerSecret('sk-unit-test-secret-0001');
    const cause = Object.assign(new Error('bad key sk-unit-test-secret-0001'), {
      headers: { authorization: 'x' },
    });
    const e = new LLMError('auth', 'failed with sk-unit-test-secret-0001', { cause });
    expect(e.message).not.toContain('sk-unit-test-secret-0001');
    expect((e.cause as Error).message).not.toContain('sk-unit-test-secret-0001');
    expect((e.cause as Record<string, unknown>).headers).toBeUndefined();
  });
});

describe('toLLMError', () => {
  it('maps aborts, network failures and anything else', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(toLLMError(abort).kind).toBe('aborted');
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    expect(isNetworkError(reset)).toBe(true);
    expect(toLLMError(reset, 'openai', 'gpt-4o')).toMatchObject({
      kind: 'network',
      provider: 'openai',
      retryable: true,
    });
    expect(toLLMError('weird').kind).toBe('unknown');
    const known = new LLMError('quota', 'q');
    expect(toLLMError(known)).toBe(known);
  });
});

describe('parseRetryAfter', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now)).toBe(10_000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 00:00:10 GMT' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    // retry-after-ms wins when both are present.
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
  });

  it('never returns a negative or non-finite wait', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (ms, after) => {
        const wait = parseRetryAfter({ 'retry-after-ms': ms, 'retry-after': after }, 0);
        return wait === undefined || (Number.isFinite(wait) && wait >= 0);
      }),
    );
  });
});

describe('classification', () => {
  it.each([
    [400, 'invalid_request'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'not_found'],
    [408, 'timeout'],
    [413, 'context_length'],
    [429, 'rate_limit'],
    [500, 'unavailable'],
    [503, 'unavailable'],
    [504, 'timeout'],
    [529, 'overloaded'],
  ] as const)('HTTP %i is %s', (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });

  it('prefers the vendor code and refines by message', () => {
    const base = { provider: 'x', message: 'm' };
    expect(classifyFault({ ...base, status: 200, code: 'overloaded_error' }).kind).toBe('overloaded');
    expect(classifyFault({ ...base, status: 429, code: 'insufficient_quota' }).kind).toBe('quota');
    expect(classifyFault({ ...base, status: 429, message: 'You exceeded your current quota' }).kind).toBe(
      'quota',
    );
    expect(
      classifyFault({ ...base, status: 400, message: "This model's maximum context length is 8192" }).kind,
    ).toBe('context_length');
    expect(classifyFault({ ...base, code: 'RESOURCE_EXHAUSTED' }).kind).toBe('rate_limit');
  });

  it('reads every vendor error body', () => {
    const cases: [string, number, string][] = [
      [
        '{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}',
        429,
        'rate_limit',
      ],
      ['{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', 529, 'overloaded'],
      ['{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}', 503, 'unavailable'],
      ['{"error":"model \\"nope\\" not found"}', 404, 'not_found'],
      ['<html>Bad gateway</html>', 502, 'unavailable'],
    ];
    for (const [bodyText, status, kind] of cases) {
      const e = errorFromResponse({ status, bodyText, provider: 'p', headers: { 'retry-after': '2' } });
      expect(e.kind).toBe(kind);
      expect(e.status).toBe(status);
      expect(e.retryAfterMs).toBe(2000);
    }
  });
});

describe('redactSecrets', () => {
  it('hides registered keys and credential-shaped strings', () => {
    registerSecret('my-very-private-token');
    const text =
      'key my-very-private-token, sk-proj-abcdefghijklmnop, AIzaSyA1234567890abcdefghijklmn, Bearer abc.def.ghi123, ?key=zzz&x=1, "x-api-key": "secret-value"';
    const out = redactSecrets(text);
    for (const secret of [
      'my-very-private-token',
      'sk-proj-abcdefghijklmnop',
      'AIzaSyA1234567890',
      'abc.def.ghi123',
      'zzz',
      'secret-value',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('Bearer [REDACTED]');
    expect(out).toContain('&x=1');
  });

  it('leaves ordinary text alone', () => {
    expect(redactSecrets('The capital of France is Paris.')).toBe('The capital of France is Paris.');
  });
});

describe('classification of quota wording', () => {
  it("keeps Google's RESOURCE_EXHAUSTED a retryable rate limit even when it says quota", () => {
    const e = classifyFault({
      provider: 'gemini',
      status: 429,
      code: 'RESOURCE_EXHAUSTED',
      message: 'You exceeded your current quota',
    });
    expect(e.kind).toBe('rate_limit');
    expect(e.retryable).toBe(true);
  });
});
