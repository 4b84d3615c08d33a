/**
 * One process of the fleet test (test/state/redisFleet.test.ts), run with `node --import tsx`.
 *
 * It builds what an application process would: a Redis store, a budget and a circuit breaker over it,
 * and OpenAI models pointed at the parent's simulator. The parent drives it over IPC with
 * `{ id, cmd, ...args }` messages; each gets one `{ id, ...result }` reply.
 */
import { LLMError } from '../../../src/core/errors.js';
import type { ChatRequest } from '../../../src/core/request.js';
import { collect } from '../../../src/helpers/collect.js';
import { createBudget } from '../../../src/operators/budget.js';
import { createCircuitBreaker } from '../../../src/operators/createCircuitBreaker.js';
import { withCircuitBreaker } from '../../../src/operators/withCircuitBreaker.js';
import { openai } from '../../../src/providers/openai/index.js';
import { redisStore } from '../../../src/state/redisStore.js';

export type FleetCommand =
  | { readonly cmd: 'budget'; readonly calls: number }
  | { readonly cmd: 'trip'; readonly failures: number }
  | { readonly cmd: 'probe' }
  | { readonly cmd: 'outage'; readonly calls: number }
  | { readonly cmd: 'recover'; readonly withinMs: number }
  | { readonly cmd: 'exit' };

/** How calls ended: successes and their summed cost, and failures by `kind/provider`. */
export interface CallTally {
  readonly ok: number;
  readonly spent: number;
  readonly failures: Record<string, number>;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`fleet worker: ${name} is not set`);
  return value;
};

const worker = env('FLEET_WORKER');
const store = redisStore({ url: env('FLEET_REDIS_URL'), prefix: env('FLEET_PREFIX'), timeoutMs: 5000 });
const spend = createBudget({ store, limits: { day: Number(env('FLEET_LIMIT_USD')) }, onShortfall: 'reject' });
const breaker = createCircuitBreaker({ store, consecutiveFailures: 3, openMs: 60_000 });
const model = (name: string) =>
  openai({ apiKey: 'sk-fleet-test-key-0001', baseURL: `${env('FLEET_SIM_URL')}/v1`, model: name });
const budgeted = model('gpt-4o-mini').pipe(spend.policy());
// The outage phase runs after the shared budget is spent: it uses a roomy budget of its own.
const roomy = createBudget({ store, prefix: 'roomy', limits: { day: 100 }, onShortfall: 'reject' });
const roomyModel = model('gpt-4o-mini').pipe(roomy.policy());
const fragile = model('gpt-4o-fragile').pipe(withCircuitBreaker(breaker));

let counter = 0;
const request = (): ChatRequest => ({
  messages: [
    { role: 'user', content: `Worker ${worker}, question ${++counter}: what is the capital of France?` },
  ],
  maxTokens: 100,
});

const label = (error: unknown): string =>
  LLMError.isInstance(error)
    ? `${error.kind}/${error.provider ?? '-'}${process.env.FLEET_DEBUG ? error.message : ''}`
    : `thrown/${String(error)}`;

async function tally(calls: number, run: () => Promise<{ cost: { total: number } }>): Promise<CallTally> {
  const failures: Record<string, number> = {};
  let ok = 0;
  let spent = 0;
  await Promise.all(
    Array.from({ length: calls }, async () => {
      try {
        const done = await run();
        ok++;
        spent += done.cost.total;
      } catch (error) {
        const key = label(error);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    }),
  );
  return { ok, spent, failures };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function handle(message: FleetCommand): Promise<unknown> {
  switch (message.cmd) {
    case 'budget':
      return tally(message.calls, () => collect(budgeted.stream(request())));
    case 'outage':
      return tally(message.calls, () => collect(roomyModel.stream(request())));
    case 'trip': {
      // Failures one after another, then wait until the breaker's write of `open` has reached the store.
      const result = await tally(1, async () => {
        for (let i = 0; i < message.failures; i++)
          await collect(fragile.stream(request())).catch(() => undefined);
        const ref = { provider: 'openai', model: 'gpt-4o-fragile' };
        for (let i = 0; i < 100 && (await breaker.state(ref)).state !== 'open'; i++) await sleep(10);
        return { cost: { total: 0 } };
      });
      return {
        ...result,
        state: (await breaker.state({ provider: 'openai', model: 'gpt-4o-fragile' })).state,
      };
    }
    case 'probe':
      return tally(1, () => collect(fragile.stream(request())));
    case 'recover': {
      const deadline = Date.now() + message.withinMs;
      for (let attempts = 1; ; attempts++) {
        const result = await tally(1, () => collect(roomyModel.stream(request())));
        if (result.ok === 1 || Date.now() > deadline) return { ...result, attempts };
        await sleep(50);
      }
    }
    case 'exit':
      await store.close();
      return {};
  }
}

process.on('message', (raw) => {
  const { id, ...message } = raw as FleetCommand & { id: number };
  handle(message as FleetCommand).then(
    (result) => {
      process.send?.({ id, ...(result as object) }, () => {
        if (message.cmd === 'exit') process.exit(0);
      });
    },
    (error: unknown) => process.send?.({ id, crash: String(error) }),
  );
});
// The parent may die without saying goodbye: leave with it.
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ready: true });
