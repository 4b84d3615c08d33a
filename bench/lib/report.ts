/** Turns a run's results into bench/results/table.md and chart.svg. */
import type { ClientName } from '../client.js';
import type { ProfileSummary } from './profile.js';
import { PROTOCOL_NAMES, type ProtocolName } from './protocols.js';
import { paired, pairedDiff, summarize, type Summary } from './stats.js';

export interface ChildResult {
  readonly ok: boolean;
  readonly wrong?: boolean;
  readonly error?: string;
  readonly [key: string]: unknown;
}

export interface MicroRow {
  readonly group: 'to fetch' | 'tiny call';
  readonly client: ClientName;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly rmePct: number;
  readonly samples: number;
}

export interface Results {
  readonly mode: 'full' | 'quick';
  readonly date: string;
  readonly machine: {
    readonly cpu: string;
    readonly memoryGB: number;
    readonly freeMemoryGB: number;
    readonly os: string;
    readonly loadAverageAtStart: readonly number[];
    loadAverageAtEnd?: readonly number[];
  };
  readonly versions: { readonly [name: string]: string };
  readonly plan: unknown;
  readonly throughput: { protocol: ProtocolName; client: ClientName; run: number; result: ChildResult }[];
  readonly ttft: { protocol: ProtocolName; client: ClientName; run: number; result: ChildResult }[];
  readonly concurrency: {
    streams: number;
    client: ClientName;
    protocol: ProtocolName;
    result: ChildResult;
  }[];
  readonly memory: { client: ClientName; protocol: ProtocolName; tokens: number; result: ChildResult }[];
  micro: MicroRow[];
  profile: ProfileSummary | undefined;
  setupProfile: ProfileSummary | undefined;
  durationS: number;
  /** Seconds spent in each phase. */
  readonly phases: { [name: string]: number };
}

const SDK_NAME: { readonly [p in ProtocolName]: string } = {
  openai: '`openai` SDK loop',
  anthropic: '`@anthropic-ai/sdk` loop',
  gemini: '`@google/generative-ai` loop',
  ollama: '`ollama` SDK loop',
};

export function label(client: ClientName, protocol: ProtocolName = 'openai'): string {
  switch (client) {
    case 'floor':
      return protocol === 'ollama'
        ? 'floor: `fetch` + NDJSON split + `JSON.parse`'
        : 'floor: `fetch` + `eventsource-parser` + `JSON.parse`';
    case 'rxllm-direct':
      return 'rxllm adapter, direct transport';
    case 'rxllm-sdk':
      return 'rxllm adapter, SDK transport';
    case 'sdk-loop':
      return SDK_NAME[protocol];
    case 'rxllm-pipeline':
      return 'rxllm full pipeline (cache miss)';
    case 'rxllm-pipeline-nocache':
      return 'rxllm full pipeline without `cache`';
    case 'rxllm-pipeline-coalesced':
      return 'rxllm full pipeline, providers with `coalesceText: true`';
    case 'rxllm-cache-hit':
      return 'rxllm full pipeline, cache hit';
    case 'rxllm-fusion':
      return 'rxllm 3-way `fuse` (3 streams)';
    case 'ai-sdk':
      return 'Vercel AI SDK `streamText` → `textStream`';
    case 'langchain':
      return 'LangChain.js `ChatOpenAI.stream()`';
  }
}

