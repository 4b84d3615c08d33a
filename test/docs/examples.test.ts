/**
 * Every code example a reader sees compiles against the built package: the ```ts/```tsx blocks of
 * README.md and the TSDoc examples (`## Example` fences and `@example` tags) on the exported declarations
 * (and their members) of every source file the entry points reach. Each block becomes one module of a consumer project whose `node_modules/rxllm`
 * links to this repository, so the `exports` map and `dist/*.d.ts` are what is compiled, with
 * `tsc --strict --skipLibCheck false` (module `nodenext`).
 *
 * Context a block may rely on without writing it (docs/doc-examples.md says the same for authors):
 * - every block: the declared names of `SHARED_CONTEXT` below (`gpt`, `claude`, `request`, `pipeline`,
 *   `render`, `res`, …), models and values an example talks about without building them;
 * - TSDoc examples: the package's exports and RxJS's, imported for them (an example shows a call, not its
 *   imports);
 * - README blocks: nothing else. A block that continues an earlier one says what it needs in an HTML
 *   comment just before its fence: `<!-- context: import { openai } from 'rxllm'; -->`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { consumerProject, ensureBuilt, typecheck, type Diagnostic } from './builtPackage.js';
import { ENTRIES, markdownBlocks, reachableSources, ROOT, tsdocBlocks, type DocBlock } from './extract.js';

/** Names every example may use undeclared: what examples talk about, never build. */
const SHARED_CONTEXT = `import type { Budget, ChatRequest, LanguageModel, Message, Metrics, ModelSpec, TokenEvent } from 'rxllm';
import type { Observable } from 'rxjs';
import type { IncomingMessage, ServerResponse } from 'node:http';

declare global {
  /** Models built elsewhere (README "One model"), and a few more by the names examples give them. */
  const gpt: LanguageModel;
  const claude: LanguageModel;
  const flash: LanguageModel;
  const local: LanguageModel;
  const mini: LanguageModel;
  const gpt4o: LanguageModel;
  const gpt5: LanguageModel;
  const haiku: LanguageModel;
  const sonnet: LanguageModel;
  const llama: LanguageModel;
  const pool: readonly LanguageModel[];
  /** A pipeline built elsewhere (README "Policies compose"), and its parts. */
  const pipeline: LanguageModel;
  const spend: Budget;
  const metrics: Metrics;
  /** A request, its messages, a stream of its events. */
  const request: ChatRequest;
  const messages: Message[];
  const stream$: Observable<TokenEvent>;
  /** Inputs: a key, a credential file's password, a model spec of your own, a fetch response. */
  const apiKey: string;
  const password: string;
  const myModelSpec: ModelSpec;
  const response: Response;
  /** UI sinks. */
  function render(value: unknown): void;
  function append(delta: string | null): void;
  /** A Node HTTP exchange. */
  const req: IncomingMessage;
  const res: ServerResponse;
  function readJson(req: IncomingMessage): Promise<ChatRequest>;
}
export {};
`;

/**
 * Where an implicit import comes from: each entry's exported names, from its barrel
 * (`export { a, b as c } from …`), then RxJS's values (`pipe`, `filter`, …).
 */
async function exportedNames(): Promise<Map<string, string>> {
  const owner = new Map<string, string>();
  for (const [specifier, file] of Object.entries(ENTRIES)) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
      for (const item of (match[1] ?? '').split(',')) {
        const name =
          item
            .trim()
            .split(/\s+as\s+/)
            .pop() ?? '';
        if (name !== '' && !owner.has(name)) owner.set(name, specifier);
      }
    }
  }
  for (const name of Object.keys(await import('rxjs'))) if (!owner.has(name)) owner.set(name, 'rxjs');
  return owner;
}

/** Names a block declares itself (so no import of the same name is added). */
function declaredNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(
    /\b(?:const|let|var|function\*?|class|type|interface)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    names.add(m[1] ?? '');
  }
  for (const m of code.matchAll(/\b(?:const|let|var)\s*[{[]([^}\]=]*)[}\]]\s*=/g)) {
    for (const part of (m[1] ?? '').split(',')) names.add(part.split(':').pop()?.trim() ?? '');
  }
  for (const m of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of (m[1] ?? '').split(','))
      names.add(
        part
          .trim()
          .split(/\s+as\s+/)
          .pop() ?? '',
      );
  }
  return names;
}

/** The imports a TSDoc example leaves implicit: each package export it names and does not declare. */
function implicitImports(code: string, owners: Map<string, string>): string {
  const declared = declaredNames(code);
  const bySpecifier = new Map<string, string[]>();
  for (const word of new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? [])) {
    const specifier = owners.get(word);
    if (specifier === undefined || declared.has(word)) continue;
    bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), word]);
  }
  return [...bySpecifier]
    .map(([specifier, names]) => `import { ${names.join(', ')} } from '${specifier}';`)
    .join(' ');
}

/**
 * Compiles blocks, one module each, and maps every message back to the block's file and line. The
 * header (imports, context) stays on the module's first line, so line N of the code is line N + 1.
 */
function compile(blocks: readonly DocBlock[], header: (block: DocBlock) => string): string[] {
  const files: Record<string, string> = { 'context.d.ts': SHARED_CONTEXT };
  const origin = new Map<string, DocBlock>();
  blocks.forEach((block, i) => {
    const name = `block${i}.${block.lang}`;
    origin.set(name, block);
    files[name] = `${header(block).replace(/\n/g, ' ')}\n${block.code}\nexport {};\n`;
  });
  const dir = consumerProject(files, ['node']);
  let diagnostics: Diagnostic[];
  try {
    diagnostics = typecheck(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return diagnostics.map((d) => {
    const name = d.file.replace(/^.*[\\/]/, '');
    const block = d.file.startsWith('node_modules') || d.file.includes('/') ? undefined : origin.get(name);
    if (block === undefined) return `${d.file || '(project)'}:${d.line}: ${d.message}`;
    return `${block.file}:${block.line + d.line - 2}: ${d.message}`;
  });
}

describe('documentation examples compile against the built package', () => {
  let readme: DocBlock[] = [];
  let tsdoc: DocBlock[] = [];
  let failures: string[] = [];

  // One program for all blocks: checking the libraries (`skipLibCheck: false`) is most of the time.
  beforeAll(async () => {
    ensureBuilt();
    const owners = await exportedNames();
    readme = markdownBlocks('README.md');
    const isPublic = (name: string): boolean => owners.has(name) && owners.get(name) !== 'rxjs';
    tsdoc = reachableSources().flatMap((file) => tsdocBlocks(file, isPublic));
    failures = compile([...readme, ...tsdoc], (block) =>
      block.file === 'README.md' ? block.context : implicitImports(block.code, owners),
    );
  }, 300_000);

  it('README.md: every ts/tsx block, with only its declared context', () => {
    expect(readme.length).toBeGreaterThanOrEqual(5);
    const own = failures.filter((f) => f.startsWith('README.md:'));
    expect(own, `README blocks that do not compile:\n${own.join('\n')}`).toEqual([]);
  });

  it('TSDoc: every example in the sources the entry points reach, and the built typings', () => {
    expect(tsdoc.length).toBeGreaterThanOrEqual(100);
    const own = failures.filter((f) => !f.startsWith('README.md:'));
    expect(own, `TSDoc examples that do not compile:\n${own.join('\n')}`).toEqual([]);
  });
});
