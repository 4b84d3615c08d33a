/**
 * The whole README pipeline over the wire-level simulator, with the four providers on both transports:
 *
 *   pool.map(m => m.pipe(withTimeout, withCircuitBreaker(breaker), withRetry(), rateLimit(limiter)))
 *     → route({ strategy: 'cost', budget }) → withFallback({ onMidStream: 'restart' }) → budget.policy()
 *     → withLedger(ledger) → withMetrics(metrics) → cache.policy()
 *
 * Every run is checked against the invariants that hold whatever the scenario: the event order, the
 * ledger == budget == finish costs (to the nano-dollar), one metrics record per call that reached the
 * pipeline, no reservation left, no socket left open.
 */
import type { Observable } from 'rxjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog, type ModelSpec } from '../../src/core/catalog.js';
import type { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { LanguageModel } from '../../src/core/model.js';
import type { ChatRequest } from '../../src/core/request.js';
import { toNanos } from '../../src/budget/money.js';
import { createLedger, type Ledger, type LedgerEntry } from '../../src/ledger/ledger.js';
import { withLedger } from '../../src/ledger/withLedger.js';
import { createMetrics, type Metrics, withMetrics } from '../../src/observability/metrics.js';
import { fixedBackoff } from '../../src/operators/backoff.js';
import {
  type Budget,
  type BudgetConfig,
  type BudgetLineStatus,
  createBudget,
} from '../../src/operators/budget.js';
import { createCache, type ResponseCache } from '../../src/operators/cache.js';
import { createCircuitBreaker } from '../../src/operators/createCircuitBreaker.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import { createRateLimiter } from '../../src/operators/rateLimiter.js';
import { withCircuitBreaker } from '../../src/operators/withCircuitBreaker.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { withRetry } from '../../src/operators/withRetry.js';
import { withTimeout } from '../../src/operators/withTimeout.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { gemini } from '../../src/providers/gemini/index.js';
import { ollama } from '../../src/providers/ollama/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { createEstimator } from '../../src/routing/estimate.js';
import { createRouter, type Router } from '../../src/routing/route.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../src/testing/simulator/protocols/gemini.js';
import { ollamaProtocol } from '../../src/testing/simulator/protocols/ollama.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import { createSimulator, type SimRequest, type Simulator } from '../../src/testing/simulator/server.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

type Vendor = 'openai' | 'anthropic' | 'gemini' | 'ollama';
// `coalesced`: the direct transport with `coalesceText: true` (the text of one read, one event).
const TRANSPORTS = ['direct', 'sdk', 'coalesced'] as const;
type Transport = (typeof TRANSPORTS)[number];

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({
    protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.handle(undefined));

/** Ollama priced (it is free in the default catalog), so that whoever answers costs something. */
const LLAMA: ModelSpec = {
  provider: 'ollama',
  model: 'llama3.2',
  pricing: { input: 0.05, output: 0.08 },
  contextWindow: 128_000,
  maxOutputTokens: 8_192,
  capabilities: ['tools', 'json', 'streaming'],
  quality: 0.5,
  local: true,
};
/** A scripted in-memory model, the most expensive of the pool (tried last by cost). */
const SCRIPTED: ModelSpec = {
  ...LLAMA,
  provider: 'scripted',
  model: 'scripted-1',
  pricing: { input: 50, output: 100 },
  local: false,
};
const catalog = createCatalog([LLAMA, SCRIPTED]);

/** The cost ranking of the pool below: cheapest first. */
const RANKED: readonly Vendor[] = ['ollama', 'gemini', 'openai', 'anthropic'];

const words = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => `w${from + i}`).join(' ');

let prompts = 0;
/** A fresh cacheable request (temperature 0): scenarios never share cache keys by accident. */
const fresh = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: `Question number ${++prompts}: say something.` }],
  temperature: 0,
  maxTokens: 200,
  ...extra,
});

interface Harness {
  readonly model: LanguageModel;
  readonly spend: Budget;
  readonly ledger: Ledger;
  readonly metrics: Metrics;
  readonly cache: ResponseCache;
  readonly router: Router;
  readonly pool: readonly LanguageModel[];
}

