import { describe, expect, it } from 'vitest';
import { costOf, createCatalog, defaultCatalog, DEFAULT_MODELS } from '../../src/core/catalog.js';
import { defineModel } from '../../src/core/model.js';
import { EMPTY } from 'rxjs';

describe('catalog', () => {
  it('knows the four vendors, with local models free', () => {
    const providers = new Set(DEFAULT_MODELS.map((m) => m.provider));
    expect([...providers].sort()).toEqual(['anthropic', 'gemini', 'ollama', 'openai']);
    for (const spec of DEFAULT_MODELS) {
      expect(spec.quality).toBeGreaterThan(0);
      expect(spec.quality).toBeLessThanOrEqual(1);
      expect(spec.contextWindow).toBeGreaterThan(spec.maxOutputTokens);
      if (spec.local) expect(spec.pricing).toMatchObject({ input: 0, output: 0 });
    }
  });

  it('resolves dated snapshots to their base model, preferring the longest match', () => {
    expect(defaultCatalog.get('openai', 'gpt-4o-mini-2024-07-18')?.model).toBe('gpt-4o-mini');
    expect(defaultCatalog.get('openai', 'gpt-4o-2024-08-06')?.model).toBe('gpt-4o');
    expect(defaultCatalog.get('anthropic', 'claude-sonnet-4-5-20250929')?.model).toBe('claude-sonnet-4-5');
    expect(defaultCatalog.get('openai', 'unknown')).toBeUndefined();
  });

  it('lets users override and extend', () => {
    const custom = createCatalog([
      { ...defaultCatalog.get('openai', 'gpt-4o')!, pricing: { input: 1, output: 1 } },
      {
        provider: 'groq',
        model: 'llama-3.3-70b',
        pricing: { input: 0.59, output: 0.79 },
        contextWindow: 131072,
        maxOutputTokens: 32768,
        capabilities: ['tools', 'streaming'],
        quality: 0.75,
        local: false,
      },
    ]);
    expect(custom.get('openai', 'gpt-4o')?.pricing.input).toBe(1);
    expect(custom.get('groq', 'llama-3.3-70b')?.quality).toBe(0.75);
    expect(custom.extend([]).all().length).toBe(custom.all().length);
  });

  it('costs usage with cached input at the cached price', () => {
    const cost = costOf(
      { inputTokens: 1_000_000, outputTokens: 500_000, cachedInputTokens: 400_000 },
      { input: 2, output: 8, cachedInput: 0.5 },
    );
    expect(cost.input).toBeCloseTo(0.6 * 2 + 0.4 * 0.5);
    expect(cost.output).toBeCloseTo(4);
    expect(cost.total).toBeCloseTo(5.4);
    expect(costOf({ inputTokens: 5, outputTokens: 5 }, undefined).total).toBe(0);
  });
});

describe('defineModel and pipe', () => {
  it('applies policies left to right and lists itself as its candidate', () => {
    const base = defineModel({ provider: 'p', model: 'm', stream: () => EMPTY });
    const order: string[] = [];
    const tag = (name: string) => (m: typeof base) => {
      order.push(name);
      return defineModel({ provider: m.provider, model: `${m.model}+${name}`, stream: (r) => m.stream(r) });
    };
    const piped = base.pipe(tag('a'), tag('b'));
    expect(order).toEqual(['a', 'b']);
    expect(piped.model).toBe('m+a+b');
    expect(base.candidates({ messages: [] })).toEqual([base]);
    expect(base.pipe()).toBe(base);
  });
});