const plain = (text: string): string => text.replace(/`/g, '');

type Metric = 'usPerToken' | 'cpuUsPerToken';

function runsOf(
  rows: Results['throughput'],
  protocol: ProtocolName,
  client: ClientName,
  metric: string,
): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (const r of rows) {
    if (r.protocol !== protocol || r.client !== client) continue;
    out[r.run] = r.result.ok ? (r.result[metric] as number) : undefined;
  }
  return out;
}

function failures(rows: readonly { result: ChildResult }[]): string[] {
  return rows.filter((r) => !r.result.ok).map((r) => (r.result.wrong ? 'wrong text' : 'failed'));
}

const f = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
const range = (s: Summary, d = 2, unit = ''): string =>
  s.n === 0
    ? '–'
    : s.n === 1
      ? `${f(s.median, d)}${unit}`
      : `${f(s.median, d)}${unit} [${f(s.min, d)}–${f(s.max, d)}]`;

export interface ThroughputRow {
  readonly protocol: ProtocolName;
  readonly client: ClientName;
  readonly wall: Summary;
  readonly cpu: Summary;
  readonly ratio: Summary;
  readonly cpuRatio: Summary;
  readonly failed: string[];
}

export function throughputRows(results: Results): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const protocol of PROTOCOL_NAMES) {
    const clients = [
      ...new Set(results.throughput.filter((r) => r.protocol === protocol).map((r) => r.client)),
    ];
    const floorWall = runsOf(results.throughput, protocol, 'floor', 'usPerToken');
    const floorCpu = runsOf(results.throughput, protocol, 'floor', 'cpuUsPerToken');
    for (const client of clients) {
      const wall = runsOf(results.throughput, protocol, client, 'usPerToken');
      const cpu = runsOf(results.throughput, protocol, client, 'cpuUsPerToken');
      rows.push({
        protocol,
        client,
        wall: summarize(wall.filter((v): v is number => v !== undefined)),
        cpu: summarize(cpu.filter((v): v is number => v !== undefined)),
        ratio: summarize(paired(wall, floorWall)),
        cpuRatio: summarize(paired(cpu, floorCpu)),
        failed: failures(results.throughput.filter((r) => r.protocol === protocol && r.client === client)),
      });
    }
  }
  return rows;
}

interface Target {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? 'n/a' : met ? 'met' : '**missed**';
}

function targets(results: Results, rows: readonly ThroughputRow[]): Target[] {
  const out: Target[] = [];
  const row = (p: ProtocolName, c: ClientName) => rows.find((r) => r.protocol === p && r.client === c);
  const metric = (m: Metric) => (p: ProtocolName, c: ClientName) => runsOf(results.throughput, p, c, m);
  const wallOf = metric('usPerToken');
  const cpuOf = metric('cpuUsPerToken');
  const both = (p: ProtocolName, c: ClientName, base: ClientName, max: number): Target | undefined => {
    const wall = summarize(paired(wallOf(p, c), wallOf(p, base)));
    const cpu = summarize(paired(cpuOf(p, c), cpuOf(p, base)));
    if (wall.n === 0) return undefined;
    return {
      target: `${p}: ${plain(label(c, p))} ≤ ${max}× ${plain(label(base, p))}`,
      measured: `wall ${f(wall.median, 3)}×, cpu ${f(cpu.median, 3)}×`,
      met: wall.median <= max,
    };
  };
  for (const p of PROTOCOL_NAMES) {
    const t = both(p, 'rxllm-direct', 'floor', 1.1);
    if (t) out.push(t);
  }
  for (const p of PROTOCOL_NAMES) {
    const t = both(p, 'rxllm-sdk', 'sdk-loop', 1.05);
    if (t) out.push(t);
  }
  for (const c of ['rxllm-pipeline', 'rxllm-pipeline-coalesced'] as const)
    for (const p of PROTOCOL_NAMES) {
      const t = both(p, c, 'floor', 1.25);
      if (t) out.push(t);
    }
  // Concurrency.
  const conc = (streams: number, client: ClientName) =>
    results.concurrency.find((c) => c.streams === streams && c.client === client)?.result;
  const levels = [...new Set(results.concurrency.map((c) => c.streams))].sort((a, b) => a - b);
  const small = levels.find((l) => l <= 1000) ?? levels[0];
  if (small !== undefined) {
    const floor = conc(small, 'floor');
    const pipe = conc(small, 'rxllm-pipeline');
    if (floor?.ok && pipe?.ok) {
      const w = (pipe['wallMs'] as number) / (floor['wallMs'] as number);
      const m = (pipe['peakRssMB'] as number) / (floor['peakRssMB'] as number);
      out.push({
        target: `${small} concurrent streams: full pipeline ≤ 1.3× the floor's wall time and peak RSS`,
        measured: `wall ${f(w)}×, peak RSS ${f(m)}×`,
        met: w <= 1.3 && m <= 1.3,
      });
    } else {
      out.push({
        target: `${small} concurrent streams: full pipeline ≤ 1.3× the floor`,
        measured: 'a run failed',
        met: false,
      });
    }
  }
  const big = levels.find((l) => l >= 10_000);
  if (big !== undefined) {
    const pipe = conc(big, 'rxllm-pipeline');
    out.push({
      target: `${big} concurrent streams complete (full pipeline)`,
      measured: pipe?.ok
        ? `all ${big} texts correct in ${f((pipe['wallMs'] as number) / 1000, 1)} s`
        : (pipe?.error ?? 'not run'),
      met: pipe?.ok === true,
    });
  }
  // Time to first token.
  for (const p of PROTOCOL_NAMES) {
    const ttftRuns = (c: ClientName): (number | undefined)[] => {
      const o: (number | undefined)[] = [];
      for (const r of results.ttft)
        if (r.protocol === p && r.client === c)
          o[r.run] = r.result.ok ? (r.result['ttftMs'] as number) : undefined;
      return o;
    };
    const added = summarize(pairedDiff(ttftRuns('rxllm-pipeline'), ttftRuns('floor')));
    if (added.n > 0) {
      out.push({
        target: `${p}: time to first token added by the full pipeline ≤ 0.5 ms`,
        measured: `${f(added.median, 3)} ms`,
        met: added.median <= 0.5,
      });
    }
  }
  // Per-call setup.
  const setup = results.micro.find((m) => m.group === 'to fetch' && m.client === 'rxllm-pipeline');
  if (setup)
    out.push({
      target: 'Per-call setup of the full pipeline (subscribe → fetch → abort) ≤ 20 µs',
      measured: `${f(setup.meanUs, 1)} µs`,
      met: setup.meanUs <= 20,
    });
  // Memory.
  const signed = (n: number): string => (n < 0 ? `−${f(-n, 1)}` : `+${f(n, 1)}`);
  for (const c of ['rxllm-direct', 'rxllm-pipeline-nocache', 'rxllm-pipeline'] as const) {
    const m = results.memory.find((r) => r.client === c);
    if (!m) continue;
    out.push({
      target: `${m.tokens.toLocaleString('en-US')}-token stream without collect(): ${plain(label(c))} grows RSS < 20 MB`,
      measured: m.result.ok
        ? `second half's peak ${signed(m.result['lengthGrowthMB'] as number)} MB over the first half's (×2 for the whole stream: ${signed(2 * (m.result['lengthGrowthMB'] as number))} MB); heap retained after GC ${signed(m.result['heapGrowthMB'] as number)} MB`
        : 'failed',
      // The half-stream growth, doubled: what the whole stream would add if memory grew with length.
      met: m.result.ok ? 2 * (m.result['lengthGrowthMB'] as number) < 20 : false,
    });
  }
  // Faster than every peer, run by run.
  for (const p of PROTOCOL_NAMES) {
    const peers: ClientName[] = p === 'openai' ? ['sdk-loop', 'ai-sdk', 'langchain'] : ['sdk-loop'];
    for (const ours of ['rxllm-direct', 'rxllm-pipeline'] as const) {
      const mine = wallOf(p, ours);
      let runs = 0;
      let wins = 0;
      for (const peer of peers) {
        const theirs = wallOf(p, peer);
        for (let i = 0; i < mine.length; i++) {
          const a = mine[i];
          const b = theirs[i];
          if (a === undefined || b === undefined) continue;
          runs++;
          if (a < b) wins++;
        }
      }
      if (runs === 0 || !row(p, ours)) continue;
      out.push({
        target: `${p}: ${plain(label(ours, p))} faster per token than every peer (${peers.map((x) => plain(label(x, p))).join(', ')})`,
        measured: `faster in ${wins} of ${runs} paired runs`,
        met: wins === runs,
      });
    }
  }
  return out;
}