interface HarnessOptions {
  readonly firstTokenMs?: number;
  readonly idleMs?: number;
  readonly requestsPerMinute?: number;
  readonly extra?: readonly LanguageModel[];
  readonly retryAfterCapMs?: number;
}

function harness(transport: Transport, budgetConfig: BudgetConfig = {}, opts: HarnessOptions = {}): Harness {
  const estimator = createEstimator();
  const spend = createBudget({ limits: { day: 1 }, catalog, estimator, ...budgetConfig });
  const ledger = createLedger({ catalog, estimator });
  const metrics = createMetrics();
  const cache = createCache();
  const breaker = createCircuitBreaker({ consecutiveFailures: 50 });
  const limiter = createRateLimiter({
    requestsPerMinute: opts.requestsPerMinute ?? 10_000,
    tokensPerMinute: 10_000_000,
    ...(opts.requestsPerMinute !== undefined && { burst: { requests: 1 } }),
  });
  const router = createRouter({ strategy: 'cost', budget: spend, catalog, estimator });
  const base = {
    catalog,
    transport: transport === 'sdk' ? ('sdk' as const) : ('direct' as const),
    coalesceText: transport === 'coalesced',
  };
  const raw: LanguageModel[] = [
    openai({ ...base, apiKey: 'sk-pipeline-openai-0001', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' }),
    anthropic({ ...base, apiKey: 'sk-ant-pipeline-0001', baseURL: sim.url, model: 'claude-haiku-4-5' }),
    gemini({ ...base, apiKey: 'AIza-pipeline-gemini-0001', baseURL: sim.url, model: 'gemini-2.0-flash' }),
    ollama({ ...base, host: sim.url, model: 'llama3.2' }),
    ...(opts.extra ?? []),
  ];
  const pool = raw.map((m) =>
    m.pipe(
      withTimeout({ firstTokenMs: opts.firstTokenMs ?? 3_000, idleMs: opts.idleMs ?? 2_000 }),
      withCircuitBreaker(breaker),
      withRetry({
        maxAttempts: 2,
        backoff: fixedBackoff({ delayMs: 5 }),
        ...(opts.retryAfterCapMs !== undefined && { maxRetryAfterMs: opts.retryAfterCapMs }),
      }),
      rateLimit(limiter),
    ),
  );
  const model = router
    .route()(pool)
    .pipe(
      withFallback({ onMidStream: 'restart', catalog }),
      spend.policy(),
      withLedger(ledger),
      withMetrics(metrics),
      cache.policy(),
    );
  return { model, spend, ledger, metrics, cache, router, pool };
}

interface Run {
  readonly events: TokenEvent[];
  readonly error?: LLMError;
}

function run(stream: Observable<TokenEvent>): Promise<Run> {
  return new Promise((resolve) => {
    const events: TokenEvent[] = [];
    stream.subscribe({
      next: (e) => events.push(e),
      error: (error: unknown) => resolve({ events, error: error as LLMError }),
      complete: () => resolve({ events }),
    });
  });
}

/** Scenarios by vendor; a vendor not named answers `fallbackScenario` (default: a short clean answer). */
function script(byVendor: Partial<Record<Vendor, Scenario>>, fallbackScenario: Scenario = {}): void {
  sim.handle((r: SimRequest) => byVendor[r.protocol as Vendor] ?? fallbackScenario);
}

const texts = (events: readonly TokenEvent[]): string =>
  events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
const finishOf = (events: readonly TokenEvent[]) => {
  const last = events.at(-1);
  return last?.type === 'finish' ? last : undefined;
};

/** The event order rule. */
function checkOrder(events: readonly TokenEvent[], label: string): void {
  const types = events.map((e) => e.type);
  const routeAt = types.indexOf('route');
  if (routeAt >= 0) expect(routeAt, `${label}: route first`).toBe(0);
  expect(types.filter((t) => t === 'route').length, `${label}: one route`).toBeLessThanOrEqual(1);
  let started = false;
  for (const [i, t] of types.entries()) {
    if (t === 'start') {
      expect(started, `${label}: two starts without fallback/reset (at ${i}: ${types.join(',')})`).toBe(
        false,
      );
      started = true;
    }
    if (t === 'fallback' || t === 'reset') started = false;
    if (t === 'text') expect(started, `${label}: content before start (at ${i})`).toBe(true);
  }
  const finishes = types.filter((t) => t === 'finish').length;
  expect(finishes, `${label}: at most one finish`).toBeLessThanOrEqual(1);
  if (finishes === 1) expect(types.at(-1), `${label}: finish last`).toBe('finish');
}

/** Idle keep-alive sockets the clients may keep: undici (direct transport) and the SDKs' agents. */
const MAX_IDLE_SOCKETS = 4;
const closedRequests = new WeakSet<SimRequest>();
const watched = new WeakSet<SimRequest>();
/** Marks each simulator request closed once its response's connection closed. */
function watchRequests(): void {
  for (const r of sim.requests) {
    if (watched.has(r)) continue;
    watched.add(r);
    void r.closed.then(() => closedRequests.add(r));
  }
}

const settle = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The invariants every scenario keeps once its calls are over. */
async function checkInvariants(h: Harness, calls: number, label: string): Promise<void> {
  watchRequests();
  await settle();
  expect(h.spend.outstanding(), `${label}: reservations left`).toBe(0);
  const lines = h.spend.status() as readonly BudgetLineStatus[];
  const day = lines.find((l) => l.scope === 'global' && l.period === 'day') ?? lines[0]!;
  expect(day.reserved, `${label}: reserved`).toBe(0);
  const entries = h.ledger.entries() as LedgerEntry[];
  expect(entries, `${label}: one ledger entry per call`).toHaveLength(calls);
  const totals = h.ledger.totals() as Awaited<ReturnType<Ledger['totals']>>;
  expect(toNanos(totals.cost), `${label}: ledger == budget`).toBe(toNanos(day.spent));
  expect(h.metrics.snapshot().totals.calls, `${label}: one metrics record per call`).toBe(calls);
  // Every response the simulator served is over (its connection closed or back in the client's
  // keep-alive pool); idle pooled sockets stay open by design, but never more than one per client stack.
  const open = sim.requests.filter((r) => !closedRequests.has(r));
  expect(
    open.map((r) => `${r.protocol} ${r.path}`),
    `${label}: responses still open`,
  ).toEqual([]);
  expect(sim.openConnections(), `${label}: open connections`).toBeLessThanOrEqual(MAX_IDLE_SOCKETS);
  for (const m of h.pool) {
    expect(h.router.stats.get(m).inFlight, `${label}: ${m.provider} in flight`).toBe(0);
  }
}

describe.each(TRANSPORTS)('the README pipeline over the simulator (%s transport)', (transport) => {
  it('a clean answer: route, start, text, finish; the cheapest model answers and everything adds up', async () => {
    const h = harness(transport);
    script({}, { text: words(12) });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, 'clean');
    expect(events[0]).toMatchObject({ type: 'route', chosen: { provider: 'ollama', model: 'llama3.2' } });
    expect(events[1]).toMatchObject({ type: 'start', provider: 'ollama', model: 'llama3.2' });
    expect(texts(events)).toBe(words(12));
    const finish = finishOf(events)!;
    expect(finish).toMatchObject({ reason: 'stop' });
    expect(finish.cost.total).toBeGreaterThan(0);
    expect(sim.requests.length - from).toBe(1);
    await checkInvariants(h, 1, 'clean');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(finish.cost.total));
    const [record] = h.metrics.recent();
    expect(record).toMatchObject({ provider: 'ollama', outcome: 'success', cached: false });
    expect(toNanos(record!.cost)).toBe(toNanos(finish.cost.total));
  });

  it('the first provider answers 529 (retried, then a fallback): the next one answers', async () => {
    const h = harness(transport);
    script({ ollama: { fault: { type: 'status', status: 529 } } }, { text: words(6) });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, '529');
    expect(events.map((e) => e.type).filter((t) => t !== 'text')).toEqual([
      'route',
      'fallback',
      'start',
      'usage',
      'finish',
    ]);
    expect(events[1]).toMatchObject({ type: 'fallback', from: { provider: 'ollama' } });
    expect(events[2]).toMatchObject({ type: 'start', provider: 'gemini' });
    // Two attempts on ollama (the retry), one on gemini.
    expect(sim.requests.slice(from).map((r) => r.protocol)).toEqual(['ollama', 'ollama', 'gemini']);
    await checkInvariants(h, 1, '529');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(finishOf(events)!.cost.total));
    expect(h.metrics.recent()[0]).toMatchObject({ provider: 'gemini', fallbacks: 1, outcome: 'success' });
  });

  it('a reset mid-stream with restart: a reset event, the next provider answers afresh', async () => {
    const h = harness(transport);
    script(
      { ollama: { text: words(10), fault: { type: 'reset-after', tokens: 3 } } },
      { text: words(5, 100) },
    );
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, 'reset');
    const types = events.map((e) => e.type).filter((t) => t !== 'text');
    expect(types).toEqual(['route', 'start', 'reset', 'start', 'usage', 'finish']);
    const afterReset = events.slice(events.findIndex((e) => e.type === 'reset'));
    expect(texts(afterReset)).toBe(words(5, 100));
    expect(afterReset[1]).toMatchObject({ type: 'start', provider: 'gemini' });
    expect(sim.requests.slice(from).map((r) => r.protocol)).toEqual(['ollama', 'gemini']);
    await checkInvariants(h, 1, 'reset');
    // The voided attempt was generated, so it is charged: spend = its estimate + the finish's cost.
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(day.spent).toBeGreaterThan(finishOf(events)!.cost.total);
    expect(h.metrics.recent()[0]).toMatchObject({ provider: 'gemini', resets: 1, outcome: 'success' });
  });

  it('the budget cap is reached mid-stream: finish reason budget, the upstream socket closed', async () => {
    // Cap one call at the prompt plus ~40 output tokens of the cheapest model.
    const probe = harness(transport);
    const request = fresh({ maxTokens: 2_000 });
    const est = probe.spend.estimate({ provider: 'ollama', model: 'llama3.2' }, request);
    const perToken = LLAMA.pricing.output / 1e6;
    const perRequest = est.minimum + 24 * perToken;
    const h = harness(transport, { perRequest });
    script({}, { text: words(400), tokenDelayMs: 1 });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(request));
    expect(error).toBeUndefined();
    checkOrder(events, 'budget');
    const finish = finishOf(events)!;
    expect(finish).toMatchObject({ reason: 'budget' });
    const streamed = events.filter((e) => e.type === 'text').length;
    expect(streamed).toBeGreaterThan(10);
    expect(streamed).toBeLessThan(400);
    const sent = sim.requests.slice(from);
    expect(sent).toHaveLength(1);
    await sent[0]!.closed;
    expect(sent[0]!.abortedByClient()).toBe(true);
    await checkInvariants(h, 1, 'budget');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(finish.cost.total));
    expect(day.spent).toBeLessThanOrEqual(perRequest);
    expect((h.ledger.entries() as LedgerEntry[])[0]).toMatchObject({ outcome: 'budget' });
  });

  it('a cache hit after a miss: zero cost, cached start, nothing counted twice', async () => {
    const h = harness(transport);
    script({}, { text: words(8) });
    const request = fresh();
    const from = sim.requests.length;
    const first = await run(h.model.stream(request));
    expect(first.error).toBeUndefined();
    const second = await run(h.model.stream(request));
    expect(second.error).toBeUndefined();
    checkOrder(first.events, 'miss');
    checkOrder(second.events, 'hit');
    expect(sim.requests.length - from).toBe(1);
    expect(texts(second.events)).toBe(texts(first.events));
    expect(second.events.find((e) => e.type === 'start')).toMatchObject({ cached: true });
    expect(finishOf(second.events)!.cost.total).toBe(0);
    expect(finishOf(first.events)!.cost.total).toBeGreaterThan(0);
    expect(h.cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    // The hit never reached the budget, the ledger or the metrics (they sit inside the cache).
    await checkInvariants(h, 1, 'cache');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(finishOf(first.events)!.cost.total));
  });

  it('concurrent identical calls are coalesced into one upstream call', async () => {
    const h = harness(transport);
    script({}, { text: words(8), tokenDelayMs: 2 });
    const request = fresh();
    const from = sim.requests.length;
    const [a, b, c] = await Promise.all([
      run(h.model.stream(request)),
      run(h.model.stream(request)),
      run(h.model.stream(request)),
    ]);
    for (const [i, r] of [a!, b!, c!].entries()) {
      expect(r.error).toBeUndefined();
      checkOrder(r.events, `coalesced ${i}`);
      expect(texts(r.events)).toBe(words(8));
    }
    expect(sim.requests.length - from).toBe(1);
    expect(h.cache.stats()).toMatchObject({ misses: 1, coalesced: 2 });
    const costs = [a!, b!, c!].map((r) => finishOf(r.events)!.cost.total);
    expect(costs[0]).toBeGreaterThan(0);
    expect(costs.slice(1)).toEqual([0, 0]);
    await checkInvariants(h, 1, 'coalesced');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(costs[0]!));
  });

  it('unsubscribing mid-stream aborts every request, releases the budget and records the charge', async () => {
    const h = harness(transport);
    script({}, { text: words(200), tokenDelayMs: 5 });
    const from = sim.requests.length;
    const events: TokenEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = h.model.stream(fresh()).subscribe({
        next: (e) => {
          events.push(e);
          if (events.filter((x) => x.type === 'text').length === 5) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
        complete: () => reject(new Error('completed before the unsubscribe')),
      });
    });
    checkOrder(events, 'unsubscribe');
    const sent = sim.requests.slice(from);
    expect(sent).toHaveLength(1);
    await Promise.all(sent.map((r) => r.closed));
    for (const r of sent) expect(r.abortedByClient()).toBe(true);
    await checkInvariants(h, 1, 'unsubscribe');
    const [entry] = h.ledger.entries() as LedgerEntry[];
    expect(entry).toMatchObject({ outcome: 'aborted', provider: 'ollama', model: 'llama3.2' });
    expect(entry!.cost).toBeGreaterThan(0);
    expect(h.metrics.recent()[0]).toMatchObject({ outcome: 'aborted' });
    expect(h.cache.stats().writes).toBe(0);
  });
});

