/**
 * `npm run bench` (`node --import tsx bench/run.ts [--quick]`): installs the peers into bench/ if needed,
 * bundles the server and the clients, starts the loopback server in its own process, then runs every
 * measurement in a fresh client process, interleaved run by run, and writes bench/results/.
 *
 * Full mode: 100,000-token streams (3 runs per stack and protocol), time to first token,
 * per-call setup, 1,000 and 10,000 concurrent streams, a 1,000,000-token stream, a CPU profile.
 * `--quick`: the same on small sizes and single runs, for development (results go to `*-quick.*`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, ClientName, Mode } from './client.js';
import { bundle } from './lib/build.js';
import { expected, type Expected } from './lib/corpus.js';
import { summarizeProfile } from './lib/profile.js';
import { PROTOCOL_NAMES, type ProtocolName } from './lib/protocols.js';
import { renderChart, renderTable, type ChildResult, type Results } from './lib/report.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
// Inside bench/node_modules: out of reach of the project's lint, format and type checks, and of git.
const BUILD = join(BENCH, 'node_modules', '.cache', 'rxllm-bench');
const RESULTS = join(BENCH, 'results');
const QUICK = process.argv.includes('--quick');

interface Plan {
  readonly throughput: {
    readonly tokens: number;
    readonly runs: { readonly [p in ProtocolName]: number };
    /** Fewer runs for these (the slowest stacks), to keep the whole command within five minutes. */
    readonly runCaps: { readonly [c in ClientName]?: number };
  };
  readonly ttft: {
    readonly tokens: number;
    readonly calls: number;
    readonly runs: number;
    /** Calls of the same size before measuring: the per-call path optimized, as in a long-lived server. */
    readonly warmCalls: number;
    readonly protocols: readonly ProtocolName[];
  };
  readonly concurrency: readonly { readonly streams: number; readonly clients: readonly ClientName[] }[];
  readonly memory: { readonly tokens: number; readonly clients: readonly ClientName[] };
  readonly microTimeMs: number;
  /** tinybench warm-up per task: long enough that the setup path is optimized, as in a long-lived server. */
  readonly microWarmupMs: number;
  readonly profileTokens: number;
  /** Calls of the per-call setup profile. */
  readonly setupLoopCalls: number;
  readonly childTimeoutMs: number;
  /** Warm-up calls before each measurement (so the hot functions are optimized, as in a long-lived server). */
  readonly warmCalls: number;
  /** Tokens of each warm-up call of the per-token measurement. */
  readonly warmTokens: number;
  /** The warm-up answer before the memory measurement (so the heap has grown to its working size). */
  readonly memoryWarmTokens: number;
}

const FULL: Plan = {
  throughput: {
    tokens: 100_000,
    runs: { openai: 3, anthropic: 3, gemini: 3, ollama: 3 },
    // No target rides on fusion and the cache hit: one run each. The opt-in row and the two slowest peers
    // (7 and 5 s a run) get two: that keeps the whole suite under five minutes on a slow day here.
    runCaps: {
      'rxllm-fusion': 1,
      'rxllm-cache-hit': 1,
      'rxllm-pipeline-coalesced': 2,
      'ai-sdk': 2,
      langchain: 2,
    },
  },
  // A call's latency here is bimodal (about 0.6 ms or 1.3 ms for the floor alike, from one call to the next),
  // so a median of 30 calls moved by 0.3 ms between processes: 60 calls and 3 runs steady it, and 200
  // warm-up calls bring the per-call path nearer the code a long-lived server runs.
  ttft: { tokens: 1000, calls: 60, runs: 3, warmCalls: 200, protocols: PROTOCOL_NAMES },
  concurrency: [
    // The AI SDK is the peer the issue compares at this scale; LangChain and the bare adapter are measured
    // per token and per call (leaving them out here keeps the whole suite under five minutes).
    { streams: 1000, clients: ['floor', 'rxllm-pipeline', 'ai-sdk'] },
    // 10,000 streams: the pipeline only (the target is that it completes); the floor would add a minute.
    { streams: 10_000, clients: ['rxllm-pipeline'] },
  ],
  // The pipeline with its cache is left out: a miss records the whole answer by design (see README).
  memory: { tokens: 1_000_000, clients: ['floor', 'rxllm-direct', 'rxllm-pipeline-nocache'] },
  microTimeMs: 400,
  microWarmupMs: 1000,
  profileTokens: 100_000,
  setupLoopCalls: 5000,
  childTimeoutMs: 180_000,
  // Three 20,000-token calls bring every stack, the floor included, to its steady state: after one
  // 5,000-token call the measured stream still paid for V8 tiering its hot code up (15-30% here).
  warmCalls: 3,
  warmTokens: 20_000,
  memoryWarmTokens: 500_000,
};

