/**
 * Per-call setup cost, with tinybench, in one process and without a network:
 *
 * - `to fetch`: from `stream(request).subscribe()` until the stack calls `fetch` (a stub that never
 *   answers), then unsubscribe (which aborts it). What a call costs before its first byte can move.
 * - `tiny call`: a whole call answered from memory (a 3-token OpenAI body in a fresh `Response`), for
 *   every stack on the OpenAI protocol: setup + parse + teardown, the fixed cost of a short answer.
 */
import { Bench } from 'tinybench';
import { openaiProtocol } from '../src/testing/simulator/protocols/openai.js';
import { loadClient, type ChildConfig, type ClientName } from './client.js';
import { PROTOCOL_MODEL } from './lib/protocols.js';
import type { Call, ClientContext } from './lib/types.js';

const TINY = ['Hello', ' tiny', ' world'];

function tinyBody(): Uint8Array<ArrayBuffer> {
  const rendered = openaiProtocol.render(
    {
      model: PROTOCOL_MODEL.openai,
      textChunks: TINY,
      toolCalls: [],
      finish: 'stop',
      usage: { inputTokens: 12, outputTokens: TINY.length },
    },
    'bench-micro',
    { stream_options: { include_usage: true } },
  );
  return new Uint8Array(
    Buffer.from([...rendered.head, ...rendered.content, ...rendered.tail].join(''), 'utf8'),
  );
}

/** A `fetch` answering every call at once from memory. */
function memoryFetch(body: Uint8Array<ArrayBuffer>): typeof fetch {
  return async (_input, init) => {
    // Read the request body as a server would (the SDKs build it lazily in places).
    if (typeof init?.body === 'string') void init.body.length;
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

/**
 * A `fetch` that records that it was called and never answers: it rejects on abort, or when the caller
 * of `onCall` drops it (the floor has no signal to abort with, and a call left pending for every
 * iteration would grow the heap by the hundred thousand and slow every task measured after it).
 */
function pendingFetch(onCall: (drop: () => void) => void): typeof fetch {
  return (_input, init) =>
    new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal;
      onCall(() => reject(new DOMException('dropped by the benchmark', 'AbortError')));
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
}

const BASE = 'http://127.0.0.1:9/t/3';

interface MicroRow {
  readonly group: 'to fetch' | 'tiny call';
  readonly client: ClientName;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly rmePct: number;
  readonly samples: number;
}

export async function micro(config: ChildConfig): Promise<{ rows: MicroRow[] }> {
  const time = config.microTimeMs ?? 400;
  const warmupTime = config.microWarmupMs ?? 1000;
  const rows: MicroRow[] = [];

  // Group 1: to fetch and back (rxllm only; the floor for reference).
  {
    let called: ((drop: () => void) => void) | undefined;
    const onCall = (drop: () => void): void => called?.(drop);
    const context: ClientContext = { protocol: 'openai', fetch: pendingFetch(onCall) };
    const bench = new Bench({ time, warmupTime });
    const { provider, request, pipelineFactory } = await import('./clients/rxllm.js');
    const direct = provider('openai', BASE, 'direct', context);
    const pipeline = pipelineFactory(context)(BASE);
    const models = { 'rxllm-direct': direct, 'rxllm-pipeline': pipeline } as const;
    const floor = await (await loadClient('floor'))(context);
    bench.add('floor', async () => {
      const reached = new Promise<() => void>((resolve) => (called = resolve));
      const done = floor(BASE, () => undefined).catch(() => undefined);
      // Dropped as the others unsubscribe, and awaited: no call outlives its iteration.
      (await reached)();
      await done;
    });
    for (const [name, model] of Object.entries(models)) {
      bench.add(name, async () => {
        const reached = new Promise<unknown>((resolve) => (called = resolve));
        const subscription = model.stream(request()).subscribe({ error: () => undefined });
        await reached;
        subscription.unsubscribe();
      });
    }
    await bench.run();
    for (const task of bench.tasks) rows.push(row('to fetch', task));
  }

  // Group 2: a whole tiny call from memory, every stack.
  {
    const context: ClientContext = { protocol: 'openai', fetch: memoryFetch(tinyBody()) };
    const bench = new Bench({ time, warmupTime });
    const expected = TINY.join('');
    const names: ClientName[] = [
      'floor',
      'rxllm-direct',
      'rxllm-pipeline',
      'sdk-loop',
      'ai-sdk',
      'langchain',
    ];
    for (const name of names) {
      const call: Call = await (await loadClient(name))(context);
      const once = async (): Promise<void> => {
        let text = '';
        await call(BASE, (piece) => (text += piece));
        if (text !== expected) throw new Error(`${name}: tiny call assembled ${JSON.stringify(text)}`);
      };
      await once(); // validates before timing
      bench.add(name, once);
    }
    await bench.run();
    for (const task of bench.tasks) rows.push(row('tiny call', task));
  }
  return { rows };
}

/**
 * The full pipeline's per-call setup in a loop (subscribe → fetch reached → unsubscribe), for a CPU
 * profile of what a call costs before its first byte.
 */
export async function setupLoop(config: ChildConfig): Promise<{ calls: number; meanUs: number }> {
  let called: (() => void) | undefined;
  const context: ClientContext = { protocol: config.protocol, fetch: pendingFetch(() => called?.()) };
  const { pipelineFactory, request } = await import('./clients/rxllm.js');
  const pipeline = pipelineFactory(context)(BASE);
  const calls = config.calls ?? 5000;
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const reached = new Promise<void>((resolve) => (called = resolve));
    const subscription = pipeline.stream(request()).subscribe({ error: () => undefined });
    await reached;
    subscription.unsubscribe();
  }
  return { calls, meanUs: ((performance.now() - t0) * 1000) / calls };
}

function row(group: MicroRow['group'], task: Bench['tasks'][number]): MicroRow {
  const result = task.result as unknown as {
    error?: unknown;
    latency?: { mean: number; p50: number; rme: number; samplesCount?: number };
    runs?: number;
  };
  if (result.error || !result.latency) {
    throw new Error(`${task.name}: ${String((result.error as Error | undefined)?.message ?? 'no result')}`);
  }
  return {
    group,
    client: task.name as ClientName,
    meanUs: result.latency.mean * 1000,
    p50Us: result.latency.p50 * 1000,
    rmePct: result.latency.rme,
    samples: result.runs ?? 0,
  };
}
