/**
 * One measurement in a fresh process: `node client.mjs '<json config>'`. Builds the client's stack,
 * warms it up, measures, checks every assembled text byte for byte (length and SHA-256) and prints one
 * line `RESULT {json}`. A wrong text fails the measurement: nothing fast-but-wrong counts.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Expected } from './lib/corpus.js';
import { baseFor, type ProtocolName } from './lib/protocols.js';
import type { Call, ClientContext, ClientFactory } from './lib/types.js';

export type ClientName =
  | 'floor'
  | 'rxllm-direct'
  | 'rxllm-sdk'
  | 'sdk-loop'
  | 'rxllm-pipeline'
  | 'rxllm-pipeline-nocache'
  | 'rxllm-pipeline-coalesced'
  | 'rxllm-cache-hit'
  | 'rxllm-fusion'
  | 'ai-sdk'
  | 'langchain';

export type Mode = 'throughput' | 'ttft' | 'concurrency' | 'memory' | 'micro' | 'setup-loop';

export interface ChildConfig {
  readonly mode: Mode;
  readonly client: ClientName;
  readonly protocol: ProtocolName;
  readonly server: string;
  readonly tokens: number;
  readonly expect: Expected;
  /** Warm-up calls before measuring, on answers of `warm.expect.tokens` tokens. */
  readonly warm: { readonly calls: number; readonly expect: Expected };
  /** `ttft`: measured calls. */
  readonly calls?: number;
  /** `concurrency`: streams at once. */
  readonly concurrency?: number;
  /** `micro`: time per task in ms. */
  readonly microTimeMs?: number;
  /** `micro`: warm-up per task in ms. */
  readonly microWarmupMs?: number;
}

type Primed = Call & { prime?: (base: string) => Promise<void> };

export async function loadClient(name: ClientName): Promise<ClientFactory> {
  switch (name) {
    case 'floor':
      return (await import('./clients/floor.js')).floor;
    case 'rxllm-direct':
      return (await import('./clients/rxllm.js')).rxllmDirect;
    case 'rxllm-sdk':
      return (await import('./clients/rxllm.js')).rxllmSdk;
    case 'sdk-loop':
      return (await import('./clients/sdk.js')).sdkLoop;
    case 'rxllm-pipeline':
      return (await import('./clients/rxllm.js')).rxllmPipeline;
    case 'rxllm-pipeline-nocache':
      return (await import('./clients/rxllm.js')).rxllmPipelineNoCache;
    case 'rxllm-pipeline-coalesced':
      return (await import('./clients/rxllm.js')).rxllmPipelineCoalesced;
    case 'rxllm-cache-hit':
      return (await import('./clients/rxllm.js')).rxllmCacheHit;
    case 'rxllm-fusion':
      return (await import('./clients/rxllm.js')).rxllmFusion;
    case 'ai-sdk':
      return (await import('./clients/peers.js')).aiSdk;
    case 'langchain':
      return (await import('./clients/peers.js')).langchain;
  }
}

class Mismatch extends Error {}

function check(text: string, expect: Expected, label: string): void {
  if (text.length !== expect.length) {
    throw new Mismatch(`${label}: assembled ${text.length} chars, expected ${expect.length}`);
  }
  const sha = createHash('sha256').update(text).digest('hex');
  if (sha !== expect.sha256) throw new Mismatch(`${label}: the assembled text differs from the expected one`);
}

/** One call whose text is assembled and checked; returns the time to its first text. */
async function checkedCall(call: Call, base: string, expect: Expected, label: string): Promise<number> {
  let text = '';
  let first = -1;
  const t0 = performance.now();
  await call(base, (piece) => {
    if (first < 0) first = performance.now() - t0;
    text += piece;
  });
  check(text, expect, label);
  return first;
}

async function warmUp(call: Primed, config: ChildConfig): Promise<void> {
  const base = baseFor(config.server, config.warm.expect.tokens);
  await call.prime?.(base);
  for (let i = 0; i < config.warm.calls; i++) await checkedCall(call, base, config.warm.expect, 'warm-up');
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

async function throughput(call: Primed, config: ChildConfig): Promise<object> {
  await warmUp(call, config);
  const base = baseFor(config.server, config.tokens);
  await call.prime?.(base);
  let text = '';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await call(base, (piece) => {
    text += piece;
  });
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(cpu0));
  check(text, config.expect, 'measured call');
  return {
    wallMs,
    cpuMs: cpu,
    usPerToken: (wallMs * 1000) / config.tokens,
    cpuUsPerToken: (cpu * 1000) / config.tokens,
  };
}