const QUICK_PLAN: Plan = {
  throughput: { tokens: 5000, runs: { openai: 1, anthropic: 1, gemini: 1, ollama: 1 }, runCaps: {} },
  ttft: { tokens: 1000, calls: 10, runs: 1, warmCalls: 10, protocols: ['openai'] },
  concurrency: [{ streams: 100, clients: ['floor', 'rxllm-pipeline', 'ai-sdk', 'langchain'] }],
  memory: { tokens: 50_000, clients: ['rxllm-direct', 'rxllm-pipeline-nocache'] },
  microTimeMs: 50,
  microWarmupMs: 50,
  profileTokens: 10_000,
  setupLoopCalls: 500,
  childTimeoutMs: 60_000,
  warmCalls: 1,
  warmTokens: 1000,
  memoryWarmTokens: 50_000,
};

const plan = QUICK ? QUICK_PLAN : FULL;

/** The stacks measured per token, per protocol (peers speak the OpenAI protocol only). */
function throughputClients(protocol: ProtocolName): ClientName[] {
  const all: ClientName[] = [
    'floor',
    'rxllm-direct',
    'rxllm-sdk',
    'sdk-loop',
    'rxllm-pipeline',
    'rxllm-pipeline-coalesced',
    'rxllm-cache-hit',
    'rxllm-fusion',
  ];
  return protocol === 'openai' ? [...all, 'ai-sdk', 'langchain'] : all;
}

function runsFor(protocol: ProtocolName, client: ClientName): number {
  return Math.min(plan.throughput.runs[protocol], plan.throughput.runCaps[client] ?? Infinity);
}

/** Time to first token: the floor and the pipeline on every protocol, the bare adapter on OpenAI. */
function ttftClients(protocol: ProtocolName): ClientName[] {
  return protocol === 'openai' ? ['floor', 'rxllm-direct', 'rxllm-pipeline'] : ['floor', 'rxllm-pipeline'];
}

// ---------------------------------------------------------------------------------------------------

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function ensurePeers(): void {
  const lock = join(BENCH, 'package-lock.json');
  const installed = join(BENCH, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  log('bench: installing the peers into bench/node_modules (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--prefix', BENCH], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('bench: npm ci in bench/ failed');
}

interface ServerHandle {
  readonly url: string;
  stop(): void;
}

function startServer(): Promise<ServerHandle> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(BUILD, 'server.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) {
        resolve({
          url: `http://127.0.0.1:${match[1]}`,
          stop: () => {
            if (child.exitCode === null) child.kill('SIGTERM');
          },
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`bench: the server exited early (${code})`)));
  });
}

