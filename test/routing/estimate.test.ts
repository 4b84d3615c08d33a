import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import {
  createEstimator,
  heuristicTokens,
  loadGptTokenizer,
  unicodeTokens,
} from '../../src/routing/estimate.js';

const samples: Record<string, string> = {
  prose:
    'Reactive programming is a declarative paradigm concerned with data streams and the propagation of change. ' +
    'With it, static and dynamic streams can be expressed with ease, and the execution model propagates changes ' +
    'through the data flow automatically. A spreadsheet is the classic example: change one cell and every formula ' +
    'that depends on it updates.\n\nRxJS brings this model to JavaScript with Observables, operators and schedulers.',
  code: readFileSync(new URL('../../src/core/catalog.ts', import.meta.url), 'utf8'),
  json: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ],
    temperature: 0.2,
    max_tokens: 512,
  }),
  german:
    'Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen Gewalt.',
  japanese: '吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。',
  chinese: '机器学习是人工智能的一个分支。它使计算机能够在没有明确编程的情况下从数据中学习。',
  numbers: 'Order 12345 shipped on 2025-11-01 for $1,299.99 (tax 8.25%).',
};

describe('heuristicTokens', () => {
  it.each(Object.keys(samples))('is within a quarter of o200k_base on %s', (name) => {
    const text = samples[name] as string;
    const exact = countTokens(text);
    const estimate = heuristicTokens(text);
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.25);
  });

  it('counts nothing for empty text and at least one for any word', () => {
    expect(heuristicTokens('')).toBe(0);
    expect(heuristicTokens('a')).toBe(1);
    expect(heuristicTokens('supercalifragilistic')).toBe(3);
  });

  it('counts any text exactly as the documented regular expression does (the scan is the expression)', () => {
    // The documented rules, by their regular expression: the reference the scan must agree with.
    const reference = unicodeTokens;
    const char = fc.oneof(
      fc.constantFrom(
        'a',
        'Z',
        '0',
        '7',
        '\n',
        ' ',
        '\t',
        '\r',
        '\v',
        '\f',
        ',',
        '"',
        '{',
        '\x00',
        '\x7f',
        'é',
        'ß',
        '\u0301',
        '東',
        '〇',
        '々',
        '⺀',
        'ひ',
        'カ',
        '한',
        'ก',
        '\u0e31',
        '٣',
        '½',
        'Ⅻ',
        '\u00a0',
        '\u2028',
        '\u3000',
        '\ufeff',
        '🚀',
        '𠀀',
        '𝒜',
        '\ud800',
        '\udc00',
        '…',
        '€',
      ),
      fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        expect(heuristicTokens(text)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
    for (const text of Object.values(samples)) expect(heuristicTokens(text)).toBe(reference(text));
  });
});

describe('createEstimator', () => {
  it('counts messages, tools, images and schemas in the prompt', () => {
    const e = createEstimator();
    const base = e.promptTokens({ messages: [{ role: 'user', content: 'Hi' }] });
    expect(base).toBe(3 + 4 + 1);
    const withImage = e.promptTokens({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'image', url: 'https://x' },
          ],
        },
      ],
    });
    expect(withImage).toBe(base + 765);
    const withTool = e.promptTokens({
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ name: 'weather', description: 'Weather by city', parameters: { type: 'object' } }],
    });
    expect(withTool).toBeGreaterThan(base + 8);
    const conversation = e.promptTokens({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: '1', name: 'weather', args: { city: 'Paris' } }],
        },
        { role: 'tool', toolCallId: '1', name: 'weather', content: 'sunny' },
      ],
      responseFormat: { type: 'json', schema: { type: 'object' } },
    });
    expect(conversation).toBeGreaterThan(base + 3 * 4);
  });

  it('uses an exact counter for the providers given one, the heuristic for the rest', async () => {
    const counter = await loadGptTokenizer();
    expect(counter).toBeDefined();
    const e = createEstimator({ tokenizers: { openai: counter } });
    const text = samples.code as string;
    expect(e.count(text, { provider: 'openai', model: 'gpt-4o' })).toBe(countTokens(text));
    expect(e.count(text, { provider: 'anthropic', model: 'claude' })).toBe(heuristicTokens(text));
    expect(e.count('<|endoftext|>', { provider: 'openai', model: 'gpt-4o' })).toBeGreaterThan(1);
    const cl100k = await loadGptTokenizer('cl100k_base');
    expect(cl100k?.('hello world')).toBe(2);
    const byFunction = createEstimator({
      tokenizers: (m) => (m.model.startsWith('gpt') ? () => 42 : undefined),
    });
    expect(byFunction.count('x', { provider: 'azure', model: 'gpt-4o' })).toBe(42);
  });

  it('calibrates per model from reported usage: a moving average of actual / estimated, clamped to 0.5..2', () => {
    const e = createEstimator({ calibrationAlpha: 0.5 });
    const model = { provider: 'acme', model: 'a1' };
    const request = { messages: [{ role: 'user' as const, content: 'word '.repeat(96) }] };
    const raw = e.promptTokens(request, model);
    expect(raw).toBe(103);
    e.reconcile(model, request, { inputTokens: 206, outputTokens: 0 });
    expect(e.factor(model)).toBe(2);
    expect(e.promptTokens(request, model)).toBe(206);
    e.reconcile(model, request, { inputTokens: 103, outputTokens: 0 });
    expect(e.factor(model)).toBe(1.5);
    expect(e.count('word word', model)).toBe(3);
    e.reconcile(model, request, { inputTokens: 1, outputTokens: 0 });
    expect(e.factor(model)).toBe(1);
    // Other models are untouched; zero usage teaches nothing.
    expect(e.factor({ provider: 'acme', model: 'a2' })).toBe(1);
    e.reconcile(model, request, { inputTokens: 0, outputTokens: 5 });
    expect(e.factor(model)).toBe(1);
  });

  it('counts for the same model object follow every reconcile (the per-model memo is forgotten)', () => {
    const e = createEstimator({ calibrationAlpha: 1 });
    const model = { provider: 'acme', model: 'a1' };
    const other = { provider: 'acme', model: 'a2' };
    const request = { messages: [{ role: 'user' as const, content: 'word '.repeat(96) }] };
    const text = 'word '.repeat(20);
    const plain = e.count(text, model);
    e.reconcile(model, request, { inputTokens: e.promptTokens(request, model) * 2, outputTokens: 0 });
    expect(e.count(text, model)).toBe(Math.ceil(heuristicTokens(text) * 2));
    expect(e.count(text, other)).toBe(plain);
    expect(e.count(text, { ...model })).toBe(Math.ceil(heuristicTokens(text) * 2));
  });
});
