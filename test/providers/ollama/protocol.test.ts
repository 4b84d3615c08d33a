import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ollamaProtocol } from '../../../src/testing/simulator/protocols/ollama.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';

const SAMPLE = readFileSync(new URL('../../fixtures/ollama/chat.ndjson', import.meta.url), 'utf8');
const sampleLines = SAMPLE.split('\n').filter((l) => l.length > 0);
const parsed = sampleLines.map((l) => JSON.parse(l) as Record<string, unknown>);

/** Every key path of a JSON value, in order (values left out). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

describe('ollamaProtocol', () => {
  const texts = parsed.map((c) => (c['message'] as { content: string }).content).filter((t) => t.length > 0);
  const scenario = resolveScenario(
    { text: texts, usage: { inputTokens: 32, outputTokens: 24 }, model: 'llama3.2' },
    'llama3.2',
    100,
  );
  const rendered = ollamaProtocol.render(scenario, 'sim-1');

  it('renders the wire sample: same lines, keys in the same order, same text', () => {
    const lines = [...rendered.head, ...rendered.content, ...rendered.tail];
    expect(lines).toHaveLength(sampleLines.length);
    for (const [i, frame] of lines.entries()) {
      expect(frame.endsWith('\n')).toBe(true);
      expect(frame.slice(0, -1)).not.toContain('\n');
      const ours = JSON.parse(frame) as Record<string, unknown>;
      expect(keyPaths(ours)).toEqual(keyPaths(parsed[i]));
      expect(ours['message']).toEqual(parsed[i]?.['message']);
      expect(ours['done']).toBe(parsed[i]?.['done']);
    }
    const final = JSON.parse(rendered.tail[0] ?? '{}') as Record<string, unknown>;
    expect(final).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 32, eval_count: 24 });
    // Go escapes '<' as \u003c, as the sample shows.
    expect(rendered.content.join('')).toContain('"\\u003c"');
    expect(ollamaProtocol.contentType).toBe('application/x-ndjson');
  });

  it('sends tool calls whole, arguments as an object, ids only when not the default', () => {
    const withTools = resolveScenario(
      {
        toolCalls: [
          { name: 'a', args: { x: 1 } },
          { id: 'call_zz', name: 'b', args: { y: '₂' } },
        ],
      },
      'llama3.2',
      10,
    );
    const out = ollamaProtocol.render(withTools, 'sim-2');
    expect(out.content.map((l) => (JSON.parse(l) as { message: unknown }).message)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { index: 0, name: 'a', arguments: { x: 1 } } }],
      },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call_zz', function: { index: 1, name: 'b', arguments: { y: '₂' } } }],
      },
    ]);
    expect(JSON.parse(out.tail[0] ?? '{}')).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('writes errors as Ollama does', () => {
    expect(ollamaProtocol.errorResponse(404, 'model "x" not found, try pulling it first').body).toBe(
      '{"error":"model \\"x\\" not found, try pulling it first"}',
    );
    expect(ollamaProtocol.errorFrame('overloaded', 'Overloaded')).toBe('{"error":"Overloaded"}\n');
    const bad = ollamaProtocol.malformedFrame();
    expect(bad.endsWith('\n')).toBe(true);
    expect(() => JSON.parse(bad)).toThrow();
    expect(ollamaProtocol.matches('POST', '/api/chat')).toBe(true);
    expect(ollamaProtocol.matches('POST', '/api/generate')).toBe(false);
    expect(ollamaProtocol.requestModel('/api/chat', { model: 'qwen3' })).toBe('qwen3');
  });
});