describe('every vendor answers through the whole pipeline', () => {
  it.each(RANKED.flatMap((v) => TRANSPORTS.map((t) => [v, t] as const)))(
    '%s (%s)',
    async (vendor, transport) => {
      const h = harness(transport);
      // Every vendor ranked before this one is overloaded.
      const before = RANKED.slice(0, RANKED.indexOf(vendor));
      script(Object.fromEntries(before.map((v) => [v, { fault: { type: 'status', status: 529 } }])), {
        text: words(7),
      });
      const { events, error } = await run(h.model.stream(fresh()));
      expect(error).toBeUndefined();
      checkOrder(events, vendor);
      expect(events.filter((e) => e.type === 'fallback')).toHaveLength(before.length);
      expect(events.find((e) => e.type === 'start')).toMatchObject({ provider: vendor });
      expect(texts(events)).toBe(words(7));
      await checkInvariants(h, 1, vendor);
      const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
      expect(toNanos(day.spent)).toBe(toNanos(finishOf(events)!.cost.total));
    },
  );
});

describe.each(TRANSPORTS)('failures and the cache (%s)', (transport) => {
  it('a budget-stopped answer is not cached', async () => {
    const probe = harness(transport);
    const request = fresh({ maxTokens: 2_000 });
    const est = probe.spend.estimate({ provider: 'ollama', model: 'llama3.2' }, request);
    const perRequest = est.minimum + 24 * (LLAMA.pricing.output / 1e6);
    const h = harness(transport, { perRequest });
    script({}, { text: words(400), tokenDelayMs: 1 });
    const first = await run(h.model.stream(request));
    expect(finishOf(first.events)).toMatchObject({ reason: 'budget' });
    await settle();
    script({}, { text: words(5) });
    const second = await run(h.model.stream({ ...request }));
    checkOrder(second.events, 'after budget');
    expect(h.cache.stats().hits).toBe(0);
    expect(finishOf(second.events)).toMatchObject({ reason: 'stop' });
  });

  it('a stall times out, is retried, then falls back', async () => {
    const h = harness(transport, {}, { firstTokenMs: 200 });
    script({ ollama: { text: words(5), fault: { type: 'stall', tokens: 0 } } }, { text: words(4) });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, 'stall');
    await Promise.all(sim.requests.slice(from).map((r) => r.closed));
    for (const r of sim.requests.slice(from, -1)) expect(r.abortedByClient()).toBe(true);
    await checkInvariants(h, 1, 'stall');
  }, 20_000);

  it('all fail: all_failed, ledger and metrics record it, nothing reserved', async () => {
    const h = harness(transport);
    script({}, { fault: { type: 'status', status: 503 } });
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toMatchObject({ kind: 'all_failed' });
    checkOrder(events, 'all failed');
    await checkInvariants(h, 1, 'all failed');
    expect((h.ledger.entries() as LedgerEntry[])[0]).toMatchObject({ outcome: 'error', cost: 0 });
    expect(h.metrics.recent()[0]).toMatchObject({ outcome: 'error', errorKind: 'all_failed', fallbacks: 3 });
  });

  it('nothing affordable: a budget error, recorded once', async () => {
    const h = harness(transport, { limits: { day: 0.0000001 } });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toMatchObject({ kind: 'budget' });
    expect(events).toEqual([]);
    expect(sim.requests.length).toBe(from);
    await checkInvariants(h, 1, 'unaffordable');
  });

  it('unsubscribing after a reset, during the second attempt', async () => {
    const h = harness(transport);
    script(
      { ollama: { text: words(10), fault: { type: 'reset-after', tokens: 3 } } },
      { text: words(200, 100), tokenDelayMs: 5 },
    );
    const from = sim.requests.length;
    const events: TokenEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = h.model.stream(fresh()).subscribe({
        next: (e) => {
          events.push(e);
          if (
            events.some((x) => x.type === 'reset') &&
            events.filter((x) => x.type === 'text').length === 8
          ) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
        complete: () => reject(new Error('completed')),
      });
    });
    checkOrder(events, 'reset+unsub');
    await Promise.all(sim.requests.slice(from).map((r) => r.closed));
    expect(sim.requests.slice(from).at(-1)!.abortedByClient()).toBe(true);
    await checkInvariants(h, 1, 'reset+unsub');
    const [entry] = h.ledger.entries() as LedgerEntry[];
    expect(entry).toMatchObject({ outcome: 'aborted', provider: 'gemini' });
  });

  it('a coalesced owner leaving: the others go on, the call is charged once', async () => {
    const h = harness(transport);
    script({}, { text: words(30), tokenDelayMs: 3 });
    const request = fresh();
    const from = sim.requests.length;
    const ownerEvents: TokenEvent[] = [];
    const sub = h.model.stream(request).subscribe((e) => {
      ownerEvents.push(e);
      if (ownerEvents.filter((x) => x.type === 'text').length === 3) sub.unsubscribe();
    });
    const [b, c] = await Promise.all([run(h.model.stream(request)), run(h.model.stream(request))]);
    for (const r of [b!, c!]) {
      expect(r.error).toBeUndefined();
      checkOrder(r.events, 'joiner');
      expect(texts(r.events)).toBe(words(30));
    }
    expect(sim.requests.length - from).toBe(1);
    const costs = [b!, c!].map((r) => finishOf(r.events)!.cost.total);
    expect(costs[0]).toBeGreaterThan(0);
    expect(costs[1]).toBe(0);
    await checkInvariants(h, 1, 'owner left');
  });

  it('the cached replay of a fallback answer keeps the order', async () => {
    const h = harness(transport);
    script({ ollama: { fault: { type: 'status', status: 529 } } }, { text: words(6) });
    const request = fresh();
    const first = await run(h.model.stream(request));
    const second = await run(h.model.stream(request));
    checkOrder(second.events, 'cached fallback');
    expect(second.error).toBeUndefined();
    expect(second.events.map((e) => e.type)).toEqual(first.events.map((e) => e.type));
    await checkInvariants(h, 1, 'cached fallback');
  });
});