export function renderTable(results: Results): string {
  const rows = throughputRows(results);
  const plan = results.plan as {
    throughput: { tokens: number };
    ttft: { tokens: number; calls: number; warmCalls: number };
    microTimeMs: number;
    microWarmupMs: number;
    warmCalls: number;
    warmTokens: number;
    memoryWarmTokens: number;
  };
  const out: string[] = [];
  out.push(
    `# rxllm benchmarks${results.mode === 'quick' ? ' (quick mode: small sizes, single runs — not for publishing)' : ''}`,
    '',
    `Generated by \`npm run bench\` on ${results.date.slice(0, 10)} in ${results.durationS} s (${Object.entries(
      results.phases,
    )
      .map(([k, v]) => `${k} ${v} s`)
      .join(', ')}).`,
    '',
    `- Machine: ${results.machine.cpu}, ${results.machine.memoryGB} GB RAM, ${results.machine.os}; load average ${results.machine.loadAverageAtStart.join(' / ')} at the start, ${(results.machine.loadAverageAtEnd ?? []).join(' / ')} at the end (1/5/15 min).`,
    `- Versions: ${Object.entries(results.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    `- Method: a loopback server in its own process streams pre-rendered vendor bodies as fast as the socket takes them; every client runs in a fresh process (warmed up with ${plan.warmCalls} call(s) of ${plan.warmTokens.toLocaleString('en-US')} tokens), runs are interleaved, each assembled text is checked byte for byte (length and SHA-256) and a wrong one counts as a failure. Medians with [min–max]; ratios are to the floor on the same protocol, paired run by run. Wall time is the primary figure; CPU time (\`process.cpuUsage\`) is given beside it because it is less sensitive to other load on the machine.`,
    '',
  );

  // µs per token, compact.
  out.push(`## µs per token (${plan.throughput.tokens.toLocaleString('en-US')}-token stream)`, '');
  out.push('Median wall µs per token (× the floor, paired).', '');
  const clients = [...new Set(rows.map((r) => r.client))];
  out.push(
    `| stack | ${PROTOCOL_NAMES.join(' | ')} |`,
    `|---|${PROTOCOL_NAMES.map(() => '---:').join('|')}|`,
  );
  for (const client of clients) {
    const cells = PROTOCOL_NAMES.map((p) => {
      const r = rows.find((x) => x.protocol === p && x.client === client);
      if (!r) return '';
      if (r.wall.n === 0) return `✗ ${r.failed.join(', ')}`;
      return `${f(r.wall.median)} (${f(r.ratio.median)}×)${r.failed.length ? ` ✗${r.failed.length}` : ''}`;
    });
    const name =
      client === 'sdk-loop'
        ? 'vendor SDK loop (`openai`, `@anthropic-ai/sdk`, `@google/generative-ai`, `ollama`)'
        : label(client);
    out.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  out.push('', '<details><summary>Per-run detail: wall and CPU µs per token, ratios</summary>', '');
  out.push(
    '| protocol | stack | wall µs/token | CPU µs/token | × floor (wall) | × floor (CPU) | runs |',
    '|---|---|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    out.push(
      `| ${r.protocol} | ${label(r.client, r.protocol)} | ${range(r.wall)} | ${range(r.cpu)} | ${range(r.ratio)} | ${range(r.cpuRatio)} | ${r.wall.n}${r.failed.length ? ` (✗ ${r.failed.join(', ')})` : ''} |`,
    );
  }
  out.push('', '</details>', '');

  // TTFT.
  if (results.ttft.length > 0) {
    out.push(
      `## Time to first token (${plan.ttft.tokens.toLocaleString('en-US')}-token streams, first chunk sent at once)`,
      '',
    );
    out.push(
      `Median over ${plan.ttft.calls} sequential calls per process, after ${plan.ttft.warmCalls} warm-up calls of the same size (the per-call path optimized, as in a long-lived server); across runs the median [min–max] of those; "added" is paired with the floor run by run.`,
      '',
    );
    out.push('| protocol | stack | TTFT ms | added over floor, ms |', '|---|---|---:|---:|');
    for (const p of PROTOCOL_NAMES) {
      const byClient = (c: ClientName): (number | undefined)[] => {
        const o: (number | undefined)[] = [];
        for (const r of results.ttft)
          if (r.protocol === p && r.client === c)
            o[r.run] = r.result.ok ? (r.result['ttftMs'] as number) : undefined;
        return o;
      };
      const present = [...new Set(results.ttft.filter((r) => r.protocol === p).map((r) => r.client))];
      for (const c of present) {
        const values = byClient(c);
        const s = summarize(values.filter((v): v is number => v !== undefined));
        const added = c === 'floor' ? undefined : summarize(pairedDiff(values, byClient('floor')));
        out.push(`| ${p} | ${label(c, p)} | ${range(s, 3)} | ${added ? range(added, 3) : ''} |`);
      }
    }
    out.push('');
  }

  // Micro.
  if (results.micro.length > 0) {
    out.push('## Per-call setup (tinybench, no network)', '');
    out.push(
      `tinybench, ${plan.microWarmupMs} ms of warm-up and ${plan.microTimeMs} ms of timing per task, in one process. "to fetch": \`subscribe()\` until the stack calls \`fetch\` (a stub that never answers), then unsubscribe (abort). "tiny call": a whole 3-token OpenAI-format answer served from memory by a stub \`fetch\` (setup, parse, teardown).`,
      '',
    );
    out.push(
      '| measure | stack | mean µs | p50 µs | ± % | added over floor, µs |',
      '|---|---|---:|---:|---:|---:|',
    );
    for (const m of results.micro) {
      const floor = results.micro.find((x) => x.group === m.group && x.client === 'floor');
      out.push(
        `| ${m.group} | ${label(m.client)} | ${f(m.meanUs, 1)} | ${f(m.p50Us, 1)} | ${f(m.rmePct, 1)} | ${m.client === 'floor' || !floor ? '' : f(m.meanUs - floor.meanUs, 1)} |`,
      );
    }
    out.push('');
  }

  // Concurrency.
  if (results.concurrency.length > 0) {
    out.push('## Concurrent streams (200 tokens each, OpenAI protocol, one process)', '');
    out.push(
      '| streams | stack | wall s | CPU s | peak RSS MB | wall × floor | RSS × floor |',
      '|---:|---|---:|---:|---:|---:|---:|',
    );
    for (const c of results.concurrency) {
      const floor = results.concurrency.find((x) => x.streams === c.streams && x.client === 'floor')?.result;
      const r = c.result;
      if (!r.ok) {
        out.push(
          `| ${c.streams} | ${label(c.client)} | ✗ ${r.wrong ? 'wrong text' : 'failed'}: ${r.error ?? ''} | | | | |`,
        );
        continue;
      }
      const ratio = (k: string): string =>
        floor?.ok && c.client !== 'floor' ? `${f((r[k] as number) / (floor[k] as number))}×` : '';
      out.push(
        `| ${c.streams} | ${label(c.client)} | ${f((r['wallMs'] as number) / 1000)} | ${f((r['cpuMs'] as number) / 1000)} | ${f(r['peakRssMB'] as number, 0)} | ${ratio('wallMs')} | ${ratio('peakRssMB')} |`,
      );
    }
    out.push('');
  }

  // Memory.
  if (results.memory.length > 0) {
    const tokens = results.memory[0]?.tokens ?? 0;
    out.push(
      `## Memory over a ${tokens.toLocaleString('en-US')}-token stream, consumed without \`collect()\``,
      '',
    );
    const warm = plan.memoryWarmTokens.toLocaleString('en-US');
    out.push(
      `One process per stack: a ${warm}-token warm-up stream, a GC (the baseline), then the ${tokens.toLocaleString('en-US')}-token stream with RSS sampled every 20 ms. A process that streams grows to a working size whatever the length (V8's heap sized to the allocation rate, socket and parser buffers; the floor pays it too), so "growth with length" is the peak over the stream's second half minus the peak over its first half: what grows because the stream goes on. "After GC" is measured once the stream ended and a GC ran.`,
      '',
    );
    out.push(
      '| stack | peak RSS MB, first half | peak RSS MB, second half | growth with length MB | peak over collected baseline MB | RSS growth after GC MB | heap growth after GC MB | wall s |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const m of results.memory) {
      const r = m.result;
      if (!r.ok) {
        out.push(
          `| ${label(m.client)} | ✗ ${r.wrong ? 'wrong text' : 'failed'}: ${r.error ?? ''} | | | | | | |`,
        );
        continue;
      }
      const mb = (key: string): string => f(r[key] as number, 1);
      out.push(
        `| ${label(m.client)} | ${mb('firstHalfPeakRssMB')} | ${mb('secondHalfPeakRssMB')} | ${mb('lengthGrowthMB')} | ${mb('peakGrowthMB')} | ${mb('endGrowthMB')} | ${mb('heapGrowthMB')} | ${f((r['wallMs'] as number) / 1000, 1)} |`,
      );
    }
    out.push('');
  }

  // Targets.
  out.push('## Targets (issue 8)', '', '| target | measured (median) | |', '|---|---|---|');
  for (const t of targets(results, rows)) out.push(`| ${t.target} | ${t.measured} | ${verdict(t.met)} |`);
  out.push(
    '',
    'The full pipeline is `withMetrics` ∘ `cache` (miss) ∘ `budget` ∘ `withFallback` ∘ `route` (priority, budget-aware, per-model stats) over two providers of the protocol, each wrapped in `withRetry` ∘ `withCircuitBreaker` ∘ `rateLimit`; see bench/README.md.',
    '',
  );
  if (results.profile || results.setupProfile) {
    out.push(
      'CPU profiles of the full pipeline (streaming and per-call setup) are summarized in [profile.md](profile.md).',
      '',
    );
  }
  return `${out.join('\n')}`;
}

// ---------------------------------------------------------------------------------------------------

const COLORS: { readonly [c in ClientName]: string } = {
  floor: '#9e9e9e',
  'rxllm-direct': '#1565c0',
  'rxllm-sdk': '#42a5f5',
  'rxllm-pipeline': '#0d47a1',
  'rxllm-pipeline-nocache': '#1976d2',
  'rxllm-pipeline-coalesced': '#283593',
  'rxllm-cache-hit': '#80cbc4',
  'rxllm-fusion': '#5c6bc0',
  'sdk-loop': '#ef8f00',
  'ai-sdk': '#c62828',
  langchain: '#6a1b9a',
};

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of median wall µs per token, grouped by protocol, with min–max whiskers. */
export function renderChart(results: Results): string {
  const rows = throughputRows(results).filter((r) => r.wall.n > 0);
  const plan = results.plan as { throughput: { tokens: number } };
  const max = Math.max(1, ...rows.map((r) => r.wall.max));
  const labelW = 330;
  const barW = 520;
  const rowH = 18;
  const width = labelW + barW + 150;
  const lines: string[] = [];
  let y = 58;
  for (const p of PROTOCOL_NAMES) {
    const group = rows.filter((r) => r.protocol === p);
    if (group.length === 0) continue;
    lines.push(`<text x="8" y="${y + 12}" font-weight="bold">${p}</text>`);
    y += rowH + 2;
    for (const r of group) {
      const w = (r.wall.median / max) * barW;
      const x0 = labelW + (r.wall.min / max) * barW;
      const x1 = labelW + (r.wall.max / max) * barW;
      lines.push(
        `<text x="${labelW - 8}" y="${y + 12}" text-anchor="end">${esc(plain(label(r.client, p)))}</text>`,
        `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 5}" fill="${COLORS[r.client]}"/>`,
        r.wall.n > 1
          ? `<line x1="${x0.toFixed(1)}" x2="${x1.toFixed(1)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#333" stroke-width="1"/>`
          : '',
        `<text x="${(labelW + Math.max(w, x1 - labelW) + 6).toFixed(1)}" y="${y + 12}">${f(r.wall.median)} µs (${f(r.ratio.median)}×)</text>`,
      );
      y += rowH;
    }
    y += 8;
  }
  const height = y + 28;
  const title = `µs per token, ${plan.throughput.tokens.toLocaleString('en-US')}-token stream (median wall time; line: min–max; × floor paired)`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="8" y="40" fill="#555">${esc(`${results.date.slice(0, 10)} · Node ${results.versions['node'] ?? ''} · ${results.machine.cpu} · rxllm ${results.versions['rxllm'] ?? ''}${results.mode === 'quick' ? ' · QUICK MODE' : ''}`)}</text>`,
    `<line x1="${labelW}" x2="${labelW}" y1="50" y2="${y}" stroke="#bbb"/>`,
    ...lines.filter((l) => l !== ''),
    `<text x="8" y="${height - 8}" fill="#777">Generated by npm run bench (bench/run.ts). Lower is better.</text>`,
    '</svg>',
    '',
  ].join('\n');
}
