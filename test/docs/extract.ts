/**
 * Finds the code a reader copies: the ```ts/```tsx blocks of README.md and the TSDoc examples of every
 * source file the five entry points reach. Used by the doc tests (compile, run); see docs/doc-examples.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package's entry points, by subpath. */
export const ENTRIES: Readonly<Record<string, string>> = {
  rxllm: 'src/index.ts',
  'rxllm/testing': 'src/testing.ts',
  'rxllm/react': 'src/react.ts',
  'rxllm/config': 'src/config.ts',
  'rxllm/otel': 'src/otel.ts',
  'rxllm/server': 'src/server.ts',
};

/** One code block, with where it came from (for messages that point at the line to fix). */
export interface DocBlock {
  /** Repository-relative file, e.g. `README.md` or `src/helpers/collect.ts`. */
  readonly file: string;
  /** 1-based line of the block's first code line in `file`. */
  readonly line: number;
  /** `ts` or `tsx`. */
  readonly lang: 'ts' | 'tsx';
  readonly code: string;
  /** README only: the text of a `<!-- context: … -->` comment just before the block. */
  readonly context: string;
  /** README only: the heading the block sits under (`## One model`, …). */
  readonly heading: string;
}

const FENCE = /^\s*```(\w*)\s*$/;
const CODE_LANGS: Readonly<Record<string, 'ts' | 'tsx'>> = { ts: 'ts', typescript: 'ts', tsx: 'tsx' };

/** Fenced blocks of a markdown text (lines already stripped of any comment decoration). */
function fencedBlocks(lines: readonly string[]): { start: number; lang: string; code: string[] }[] {
  const blocks: { start: number; lang: string; code: string[] }[] = [];
  let open: { start: number; lang: string; code: string[] } | undefined;
  lines.forEach((text, i) => {
    const fence = FENCE.exec(text);
    if (open === undefined) {
      if (fence) open = { start: i + 1, lang: fence[1] ?? '', code: [] };
    } else if (fence && fence[1] === '') {
      blocks.push(open);
      open = undefined;
    } else {
      open.code.push(text);
    }
  });
  return blocks;
}

/** The ```ts and ```tsx blocks of a markdown file, each with its context comment and heading. */
export function markdownBlocks(file: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  return fencedBlocks(lines).flatMap(({ start, lang, code }) => {
    const kind = CODE_LANGS[lang];
    if (kind === undefined) return [];
    const before = lines.slice(0, start - 1);
    const heading = [...before].reverse().find((l) => /^#{1,6} /.test(l)) ?? '';
    // `<!-- context: … -->` (one or several lines) ending on the line before the fence, blank lines allowed.
    let end = before.length - 1;
    while (end >= 0 && before[end]?.trim() === '') end--;
    let context = '';
    if (before[end]?.trim().endsWith('-->')) {
      let begin = end;
      while (begin >= 0 && !before[begin]?.includes('<!--')) begin--;
      const comment = before.slice(begin, end + 1).join('\n');
      const match = /<!--\s*context:([\s\S]*?)-->/.exec(comment);
      if (match) context = (match[1] ?? '').trim();
    }
    return [{ file, line: start + 1, lang: kind, code: code.join('\n'), context, heading }];
  });
}

/** Source files reachable from the entry points through relative imports (static or lazy). */
export function reachableSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts')));
      visit(target);
    }
  };
  Object.values(ENTRIES).forEach(visit);
  return [...seen].sort();
}

const TOP_LEVEL =
  /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type)\s+([\w$]+)/;

/**
 * The top-level declaration a doc comment documents: the next one after a comment at column 0, else (a
 * member's comment) the one the comment sits inside.
 */
function documentedName(
  lines: readonly string[],
  commentStart: number,
  commentEnd: number,
): string | undefined {
  const indented = /^\s/.test(lines[commentStart] ?? '');
  if (!indented) return TOP_LEVEL.exec(lines[commentEnd + 1] ?? '')?.[1];
  for (let i = commentStart - 1; i >= 0; i--) {
    const text = lines[i] ?? '';
    if (/^\S/.test(text) && !text.startsWith('}')) return TOP_LEVEL.exec(text)?.[1];
  }
  return undefined;
}

/**
 * The examples of a TypeScript file's doc comments on declarations `isPublic` accepts (an internal
 * helper's example uses internal names): each fenced ```ts block (`## Example` sections), and each
 * `@example` tag's body when it has no fence.
 */
export function tsdocBlocks(file: string, isPublic: (name: string) => boolean): DocBlock[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const sourceLines = source.split('\n');
  const blocks: DocBlock[] = [];
  for (const comment of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = source.slice(0, comment.index).split('\n').length;
    const lastLine = firstLine + comment[0].split('\n').length - 1;
    const name = documentedName(sourceLines, firstLine - 1, lastLine - 1);
    if (name === undefined || !isPublic(name)) continue;
    const lines = comment[0]
      .split('\n')
      .map((l) => l.replace(/^\s*\/?\*+\/?\s?/, '').replace(/\s*\*\/$/, ''));
    const push = (index: number, lang: 'ts' | 'tsx', code: readonly string[]): void => {
      blocks.push({ file, line: firstLine + index, lang, code: code.join('\n'), context: '', heading: '' });
    };
    const fenced = fencedBlocks(lines);
    for (const block of fenced) {
      const lang = CODE_LANGS[block.lang];
      if (lang !== undefined) push(block.start, lang, block.code);
    }
    lines.forEach((text, i) => {
      if (!/^@example\b/.test(text)) return;
      const bodyStart = i + 1;
      let end = bodyStart;
      while (end < lines.length && !/^@\w+/.test(lines[end] ?? '')) end++;
      const body = lines.slice(bodyStart, end);
      if (body.some((l) => FENCE.test(l))) return; // counted with the fenced blocks
      const inline = text.replace(/^@example\s*/, '');
      const code = inline === '' ? body : [inline, ...body];
      push(inline === '' ? bodyStart : i, 'ts', code);
    });
  }
  return blocks;
}