function runChild(config: ChildConfig, nodeFlags: readonly string[] = []): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, join(BUILD, 'client.mjs'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LANGCHAIN_TRACING_V2: 'false',
        LANGSMITH_TRACING: 'false',
        NODE_ENV: 'production',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), plan.childTimeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) {
        resolve(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
        return;
      }
      resolve({
        ok: false,
        error:
          signal === 'SIGKILL'
            ? `timed out after ${plan.childTimeoutMs} ms`
            : `exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
      });
    });
  });
}

const expectations = new Map<number, Expected>();
function expect(tokens: number): Expected {
  let e = expectations.get(tokens);
  if (!e) expectations.set(tokens, (e = expected(tokens)));
  return e;
}

function config(
  server: string,
  mode: Mode,
  client: ClientName,
  protocol: ProtocolName,
  tokens: number,
  extra: Partial<ChildConfig> = {},
): ChildConfig {
  return {
    mode,
    client,
    protocol,
    server,
    tokens,
    expect: expect(tokens),
    warm: { calls: plan.warmCalls, expect: expect(plan.warmTokens) },
    ...extra,
  };
}

function describe(result: ChildResult, show: (r: ChildResult) => string): string {
  if (result.ok) return show(result);
  return result.wrong ? `WRONG TEXT: ${result.error}` : `FAILED: ${result.error}`;
}

function versions(): Results['versions'] {
  const version = (dir: string, name: string): string => {
    try {
      return (
        JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return 'missing';
    }
  };
  const rxllm = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout.trim();
  return {
    node: process.version,
    rxllm: `${rxllm}${commit ? ` (${commit})` : ''}`,
    rxjs: version(ROOT, 'rxjs'),
    'eventsource-parser': version(ROOT, 'eventsource-parser'),
    openai: version(ROOT, 'openai'),
    '@anthropic-ai/sdk': version(ROOT, '@anthropic-ai/sdk'),
    '@google/generative-ai': version(ROOT, '@google/generative-ai'),
    ollama: version(ROOT, 'ollama'),
    ai: version(BENCH, 'ai'),
    '@ai-sdk/openai': version(BENCH, '@ai-sdk/openai'),
    '@langchain/openai': version(BENCH, '@langchain/openai'),
    '@langchain/core': version(BENCH, '@langchain/core'),
    tinybench: version(BENCH, 'tinybench'),
  };
}

function machine(): Results['machine'] {
  const cpu = cpus();
  return {
    cpu: `${cpu[0]?.model ?? 'unknown'} × ${cpu.length}`,
    memoryGB: Math.round(totalmem() / 1024 ** 3),
    freeMemoryGB: Math.round(freemem() / 1024 ** 3),
    os: `${osType()} ${release()}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  ensurePeers();
  rmSync(BUILD, { recursive: true, force: true });
  await bundle(ROOT, BUILD);
  mkdirSync(RESULTS, { recursive: true });
  const server = await startServer();
  const results: Results = {
    mode: QUICK ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: machine(),
    versions: versions(),
    plan,
    throughput: [],
    ttft: [],
    concurrency: [],
    memory: [],
    micro: [],
    profile: undefined,
    setupProfile: undefined,
    durationS: 0,
    phases: {},
  };
  let profileMarkdown: string | undefined;
  let phaseStart = Date.now();
  const phaseDone = (name: string): void => {
    results.phases[name] = Math.round((Date.now() - phaseStart) / 100) / 10;
    phaseStart = Date.now();
  };
  phaseDone('install + bundle + server');
  try {
    // 0. Preflight: every stack once on a short answer (in parallel, not measured), so a broken tree fails
    // in seconds rather than after minutes of measurements.
    {
      const stacks: ClientName[] = [...throughputClients('openai'), 'rxllm-pipeline-nocache'];
      const checks = await Promise.all(
        stacks.map(async (client) => ({
          client,
          result: await runChild(
            config(server.url, 'throughput', client, 'openai', 200, {
              warm: { calls: 0, expect: expect(200) },
            }),
          ),
        })),
      );
      const broken = checks.filter((c) => !c.result.ok);
      for (const b of broken) log(`preflight ${b.client}: ${describe(b.result, () => '')}`);
      if (broken.length > 0)
        throw new Error(`bench: ${broken.length} stack(s) failed the preflight; nothing was measured`);
      phaseDone('preflight');
    }

    // 1. µs per token: interleaved runs, each client in a fresh process; the order rotates every run.
    const maxRuns = Math.max(...Object.values(plan.throughput.runs));
    const jobs = PROTOCOL_NAMES.flatMap((protocol) =>
      throughputClients(protocol).map((client) => ({ protocol, client })),
    );
    for (let run = 0; run < maxRuns; run++) {
      const active = jobs.filter((j) => run < runsFor(j.protocol, j.client));
      const shift = (run * 3) % active.length;
      const order = [...active.slice(shift), ...active.slice(0, shift)];
      for (const { protocol, client } of order) {
        const result = await runChild(
          config(server.url, 'throughput', client, protocol, plan.throughput.tokens),
        );
        results.throughput.push({ protocol, client, run, result });
        log(
          `throughput run ${run + 1}/${runsFor(protocol, client)} ${protocol} ${client}: ${describe(result, (r) => `${(r['usPerToken'] as number).toFixed(2)} µs/token (cpu ${(r['cpuUsPerToken'] as number).toFixed(2)})`)}`,
        );
      }
    }

    phaseDone('µs per token');

    // 2. Time to first token on 1,000-token streams.
    for (let run = 0; run < plan.ttft.runs; run++) {
      for (const protocol of plan.ttft.protocols) {
        for (const client of ttftClients(protocol)) {
          const result = await runChild(
            config(server.url, 'ttft', client, protocol, plan.ttft.tokens, {
              calls: plan.ttft.calls,
              warm: { calls: plan.ttft.warmCalls, expect: expect(plan.ttft.tokens) },
            }),
          );
          results.ttft.push({ protocol, client, run, result });
          log(
            `ttft run ${run + 1} ${protocol} ${client}: ${describe(result, (r) => `${(r['ttftMs'] as number).toFixed(3)} ms`)}`,
          );
        }
      }
    }

    phaseDone('time to first token');

    // 3. Per-call setup (tinybench, in-memory responses).
    {
      const result = await runChild(
        config(server.url, 'micro', 'floor', 'openai', 3, {
          microTimeMs: plan.microTimeMs,
          microWarmupMs: plan.microWarmupMs,
        }),
      );
      results.micro = result.ok ? (result['rows'] as Results['micro']) : [];
      log(`micro: ${describe(result, () => `${results.micro.length} rows`)}`);
    }

    phaseDone('per-call setup');

    // 4. Concurrent streams of 200 tokens.
    for (const level of plan.concurrency) {
      for (const client of level.clients) {
        const result = await runChild(
          config(server.url, 'concurrency', client, 'openai', 200, {
            concurrency: level.streams,
            warm: { calls: plan.warmCalls, expect: expect(200) },
          }),
        );
        results.concurrency.push({ streams: level.streams, client, protocol: 'openai', result });
        log(
          `concurrency ${level.streams} ${client}: ${describe(result, (r) => `${((r['wallMs'] as number) / 1000).toFixed(2)} s wall, ${((r['cpuMs'] as number) / 1000).toFixed(2)} s cpu, ${(r['peakRssMB'] as number).toFixed(0)} MB peak`)}`,
        );
      }
    }

    phaseDone('concurrency');

    // 5. Memory over one long stream consumed without collecting.
    for (const client of plan.memory.clients) {
      const result = await runChild(
        config(server.url, 'memory', client, 'openai', plan.memory.tokens, {
          warm: { calls: 1, expect: expect(plan.memoryWarmTokens) },
        }),
        ['--expose-gc'],
      );
      results.memory.push({ client, protocol: 'openai', tokens: plan.memory.tokens, result });
      log(
        `memory ${client}: ${describe(result, (r) => `+${(r['peakGrowthMB'] as number).toFixed(1)} MB peak, +${(r['endGrowthMB'] as number).toFixed(1)} MB after GC`)}`,
      );
    }

    phaseDone('memory');

    // 6. CPU profiles of the full pipeline: streaming (per token) and per-call setup.
    {
      const sections: string[] = [];
      const profiled = async (name: string, child: ChildConfig, title: string, description: string) => {
        const dir = join(BUILD, `profile-${name}`);
        rmSync(dir, { recursive: true, force: true });
        const result = await runChild(child, [
          '--cpu-prof',
          `--cpu-prof-dir=${dir}`,
          '--cpu-prof-interval=200',
        ]);
        const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
        if (!result.ok || !file) {
          log(`profile ${name}: ${describe(result, () => 'no profile written')}`);
          return undefined;
        }
        const summary = summarizeProfile(join(dir, file), BUILD, ROOT, title, description);
        sections.push(summary.markdown);
        log(`profile ${name}: ${summary.samples} samples`);
        return summary;
      };
      results.profile = await profiled(
        'stream',
        config(server.url, 'throughput', 'rxllm-pipeline', 'openai', plan.profileTokens),
        `Streaming: the full pipeline on a ${plan.profileTokens.toLocaleString('en-US')}-token OpenAI stream`,
        'One `node --cpu-prof --cpu-prof-interval=200` process: start-up, warm-up and the measured stream.',
      );
      results.setupProfile = await profiled(
        'setup',
        config(server.url, 'setup-loop', 'rxllm-pipeline', 'openai', 3, { calls: plan.setupLoopCalls }),
        `Per-call setup: the full pipeline subscribed ${plan.setupLoopCalls.toLocaleString('en-US')} times until it calls fetch, then unsubscribed`,
        'One `node --cpu-prof --cpu-prof-interval=200` process, a stub `fetch` that never answers (no network).',
      );
      const notes = join(BENCH, 'profile-notes.md');
      profileMarkdown = [
        '# CPU profiles of the full pipeline (generated by `npm run bench`)',
        '',
        `${results.date.slice(0, 10)}, Node ${process.version}, ${results.machine.cpu}, rxllm ${results.versions['rxllm']}. Bundled code is mapped back to its source file.`,
        '',
        ...sections,
        existsSync(notes) ? readFileSync(notes, 'utf8').trim() : '',
        '',
      ].join('\n');
    }
    phaseDone('profile');
  } finally {
    server.stop();
  }

  results.durationS = Math.round((Date.now() - started) / 100) / 10;
  results.machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  const suffix = QUICK ? '-quick' : '';
  writeFileSync(join(RESULTS, `latest${suffix}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS, `table${suffix}.md`), renderTable(results));
  writeFileSync(join(RESULTS, `chart${suffix}.svg`), renderChart(results));
  if (profileMarkdown) writeFileSync(join(RESULTS, `profile${suffix}.md`), profileMarkdown);
  log(`bench: done in ${results.durationS} s → bench/results/{latest,table,chart,profile}${suffix}.*`);
  const wrong = [...results.throughput, ...results.ttft, ...results.concurrency, ...results.memory].filter(
    (r) => !r.result.ok,
  );
  if (wrong.length > 0) {
    log(`bench: ${wrong.length} measurement(s) failed or assembled a wrong text (see the table)`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
