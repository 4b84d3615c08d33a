/**
 * The README's main snippets run as written against the wire-level simulator: the blocks under the
 * "First stream", "One model" and "Policies compose" headings (found by heading, so rewording the prose around them does
 * not break this), with `rxllm` resolved to test/docs/readmeContext.ts (the package, its providers
 * defaulting to the simulator) and the names the README leaves to the reader (`request`, `render`)
 * given values there.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TokenEvent } from '../../src/index.js';
import {
  anthropicProtocol,
  createSimulator,
  geminiProtocol,
  ollamaProtocol,
  openaiProtocol,
} from '../../src/testing.js';
import type { Simulator } from '../../src/testing.js';
import { markdownBlocks, ROOT, type DocBlock } from './extract.js';
import { CONTEXT_NAMES, simulator } from './readmeContext.js';

const OUT = join(ROOT, 'test-output', 'readme');

/** The README's ts blocks under a `## heading` starting with `title`. */
function section(title: string): DocBlock[] {
  const blocks = markdownBlocks('README.md').filter((b) => b.heading.startsWith(`## ${title}`));
  if (blocks.length === 0) throw new Error(`README.md has no ts block under a "## ${title}" heading`);
  return blocks;
}

/** Writes the blocks as one module that imports `rxllm` from the context and exports its top-level names. */
function snippetModule(name: string, blocks: readonly DocBlock[]): string {
  const code = blocks.map((b) => b.code).join('\n');
  const context = relative(OUT, join(ROOT, 'test', 'docs', 'readmeContext.js'));
  const declared = [...code.matchAll(/^(?:const|let|var)\s+([\w$]+)/gm)].map((m) => m[1] ?? '');
  const needs = CONTEXT_NAMES.filter((n) => !declared.includes(n) && new RegExp(`\\b${n}\\b`).test(code));
  const text = [
    `import { ${needs.join(', ')} } from './${context}';`,
    code.replace(/from 'rxllm'/g, `from './${context}'`),
    `export { ${declared.join(', ')} };`,
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.ts`);
  writeFileSync(file, text);
  return file;
}

const answer = (protocol: string): string => `Answer from ${protocol}.`;
const textOf = (events: readonly TokenEvent[]): string =>
  events.map((e) => (e.type === 'text' ? e.text : '')).join('');

describe('README snippets on the simulator', () => {
  let sim: Simulator;
  let written: string[];

  beforeAll(async () => {
    sim = await createSimulator({
      protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
    });
    sim.handle((request) => ({ text: answer(request.protocol) }));
    simulator.url = sim.url;
  });
  afterAll(() => sim.close());

  // The snippets write the answer to stdout: keep it, for the assertions, out of the test output.
  let restore: () => void = () => undefined;
  const captureStdout = (): void => {
    written = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    restore = () => spy.mockRestore();
  };
  afterEach(() => restore());

  /** Runs one README block as a module, with `rxllm` resolved to the simulator-backed context. */
  const run = async (name: string, block: DocBlock): Promise<Record<string, unknown>> =>
    (await import(snippetModule(name, [block]))) as Record<string, unknown>;

  /** Captures what a snippet logs, out of the test output. */
  const captureLog = (): unknown[][] => {
    const logged: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args));
    const previous = restore;
    restore = () => {
      spy.mockRestore();
      previous();
    };
    return logged;
  };

  it('"First stream": streams an answer to stdout', async () => {
    captureStdout();
    const [stream] = section('First stream');
    await run('first-stream', stream!);
    await vi.waitFor(() => expect(written.join('')).toContain(answer('openai')), { timeout: 10_000 });
  });

  it('"First stream": the keyless example runs its own simulator as written', async () => {
    const logged = captureLog();
    const [, keyless] = section('First stream');
    await run('first-stream-keyless', keyless!);
    expect(logged[0]?.[0]).toBe('Two, three and five.');
    expect(logged[0]?.[1]).toMatchObject({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
    expect(logged[0]?.[2]).toMatchObject({ total: expect.any(Number) });
  });

  it('"One model": collects a completion from Anthropic', async () => {
    const logged = captureLog();
    const [first] = section('One model');
    const snippet = await run('one-model', first!);
    const done = snippet['done'] as { text: string; provider: string; finishReason: string };
    expect(done).toMatchObject({ text: answer('anthropic'), provider: 'anthropic', finishReason: 'stop' });
    expect(logged[0]).toEqual([answer('anthropic'), ['openai', 'gemini', 'ollama']]);
  });

  it('"Policies compose": the routed, guarded pipeline streams one answer, routed, finish last', async () => {
    const logged = captureLog();
    const [compose] = section('Policies compose');
    await run('policies-compose', compose!);
    const events = (): TokenEvent[] => logged.map((args) => args[0] as TokenEvent);
    await vi.waitFor(() => expect(events().at(-1)?.type).toBe('finish'), { timeout: 10_000 });
    const types = events().map((e) => e.type);
    expect(types[0]).toBe('route');
    expect(types.filter((t) => t === 'finish')).toHaveLength(1);
    const start = events().find((e) => e.type === 'start');
    const provider = start?.type === 'start' ? start.provider : undefined;
    expect(['openai', 'anthropic', 'gemini', 'ollama']).toContain(provider);
    expect(textOf(events())).toBe(answer(provider ?? ''));
    const finish = events().at(-1);
    expect(finish?.type === 'finish' && finish.reason).toBe('stop');
  });
});
