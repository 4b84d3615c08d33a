import { describe, expect, it } from 'vitest';
import { geminiProtocol } from '../../../src/testing/simulator/protocols/gemini.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import { mapChunks, sseChunks } from './helpers.js';

describe('geminiProtocol', () => {
  it('serves streamGenerateContent on v1beta and v1 only, and reads the model from the path', () => {
    expect(geminiProtocol.matches('POST', '/v1beta/models/gemini-2.0-flash:streamGenerateContent')).toBe(
      true,
    );
    expect(geminiProtocol.matches('POST', '/v1/tunedModels/my-tune:streamGenerateContent')).toBe(true);
    expect(geminiProtocol.matches('GET', '/v1beta/models/gemini-2.0-flash:streamGenerateContent')).toBe(
      false,
    );
    expect(geminiProtocol.matches('POST', '/v1beta/models/gemini-2.0-flash:generateContent')).toBe(false);
    expect(geminiProtocol.matches('POST', '/v1/chat/completions')).toBe(false);
    expect(geminiProtocol.requestModel('/v1beta/models/gemini-2.5-pro:streamGenerateContent', {})).toBe(
      'gemini-2.5-pro',
    );
    expect(geminiProtocol.requestModel('/v1/tunedModels/my-tune:streamGenerateContent', {})).toBe(
      'tunedModels/my-tune',
    );
  });

  it('renders CRLF data-only frames, usage on every chunk, the finish and full usage last', () => {
    const scenario = resolveScenario(
      { text: ['A', ' & <b>'], usage: { inputTokens: 3, outputTokens: 2 } },
      'm',
      10,
    );
    const { head, content, tail } = geminiProtocol.render(scenario, 'r1');
    const frames = [...head, ...content, ...tail];
    for (const frame of frames) expect(frame).toMatch(/^data: \{.*\}\r\n\r\n$/s);
    expect(content[1]).toContain('" \\u0026 \\u003cb\\u003e"');
    const chunks = sseChunks(frames.join(''));
    expect(chunks.every((c) => c.usageMetadata?.promptTokenCount === 3)).toBe(true);
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.at(-1)?.usageMetadata).toMatchObject({ candidatesTokenCount: 2, totalTokenCount: 5 });
    expect(mapChunks(chunks).events.map((e) => e.type)).toEqual(['start', 'text', 'text', 'usage', 'finish']);
  });

  it('writes Google error bodies with the canonical status and RetryInfo', () => {
    const rateLimited = JSON.parse(
      geminiProtocol.errorResponse(429, 'Slow down', { type: 'status', status: 429, retryAfter: 3 }).body,
    ) as unknown;
    expect(rateLimited).toEqual({
      error: {
        code: 429,
        message: 'Slow down',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }],
      },
    });
    const statuses = [400, 401, 403, 404, 500, 503, 504, 529].map(
      (code) =>
        (JSON.parse(geminiProtocol.errorResponse(code, 'x').body) as { error: { status: string } }).error
          .status,
    );
    expect(statuses).toEqual([
      'INVALID_ARGUMENT',
      'UNAUTHENTICATED',
      'PERMISSION_DENIED',
      'NOT_FOUND',
      'INTERNAL',
      'UNAVAILABLE',
      'DEADLINE_EXCEEDED',
      'UNKNOWN',
    ]);
  });

  it('writes in-stream errors as data frames and a malformed frame that is not JSON', () => {
    expect(sseChunks(geminiProtocol.errorFrame('rate_limit', 'Quota'))).toEqual([
      { error: { code: 429, message: 'Quota', status: 'RESOURCE_EXHAUSTED' } },
    ]);
    expect(() => sseChunks(geminiProtocol.malformedFrame())).toThrow(SyntaxError);
  });
});