async function ttft(call: Primed, config: ChildConfig): Promise<object> {
  await warmUp(call, config);
  const base = baseFor(config.server, config.tokens);
  await call.prime?.(base);
  const samples: number[] = [];
  for (let i = 0; i < (config.calls ?? 50); i++)
    samples.push(await checkedCall(call, base, config.expect, `call ${i}`));
  samples.sort((a, b) => a - b);
  return { ttftMs: samples[Math.floor(samples.length / 2)], samples };
}

async function concurrency(call: Primed, config: ChildConfig): Promise<object> {
  await warmUp(call, config);
  const base = baseFor(config.server, config.tokens);
  await call.prime?.(base);
  const n = config.concurrency ?? 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const texts = new Array<string>(n).fill('');
  const outcomes = await Promise.allSettled(
    texts.map((_, i) =>
      call(base, (piece) => {
        texts[i] += piece;
      }),
    ),
  );
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(cpu0));
  const failed = outcomes.filter((o) => o.status === 'rejected');
  if (failed.length > 0) {
    const first = (failed[0] as PromiseRejectedResult).reason as Error;
    throw new Error(`${failed.length} of ${n} streams failed; first: ${first?.message ?? String(first)}`);
  }
  texts.forEach((text, i) => check(text, config.expect, `stream ${i}`));
  return { wallMs, cpuMs: cpu, peakRssMB: process.resourceUsage().maxRSS / 1024, streams: n };
}

/** Samples RSS every 20 ms; `peak()` gives the highest seen since the last `peak()` (or the start). */
function rssSampler(): { peak(): number; stop(): void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return {
    peak: () => {
      const seen = Math.max(peak, process.memoryUsage().rss);
      peak = 0;
      return seen;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Memory over one long stream. A process that streams grows to a working size whatever the length (V8's
 * heap sized to the allocation rate, socket and parser buffers): the floor itself grows 15-30 MB from a
 * freshly collected heap, and a 4,000,000-token stream peaks no higher than a 1,000,000-token one. What
 * must not grow is what depends on the length, so the figure is the peak RSS over the second half of the
 * stream minus the peak over its first half; the growth over the collected baseline and the heap
 * retained after a GC are given beside it.
 */
async function memory(call: Primed, config: ChildConfig): Promise<object> {
  const base = baseFor(config.server, config.tokens);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  await warmUp(call, config);
  gc();
  const baseline = process.memoryUsage().rss;
  const heapBaseline = process.memoryUsage().heapUsed;
  // Consumed without collecting: each piece goes into a running hash and is dropped.
  const hash = createHash('sha256');
  const half = config.expect.length / 2;
  let length = 0;
  let firstHalfPeak: number | undefined;
  const sampler = rssSampler();
  const t0 = performance.now();
  await call(base, (piece) => {
    hash.update(piece);
    length += piece.length;
    if (firstHalfPeak === undefined && length >= half) firstHalfPeak = sampler.peak();
  });
  const wallMs = performance.now() - t0;
  const secondHalfPeak = sampler.peak();
  sampler.stop();
  gc();
  const end = process.memoryUsage().rss;
  const heapEnd = process.memoryUsage().heapUsed;
  if (length !== config.expect.length || hash.digest('hex') !== config.expect.sha256) {
    throw new Mismatch('memory: the streamed text differs from the expected one');
  }
  const first = firstHalfPeak ?? baseline;
  const mb = (bytes: number): number => bytes / 1024 / 1024;
  return {
    wallMs,
    baselineRssMB: mb(baseline),
    firstHalfPeakRssMB: mb(first),
    secondHalfPeakRssMB: mb(secondHalfPeak),
    lengthGrowthMB: mb(secondHalfPeak - first),
    peakGrowthMB: mb(Math.max(first, secondHalfPeak) - baseline),
    endGrowthMB: mb(end - baseline),
    heapGrowthMB: mb(heapEnd - heapBaseline),
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  let result: object;
  if (config.mode === 'micro') {
    result = await (await import('./micro.js')).micro(config);
  } else if (config.mode === 'setup-loop') {
    result = await (await import('./micro.js')).setupLoop(config);
  } else {
    const context: ClientContext = { protocol: config.protocol };
    const call = (await (await loadClient(config.client))(context)) as Primed;
    switch (config.mode) {
      case 'throughput':
        result = await throughput(call, config);
        break;
      case 'ttft':
        result = await ttft(call, config);
        break;
      case 'concurrency':
        result = await concurrency(call, config);
        break;
      case 'memory':
        result = await memory(call, config);
        break;
      default:
        throw new Error(`unknown mode ${config.mode}`);
    }
  }
  process.stdout.write(`RESULT ${JSON.stringify({ ok: true, ...result })}\n`);
}

main().then(
  // Sockets kept alive by fetch's pool would hold the process open: leave once the result is out.
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(
      `RESULT ${JSON.stringify({ ok: false, wrong: error instanceof Mismatch, error: message })}\n`,
    );
    process.exit(1);
  },
);
