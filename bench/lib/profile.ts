/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`) into self time per function and per source
 * file. Bundled code is mapped back to its source file through the `// src/...` markers esbuild writes
 * before each module.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileRow {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

export interface ProfileSummary {
  readonly samples: number;
  /** Sampled time, idle excluded. */
  readonly busyMs: number;
  readonly functions: readonly ProfileRow[];
  readonly files: readonly ProfileRow[];
  readonly markdown: string;
}

/** Line (0-based) → source file, for every bundle file in `buildDir`. */
function bundleSources(buildDir: string): Map<string, string[]> {
  const maps = new Map<string, string[]>();
  for (const file of readdirSync(buildDir)) {
    if (!file.endsWith('.mjs')) continue;
    const lines = readFileSync(join(buildDir, file), 'utf8').split('\n');
    const sources: string[] = [];
    let current = `(bundle) ${file}`;
    for (const line of lines) {
      const marker = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(line);
      if (marker) current = marker[1] as string;
      sources.push(current);
    }
    maps.set(join(buildDir, file), sources);
  }
  return maps;
}

function locate(
  frame: ProfileNode['callFrame'],
  bundles: Map<string, string[]>,
  root: string,
): { file: string; where: string } {
  const { url, lineNumber } = frame;
  if (url === '') return { file: '(vm)', where: '' };
  if (url.startsWith('node:')) return { file: url, where: `${url}:${lineNumber + 1}` };
  let path = url;
  try {
    if (url.startsWith('file:')) path = fileURLToPath(url);
  } catch {
    return { file: url, where: url };
  }
  const sources = bundles.get(path);
  if (sources) {
    const file = sources[lineNumber] ?? path;
    return { file, where: `${file} (bundle line ${lineNumber + 1})` };
  }
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length);
    const parts = rest.split('/');
    const pkg = rest.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
    return { file: pkg, where: `${rest}:${lineNumber + 1}` };
  }
  const relative = path.startsWith(root) ? path.slice(root.length + 1) : path;
  return { file: relative, where: `${relative}:${lineNumber + 1}` };
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);
/** A table cell: pipes escaped, long names (a RegExp's source) cut. */
const cell = (text: string): string =>
  (text.length > 90 ? `${text.slice(0, 87)}…` : text).replace(/\|/g, '\\|');

export function summarizeProfile(
  profilePath: string,
  buildDir: string,
  root: string,
  title: string,
  description: string,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const bundles = bundleSources(buildDir);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node from the sample timeline (each delta belongs to the sample it precedes).
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const { file, where } = locate(node.callFrame, bundles, root);
    const name = functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const fileKey = file === '(vm)' ? name : file;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const pct = (us: number): number => (busy > 0 ? (100 * us) / busy : 0);
  const topFunctions: ProfileRow[] = [...functions.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, 30)
    .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, selfPct: pct(f.us) }));
  const topFiles: ProfileRow[] = [...files.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([file, us]) => ({ name: file, where: file, selfMs: us / 1000, selfPct: pct(us) }));

  const rxllmShare = [...files.entries()]
    .filter(([f]) => f.startsWith('src/'))
    .reduce((n, [, us]) => n + us, 0);
  const lines: string[] = [
    `## ${title}`,
    '',
    `${description} ${profile.samples.length} samples, ${fmt(busy / 1000, 0)} ms busy (idle excluded); rxllm's own code (\`src/\`) ${fmt(pct(rxllmShare))}% of it.`,
    '',
    '### Self time by source file or package',
    '',
    '| file / package | self ms | % of busy |',
    '|---|---:|---:|',
    ...topFiles.map((f) => `| \`${cell(f.name)}\` | ${fmt(f.selfMs)} | ${fmt(f.selfPct)} |`),
    '',
    '### Top functions by self time',
    '',
    '| function | where | self ms | % of busy |',
    '|---|---|---:|---:|',
    ...topFunctions.map((f) => `| \`${cell(f.name)}\` | ${f.where} | ${fmt(f.selfMs)} | ${fmt(f.selfPct)} |`),
    '',
  ];
  return {
    samples: profile.samples.length,
    busyMs: busy / 1000,
    functions: topFunctions,
    files: topFiles,
    markdown: lines.join('\n'),
  };
}
