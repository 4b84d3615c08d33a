import { describe, expect, it } from 'vitest';
import { runExample, type Vendor } from '../../examples/tools.js';

describe.each<Vendor>(['openai', 'anthropic', 'gemini', 'ollama'])('examples/tools.ts on %s', (vendor) => {
  it('runs the two-tool loop and streams the typed object', async () => {
    const { loop, partials, trip } = await runExample(vendor);
    const results = loop.filter((e) => e.type === 'tool-result');
    expect(results.map((r) => r.name).sort()).toEqual(['localTime', 'weather']);
    expect(results.every((r) => !r.isError)).toBe(true);
    const text = loop.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    expect(text).toContain('12:00');
    expect(loop.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(partials.length).toBeGreaterThan(2);
    expect(trip).toEqual({ city: 'Lyon', days: 2, sights: ['Fourvière', 'Vieux Lyon'] });
  });
});
