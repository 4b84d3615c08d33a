import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudget } from '../../src/operators/budget.js';
import { redisStore } from '../../src/state/redisStore.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';
import { startRedisServer, type RedisServer } from './redisServer.js';
import type { CallTally, FleetCommand } from './workers/fleetWorker.js';

/**
 * Four Node processes share one budget and one circuit breaker through one Redis, and call the
 * simulator (served from this process) through the real OpenAI provider.
 */

const WORKERS = 4;
const CALLS = 100;
/** About 160 worst-case calls of the 400: most processes run out part way. */
const LIMIT_USD = 0.01;
const PREFIX = 'fleet:';
const REPLY_TIMEOUT_MS = 15_000;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let redis: RedisServer;
let sim: Simulator;
const workers: Worker[] = [];
let bundleDir: string | undefined;

/**
 * The worker script bundled into one ES module (packages left external, resolved from the repository's
 * node_modules): four processes then start in a fraction of the time `node --import tsx` takes to
 * transpile the same files four times over.
 */
async function bundleWorker(): Promise<string> {
  bundleDir = mkdtempSync(join(ROOT, 'node_modules', '.cache-rxllm-fleet-'));
  const outfile = join(bundleDir, 'fleetWorker.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./workers/fleetWorker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

interface Worker {
  readonly child: ChildProcess;
  ask<R>(command: FleetCommand): Promise<R>;
}

function startWorker(script: string, index: number): Promise<Worker> {
  const child = fork(script, [], {
    execArgv: [],
    cwd: ROOT,
    env: {
      ...process.env,
      FLEET_WORKER: String(index),
      FLEET_REDIS_URL: redis.url,
      FLEET_SIM_URL: sim.url,
      FLEET_PREFIX: PREFIX,
      FLEET_LIMIT_USD: String(LIMIT_USD),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  let next = 0;
  child.on('message', (raw) => {
    const reply = raw as { id: number } & Record<string, unknown>;
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  const worker: Worker = {
    child,
    ask: <R>(command: FleetCommand) =>
      new Promise<R>((resolve, reject) => {
        const id = ++next;
        const timer = setTimeout(
          () => reject(new Error(`worker ${index}: no reply to ${command.cmd}`)),
          REPLY_TIMEOUT_MS,
        );
        pending.set(id, (reply) => {
          clearTimeout(timer);
          if ('crash' in reply)
            reject(new Error(`worker ${index} crashed on ${command.cmd}: ${String(reply.crash)}`));
          else resolve(reply as R);
        });
        child.send({ id, ...command });
      }),
  };
  workers.push(worker);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${index} did not start`)), REPLY_TIMEOUT_MS);
    pending.set(0, () => {
      clearTimeout(timer);
      resolve(worker);
    });
    child.once('exit', (code) => reject(new Error(`worker ${index} exited at start with code ${code}`)));
  });
}

const all = <R>(command: FleetCommand): Promise<R[]> => Promise.all(workers.map((w) => w.ask<R>(command)));
const simCalls = (model: string) => sim.requests.filter((r) => r.model === model).length;

beforeAll(async () => {
  redis = await startRedisServer();
  sim = await createSimulator({ protocols: [openaiProtocol] });
  sim.handle((request) =>
    request.model === 'gpt-4o-fragile'
      ? { fault: { type: 'status', status: 500 } }
      : {
          text: 'Paris is the capital of France , of course .'.split(' ').map((w, i) => (i ? ` ${w}` : w)),
          // At most what the budget reserved for: its prompt estimate is above 5, and maxTokens is 100.
          usage: { inputTokens: 5, outputTokens: 100 },
          firstTokenDelayMs: 5,
          tokenDelayMs: 1,
        },
  );
  const script = await bundleWorker();
  await Promise.all(Array.from({ length: WORKERS }, (_, i) => startWorker(script, i)));
}, 30_000);

afterAll(async () => {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      const exited = new Promise((resolve) => w.child.once('exit', resolve));
      await Promise.race([
        w.ask({ cmd: 'exit' }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await exited;
    }),
  );
  await sim?.close();
  await redis?.dispose();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

describe('a fleet of 4 processes on one Redis', () => {
  it(`${WORKERS} × ${CALLS} concurrent calls against one budget: the summed actual cost stays within the limit`, async () => {
    const tallies = await all<CallTally>({ cmd: 'budget', calls: CALLS });
    const spent = tallies.reduce((sum, t) => sum + t.spent, 0);
    const succeeded = tallies.reduce((sum, t) => sum + t.ok, 0);

    expect(spent).toBeLessThanOrEqual(LIMIT_USD);
    // The limit was the binding constraint: most of it was spent, and the rest of the calls were refused
    // with `budget` before anything was sent to the provider.
    expect(spent).toBeGreaterThan(LIMIT_USD * 0.8);
    expect(succeeded).toBeLessThan(WORKERS * CALLS);
    for (const t of tallies) {
      expect(Object.keys(t.failures).every((k) => k.startsWith('budget/'))).toBe(true);
      expect(t.ok + Object.values(t.failures).reduce((a, b) => a + b, 0)).toBe(CALLS);
    }
    expect(simCalls('gpt-4o-mini')).toBe(succeeded);

    // The store agrees: what was spent is what the processes paid, and no reservation is left.
    const store = redisStore({ url: redis.url, prefix: PREFIX });
    const auditor = createBudget({ store, limits: { day: LIMIT_USD } });
    const [line] = await auditor.status();
    expect(line?.spent).toBeCloseTo(spent, 9);
    expect(line?.spent).toBeLessThanOrEqual(LIMIT_USD);
    expect(await auditor.outstanding()).toBe(0);
    await store.close();
  });

  it('a breaker tripped in one process is open in the others on their next call', async () => {
    const [tripper, ...others] = workers as [Worker, ...Worker[]];
    const tripped = await tripper.ask<{ state: string }>({ cmd: 'trip', failures: 3 });
    expect(tripped.state).toBe('open');
    expect(simCalls('gpt-4o-fragile')).toBe(3);

    const probes = await Promise.all(others.map((w) => w.ask<CallTally>({ cmd: 'probe' })));
    for (const probe of probes)
      expect(probe).toEqual({
        id: expect.any(Number),
        ok: 0,
        spent: 0,
        failures: { 'circuit_open/openai': 1 },
      });
    expect(simCalls('gpt-4o-fragile')).toBe(3); // nothing reached the provider
  });

  it('Redis stops: every process refuses its calls with a typed error (fail-closed), then recovers without restart', async () => {
    const before = simCalls('gpt-4o-mini');
    await redis.stop();
    const tallies = await all<CallTally>({ cmd: 'outage', calls: 10 });
    for (const t of tallies) expect(t).toMatchObject({ ok: 0, failures: { 'unavailable/redis': 10 } });
    expect(simCalls('gpt-4o-mini')).toBe(before); // nothing was sent to the provider

    await redis.start(); // empty again: the new day's budget starts from nothing
    const recovered = await all<CallTally & { attempts: number }>({ cmd: 'recover', withinMs: 10_000 });
    for (const r of recovered) expect(r.ok).toBe(1);
    expect(simCalls('gpt-4o-mini')).toBe(before + WORKERS);
  });
});