describe.each(TRANSPORTS)('timeouts, queues, waits and tools (%s)', (transport) => {
  it('idle timeout after content: restart on the next provider, the stalled socket closed', async () => {
    const h = harness(transport, {}, { idleMs: 150 });
    script({ ollama: { text: words(10), fault: { type: 'stall', tokens: 3 } } }, { text: words(4, 50) });
    const from = sim.requests.length;
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, 'idle');
    expect(events.map((e) => e.type).filter((t) => t !== 'text')).toEqual([
      'route',
      'start',
      'reset',
      'start',
      'usage',
      'finish',
    ]);
    await Promise.all(sim.requests.slice(from).map((r) => r.closed));
    expect(sim.requests[from]!.abortedByClient()).toBe(true);
    await checkInvariants(h, 1, 'idle');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(h.metrics.snapshot().totals.cost)).toBe(toNanos(finishOf(events)!.cost.total));
    expect(day.spent).toBeGreaterThan(finishOf(events)!.cost.total);
  });

  it('unsubscribing while queued by the rate limiter: nothing sent, nothing reserved', async () => {
    const h = harness(transport, {}, { requestsPerMinute: 1 });
    script({}, { text: words(3) });
    // The first call takes the only request of the bucket.
    const first = await run(h.model.stream(fresh()));
    expect(first.error).toBeUndefined();
    const from = sim.requests.length;
    const events: TokenEvent[] = [];
    const sub = h.model.stream(fresh()).subscribe((e) => events.push(e));
    await settle(50);
    // Only the routing decision: the call waits for the limiter's bucket.
    expect(events.map((e) => e.type)).toEqual(['route']);
    sub.unsubscribe();
    expect(sim.requests.length).toBe(from);
    await checkInvariants(h, 2, 'queued');
    expect((h.ledger.entries() as LedgerEntry[])[1]).toMatchObject({ outcome: 'aborted', cost: 0 });
  });

  it('unsubscribing during a retry wait (retry-after): nothing reserved, no later request', async () => {
    const h = harness(transport, {}, { retryAfterCapMs: 60_000 });
    script({ ollama: { fault: { type: 'status', status: 429, retryAfter: 1 } } }, { text: words(3) });
    const from = sim.requests.length;
    const events: TokenEvent[] = [];
    const sub = h.model.stream(fresh()).subscribe((e) => events.push(e));
    await settle(100);
    sub.unsubscribe();
    expect(sim.requests.length - from).toBe(1);
    await checkInvariants(h, 1, 'retry wait');
    await settle(1000);
    expect(sim.requests.length - from).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['route']);
  });

  it('a scripted model in the pool: unsubscribing leaves no active subscription', async () => {
    const scripted = scriptedModel({
      provider: 'scripted',
      model: 'scripted-1',
      pricing: SCRIPTED.pricing,
      scripts: [{ text: words(100), tokenDelayMs: 5 }],
    });
    const h = harness(transport, {}, { extra: [scripted] });
    script({}, { fault: { type: 'status', status: 503 } });
    const events: TokenEvent[] = [];
    await new Promise<void>((resolve) => {
      const sub = h.model.stream(fresh()).subscribe((e) => {
        events.push(e);
        if (events.filter((x) => x.type === 'text').length === 4) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    checkOrder(events, 'scripted');
    expect(scripted.active()).toBe(0);
    await checkInvariants(h, 1, 'scripted');
    const [entry] = h.ledger.entries() as LedgerEntry[];
    expect(entry).toMatchObject({ outcome: 'aborted', provider: 'scripted' });
    expect(entry!.cost).toBeGreaterThan(0);
  });

  it('tool calls through the pipeline and the cache', async () => {
    const h = harness(transport);
    script({}, { toolCalls: [{ name: 'get_weather', args: { city: 'Paris' } }] });
    const request = fresh({
      tools: [
        {
          name: 'get_weather',
          description: 'w',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      ],
    });
    const first = await run(h.model.stream(request));
    expect(first.error).toBeUndefined();
    const second = await run(h.model.stream(request));
    checkOrder(first.events, 'tools');
    checkOrder(second.events, 'tools cached');
    expect(second.events.find((e) => e.type === 'tool-call')).toMatchObject({ args: { city: 'Paris' } });
    expect(finishOf(second.events)).toMatchObject({ reason: 'tool-calls' });
    await checkInvariants(h, 1, 'tools');
  });
});

describe('the budget reserves before anything is sent', () => {
  it('two concurrent calls, room for one worst case: the second is not sent', async () => {
    const probe = harness('direct');
    const a = fresh({ maxTokens: 100 });
    const b = fresh({ maxTokens: 100 });
    const est = probe.spend.estimate({ provider: 'ollama', model: 'llama3.2' }, a);
    // Room for one whole call and a bit, not for two minimums.
    const h = harness('direct', { limits: { day: est.worstCase * 1.2 }, onShortfall: 'reject' });
    script({}, { text: words(20), tokenDelayMs: 3 });
    const from = sim.requests.length;
    const [ra, rb] = await Promise.all([run(h.model.stream(a)), run(h.model.stream(b))]);
    // Before the fix the budget priced the call at the unpriced withFallback wrapper ($0), reserved nothing
    // and both requests went out; the second was refused only once its provider had answered.
    expect(sim.requests.length - from).toBe(1);
    expect([ra!.error, rb!.error].filter(Boolean)).toHaveLength(1);
    expect([ra!.error, rb!.error].find(Boolean)).toMatchObject({ kind: 'budget' });
    await checkInvariants(h, 2, 'concurrent');
  });
});

describe.each(TRANSPORTS)('edges (%s)', (transport) => {
  it('unsubscribing at once: nothing left behind', async () => {
    const h = harness(transport);
    script({}, { text: words(20), tokenDelayMs: 3 });
    const from = sim.requests.length;
    h.model.stream(fresh()).subscribe().unsubscribe();
    await settle(60);
    expect(sim.requests.length).toBe(from);
    await checkInvariants(h, 1, 'at once');
    expect((h.ledger.entries() as LedgerEntry[])[0]).toMatchObject({ outcome: 'aborted', cost: 0 });
  });

  it('a per-request cap with a restart: the voided attempt counts, the total stays under the cap', async () => {
    const probe = harness(transport);
    const request = fresh({ maxTokens: 2_000 });
    const est = probe.spend.estimate({ provider: 'ollama', model: 'llama3.2' }, request);
    const perRequest = est.minimum * 6;
    const h = harness(transport, { perRequest });
    script(
      { ollama: { text: words(30), fault: { type: 'reset-after', tokens: 20 } } },
      { text: words(300), tokenDelayMs: 1 },
    );
    const { events, error } = await run(h.model.stream(request));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type).filter((t) => t !== 'text')).toEqual([
      'route',
      'start',
      'reset',
      'start',
      'finish',
    ]);
    expect(finishOf(events)).toMatchObject({ reason: 'budget' });
    checkOrder(events, 'cap restart');
    await checkInvariants(h, 1, 'cap restart');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(day.spent).toBeLessThanOrEqual(perRequest);
  });

  it('an in-stream overloaded error before content (HTTP 200) is retried then falls back', async () => {
    const h = harness(transport);
    script(
      {
        ollama: { fault: { type: 'error-event', tokens: 0 } },
        gemini: { fault: { type: 'error-event', tokens: 0 } },
      },
      { text: words(5) },
    );
    const { events, error } = await run(h.model.stream(fresh()));
    expect(error).toBeUndefined();
    checkOrder(events, 'error-event');
    await checkInvariants(h, 1, 'error-event');
    const day = (h.spend.status() as readonly BudgetLineStatus[])[0]!;
    expect(toNanos(day.spent)).toBe(toNanos(finishOf(events)!.cost.total));
  });
});
