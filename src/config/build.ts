import { dirname, resolve } from 'node:path';
import { asyncScheduler, identity, type SchedulerLike, type Subscription } from 'rxjs';
import { type Catalog, defaultCatalog, type ModelSpec } from '../core/catalog.js';
import type { ModelRef } from '../core/events.js';
import { registerSecret } from '../core/redact.js';
import type { LanguageModel, ModelPolicy } from '../core/model.js';
import { readCredentialFile, type Credentials } from '../credentials/credentialFile.js';
import { CredentialError } from '../credentials/errors.js';
import { resolveCredential } from '../credentials/resolve.js';
import { type Logger, withLogging } from '../observability/logger.js';
import { createMetrics, type Metrics, withMetrics } from '../observability/metrics.js';
import { exponentialBackoff } from '../operators/backoff.js';
import { type Budget, type BudgetLineStatus, createBudget } from '../operators/budget.js';
import { type CacheStats, createCache, type ResponseCache } from '../operators/cache.js';
import type { CircuitState } from '../operators/circuitMachine.js';
import { type CircuitBreaker, createCircuitBreaker } from '../operators/createCircuitBreaker.js';
import { createHealthMonitor, type HealthMonitor } from '../operators/health.js';
import type { HealthStatus } from '../operators/healthState.js';
import { hedge } from '../operators/hedge.js';
import { createRateLimiter, type RateLimiter, type RateLimiterState } from '../operators/rateLimiter.js';
import { withCircuitBreaker } from '../operators/withCircuitBreaker.js';
import { withFallback } from '../operators/withFallback.js';
import { withRetry } from '../operators/withRetry.js';
import { withTimeout } from '../operators/withTimeout.js';
import { anthropic } from '../providers/anthropic/index.js';
import { gemini } from '../providers/gemini/index.js';
import { ollama } from '../providers/ollama/index.js';
import { openaiCompatible } from '../providers/openai/compatible.js';
import { openai } from '../providers/openai/index.js';
import { createRouter, type Router } from '../routing/route.js';
import { weightedRandomStrategy } from '../routing/strategies/index.js';
import type { StateStore } from '../state/store.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import type { Env } from './interpolate.js';
import { loadConfig } from './load.js';
import type { ProviderConfig, RxllmConfig } from './schema.js';

/** Options of {@link buildPipeline}. */
export interface BuildOptions {
  /** Variables for `{ env: NAME }` keys and the credential password. Default `process.env`. */
  readonly env?: Env;
  /** Clock of every time-based policy and measurement. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Shared state for the breaker, budget, rate limits and cache (a Redis store shares them across processes). Default: one memory store each. */
  readonly store?: StateStore;
  /** A `fetch` for every provider (proxies, tests). */
  readonly fetch?: typeof fetch;
  /** Secrets already decrypted (skips reading `credentials.file`). */
  readonly credentials?: Credentials;
  /** Password of `credentials.file`. Default: the variable `credentials.passwordEnv`. */
  readonly password?: string;
  /** Directory a relative `credentials.file` is resolved against. Default: the working directory. */
  readonly baseDir?: string;
  /** Models to use instead of building providers, by provider name (custom models, test doubles). */
  readonly models?: { readonly [name: string]: LanguageModel };
  /** The catalog providers are priced from. Default {@link defaultCatalog}. */
  readonly catalog?: Catalog;
  /** Metrics to record into (shared by several pipelines). Default: new ones on `scheduler`. */
  readonly metrics?: Metrics;
  /** A logger for one line per call (see `withLogging`). Default: none. */
  readonly logger?: Logger;
}

/** One provider of a built pipeline. */
export interface ProviderHandle extends ModelRef {
  /** The vendor (`openai`, `anthropic`, …). */
  readonly type: ProviderConfig['type'];
  /** Its rank for the `priority` strategy and fallback (lower first). */
  readonly priority: number;
  /** Its share for the `weighted-random` strategy. */
  readonly weight: number;
  /** The provider with its own policies (rate limit, timeout, health, breaker, retry): a pool member. */
  readonly member: LanguageModel;
}

/** The shared objects behind a pipeline, for status endpoints and dashboards. */
export interface PipelineHandles {
  /** Every enabled provider, in file order. */
  readonly providers: readonly ProviderHandle[];
  /** What the providers are priced from (renamed providers included): for budgets around the pipeline. */
  readonly catalog: Catalog;
  /** The router ranking the pool (its `decisions$`, `stats`). */
  readonly router: Router;
  /** The metrics every call is recorded into. */
  readonly metrics: Metrics;
  /** The circuit breaker, unless switched off. */
  readonly breaker?: CircuitBreaker;
  /** The budget, when one is configured. */
  readonly budget?: Budget;
  /** The health monitor, unless switched off. */
  readonly health?: HealthMonitor;
  /** The shared rate limiter, when one is configured. */
  readonly rateLimiter?: RateLimiter;
  /** The response cache, when switched on. */
  readonly cache?: ResponseCache;
}

/** What a pipeline reports about itself: no keys, no URLs, no headers. */
export interface PipelineStatus {
  /** Scheduler time of the report. */
  readonly at: number;
  /** The routing strategy's name. */
  readonly strategy: string;
  /** Each provider with its routing settings, health and circuit state. */
  readonly providers: readonly {
    /** The provider's name. */
    readonly name: string;
    /** The vendor. */
    readonly type: string;
    /** The model id. */
    readonly model: string;
    /** Its rank for priority routing and fallback. */
    readonly priority: number;
    /** Its share for weighted-random routing. */
    readonly weight: number;
    /** Its health, when a monitor runs. */
    readonly health: HealthStatus | undefined;
    /** Its circuit's state, when a breaker runs. */
    readonly circuit: CircuitState['state'] | undefined;
  }[];
  /** The budget's lines and outstanding reservations, when one is configured. */
  readonly budget?: {
    /** Each limit with its spend in the current window. */
    readonly lines: readonly BudgetLineStatus[];
    /** Dollars reserved by calls in flight. */
    readonly outstanding: number;
  };
  /** Totals since the pipeline was built. */
  readonly spend: {
    /** Calls made. */
    readonly calls: number;
    /** Calls that failed. */
    readonly errors: number;
    /** Dollars spent. */
    readonly cost: number;
  };
  /** Cache hits, misses and size, when the cache is on. */
  readonly cache?: CacheStats;
  /** The shared rate limiter's buckets and queue, when one is configured. */
  readonly rateLimit?: RateLimiterState;
}

/** A pipeline built from a configuration. */
export interface Pipeline {
  /** The whole pipeline: stream requests through it. */
  readonly model: LanguageModel;
  /** The validated configuration it was built from. */
  readonly config: RxllmConfig;
  /** The parts, to observe or share (router, metrics, breaker, budget, …). */
  readonly handles: PipelineHandles;
  /** Providers, health, circuits, budgets and spend now. */
  status(): Promise<PipelineStatus>;
  /** Stops active health probes. Calls in flight are not affected. */
  close(): void;
}

const PASSWORD_ENV = 'RXLLM_CREDENTIALS_PASSWORD';

/**
 * Builds a whole pipeline from a validated configuration, in one call.
 *
 * Intuition: the configuration file is the `pipe(...)` you would otherwise write by hand.
 *
 * The nesting (the library's documented order), each step present only when configured:
 * each provider `→ rateLimit (its own, then the shared one) → withTimeout → health tracking →
 * withCircuitBreaker → withRetry`; the pool (ordered by `priority`) `→ route({ strategy, budget,
 * isHealthy }) → hedge | withFallback → budget → cache → withMetrics → withTelemetry → withLogging`.
 *
 * Keys come from the entry's `apiKey` (a string, `{ env }` or `{ credential }`), else the vendor's
 * environment variable; every key, and every credential-like header value (`authorization`, `x-api-key`,
 * `*-token`, …), is registered for redaction. Renamed providers are priced from the
 * catalog entry of their vendor and model (or their own `pricing`), so routing and budgets see them.
 *
 * ## Example
 * ```ts
 * const pipeline = await buildPipeline(await loadConfig('rxllm.yaml'));
 * const done = await collect(pipeline.model.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
 * console.log(await pipeline.status());
 * ```
 *
 * @param config A validated configuration ({@link loadConfig}, {@link parseConfig}).
 * @param options Environment, clock, store, credentials and overrides.
 * @returns The pipeline and its handles.
 * @throws {ConfigError} when a key cannot be resolved (naming its field); {@link CredentialError} for a wrong credential password.
 */
export async function buildPipeline(config: RxllmConfig, options: BuildOptions = {}): Promise<Pipeline> {
  const env = options.env ?? processEnv();
  const scheduler = options.scheduler ?? asyncScheduler;
  const store = options.store;
  const credentials = await openCredentials(config, options, env);
  const baseCatalog = options.catalog ?? defaultCatalog;

  const entries = config.providers
    .map((p, index) => ({ p, index, name: p.name ?? p.type }))
    .filter((e) => e.p.enabled !== false)
    .map((e) => ({ ...e, priority: e.p.priority ?? e.index, weight: e.p.weight ?? 1 }))
    .sort((a, b) => a.priority - b.priority || a.index - b.index);
  if (entries.length === 0) {
    throw new ConfigError([{ path: 'providers', message: 'every provider is disabled' }]);
  }

  const specs = entries.flatMap((e) => specOf(e.p, e.name, baseCatalog));
  const catalog = specs.length > 0 ? baseCatalog.extend(specs) : baseCatalog;

  const issues: ConfigIssue[] = [];
  const raw = entries.map((e) => {
    const given = options.models?.[e.name];
    if (given) return given;
    try {
      return createProvider(
        e.p,
        e.name,
        resolveKey(e.p, e.index, env, credentials, issues),
        options,
        catalog,
      );
    } catch (error) {
      issues.push({ path: formatPath(['providers', e.index]), message: (error as Error).message });
      return undefined;
    }
  });
  if (issues.length > 0) throw new ConfigError(issues);

  const breakerConfig = config.circuitBreaker;
  const breaker =
    breakerConfig?.enabled === false
      ? undefined
      : createCircuitBreaker({ ...withoutEnabled(breakerConfig), ...(store && { store }), scheduler });
  const healthConfig = config.health;
  const health =
    healthConfig?.enabled === false
      ? undefined
      : createHealthMonitor({
          ...(healthConfig?.probe === true && {
            models: raw.filter((m): m is LanguageModel => m !== undefined),
          }),
          ...(healthConfig?.intervalMs !== undefined && { intervalMs: healthConfig.intervalMs }),
          ...(healthConfig?.probeTimeoutMs !== undefined && { probeTimeoutMs: healthConfig.probeTimeoutMs }),
          ...(healthConfig?.unhealthyAfter !== undefined && { unhealthyAfter: healthConfig.unhealthyAfter }),
          ...(healthConfig?.recoverAfter !== undefined && { recoverAfter: healthConfig.recoverAfter }),
          ...(healthConfig?.errorRateThreshold !== undefined && {
            errorRateThreshold: healthConfig.errorRateThreshold,
          }),
          scheduler,
        });
  const rateLimiter = limiterOf(config.rateLimit, store, scheduler, 'ratelimit');
  const budgetConfig = config.budget;
  const budget =
    budgetConfig === undefined || budgetConfig.enabled === false
      ? undefined
      : createBudget({
          ...withoutEnabled(budgetConfig),
          ...(store && { store }),
          scheduler,
          catalog,
        });
  const cacheConfig = config.cache;
  const cache =
    cacheConfig === undefined || cacheConfig.enabled === false
      ? undefined
      : createCache({ ...withoutEnabled(cacheConfig), ...(store && { store }), scheduler });
  const retryConfig = config.retry;
  const retry: ModelPolicy =
    retryConfig?.enabled === false
      ? identity
      : withRetry({
          ...(retryConfig?.maxAttempts !== undefined && { maxAttempts: retryConfig.maxAttempts }),
          ...(retryConfig?.maxRetryAfterMs !== undefined && { maxRetryAfterMs: retryConfig.maxRetryAfterMs }),
          backoff: exponentialBackoff({
            ...(retryConfig?.initialDelayMs !== undefined && { initialDelayMs: retryConfig.initialDelayMs }),
            ...(retryConfig?.maxDelayMs !== undefined && { maxDelayMs: retryConfig.maxDelayMs }),
            ...(retryConfig?.jitter !== undefined && { jitter: retryConfig.jitter }),
          }),
          scheduler,
        });

  const providers: ProviderHandle[] = entries.map((e, i) => {
    const own = limiterOf(e.p.rateLimit, store, scheduler, `ratelimit:${e.name}`);
    const member = (raw[i] as LanguageModel).pipe(
      own ? own.policy() : identity,
      rateLimiter ? rateLimiter.policy() : identity,
      withTimeout({ ...config.timeout, ...e.p.timeout, scheduler }),
      health ? health.track() : identity,
      breaker ? withCircuitBreaker(breaker) : identity,
      retry,
    );
    return {
      provider: e.name,
      model: e.p.model,
      type: e.p.type,
      priority: e.priority,
      weight: e.weight,
      member,
    };
  });

  const strategyName = config.routing?.strategy ?? 'priority';
  const router = createRouter({
    strategy:
      strategyName === 'weighted-random'
        ? weightedRandomStrategy({
            weights: Object.fromEntries(providers.map((p) => [p.provider, p.weight])),
          })
        : strategyName,
    catalog,
    scheduler,
    ...(budget && { budget }),
    ...(health && { isHealthy: health.isHealthy }),
    ...(config.routing?.seed !== undefined && { seed: config.routing.seed }),
  });
  const routed = router.route()(providers.map((p) => p.member));
  const fallbackConfig = config.routing?.fallback;
  const hedgeConfig = config.routing?.hedge;
  const metrics = options.metrics ?? createMetrics({ scheduler });
  const observability = config.observability;

  // Loaded only when asked for, so `rxllm/config` does not need `@opentelemetry/api` installed.
  const telemetry: ModelPolicy =
    observability?.otel === true
      ? (await import('../observability/otel.js')).withTelemetry({
          scheduler,
          legacySystemAttribute: observability.legacySystemAttribute === true,
        })
      : identity;

  const model = routed.pipe(
    hedgeConfig
      ? hedge({
          delayMs: hedgeConfig.delayMs,
          ...(hedgeConfig.maxAttempts !== undefined && { maxAttempts: hedgeConfig.maxAttempts }),
          scheduler,
        })
      : fallbackConfig?.enabled === false
        ? identity
        : withFallback({ onMidStream: fallbackConfig?.onMidStream ?? 'error', catalog }),
    budget ? budget.policy() : identity,
    cache ? cache.policy() : identity,
    withMetrics(metrics),
    telemetry,
  );
  const logged = options.logger ? model.pipe(withLogging(options.logger, { scheduler })) : model;

  let probing: Subscription | undefined = health && healthConfig?.probe === true ? health.start() : undefined;

  const handles: PipelineHandles = {
    providers,
    catalog,
    router,
    metrics,
    ...(breaker && { breaker }),
    ...(budget && { budget }),
    ...(health && { health }),
    ...(rateLimiter && { rateLimiter }),
    ...(cache && { cache }),
  };

  return {
    model: logged,
    config,
    handles,
    async status() {
      const list = await Promise.all(
        providers.map(async (p) => ({
          name: p.provider,
          type: p.type,
          model: p.model,
          priority: p.priority,
          weight: p.weight,
          health: health?.statusOf(p),
          circuit: breaker ? (await settle(breaker.state(p)))?.state : undefined,
        })),
      );
      const totals = metrics.snapshot().totals;
      return {
        at: scheduler.now(),
        strategy: strategyName,
        providers: list,
        ...(budget && {
          budget: {
            lines: (await settle(budget.status())) ?? [],
            outstanding: (await settle(budget.outstanding())) ?? 0,
          },
        }),
        spend: { calls: totals.calls, errors: totals.errors, cost: totals.cost },
        ...(cache && { cache: cache.stats() }),
        ...(rateLimiter && { rateLimit: rateLimiter.snapshot() }),
      };
    },
    close() {
      probing?.unsubscribe();
      probing = undefined;
    },
  };
}

/**
 * Reads a configuration file and builds its pipeline: {@link loadConfig} then {@link buildPipeline},
 * with a relative `credentials.file` resolved against the configuration's directory.
 *
 * ## Example
 * ```ts
 * const { model, status } = await loadPipeline('rxllm.yaml');
 * ```
 *
 * @param path The configuration file.
 * @param options See {@link BuildOptions}.
 * @returns The pipeline.
 */
export async function loadPipeline(path: string, options: BuildOptions = {}): Promise<Pipeline> {
  const config = await loadConfig(path, options.env ? { env: options.env } : {});
  return buildPipeline(config, { baseDir: dirname(resolve(path)), ...options });
}

async function openCredentials(
  config: RxllmConfig,
  options: BuildOptions,
  env: Env,
): Promise<Credentials | undefined> {
  if (options.credentials) return options.credentials;
  const section = config.credentials;
  if (!section) return undefined;
  const variable = section.passwordEnv ?? PASSWORD_ENV;
  const password = options.password ?? env[variable];
  if (password === undefined || password === '') {
    throw new ConfigError([
      {
        path: 'credentials.passwordEnv',
        message: `environment variable ${variable} (the credential file's password) is not set`,
      },
    ]);
  }
  const file = resolve(options.baseDir ?? process.cwd(), section.file);
  // A wrong password stays a CredentialError ('wrong_password'): it is the one error a person must act on.
  return readCredentialFile(file, password);
}

function resolveKey(
  p: ProviderConfig,
  index: number,
  env: Env,
  credentials: Credentials | undefined,
  issues: ConfigIssue[],
): string | undefined {
  const source = p.apiKey ?? defaultKeySource(p, env);
  if (source === undefined) return undefined;
  try {
    return resolveCredential(source, { env, ...(credentials && { credentials }) });
  } catch (error) {
    if (!CredentialError.isInstance(error)) throw error;
    issues.push({ path: formatPath(['providers', index, 'apiKey']), message: error.message });
    return undefined;
  }
}

/** The vendor's variable when it is set in `env` (else the provider reads `process.env` itself). */
function defaultKeySource(p: ProviderConfig, env: Env): { env: string } | undefined {
  const names =
    p.type === 'openai'
      ? ['OPENAI_API_KEY']
      : p.type === 'anthropic'
        ? ['ANTHROPIC_API_KEY']
        : p.type === 'gemini'
          ? ['GOOGLE_API_KEY', 'GEMINI_API_KEY']
          : p.type === 'ollama'
            ? ['OLLAMA_API_KEY']
            : [];
  const name = names.find((n) => env[n] !== undefined && env[n] !== '');
  return name === undefined ? undefined : { env: name };
}

/** Header names whose values are credentials (registered for redaction like keys). */
const SECRET_HEADER = /authorization|api[-_]?key|token|secret|password|(^|-)key$/i;

function createProvider(
  p: ProviderConfig,
  name: string,
  apiKey: string | undefined,
  options: BuildOptions,
  catalog: Catalog,
): LanguageModel {
  for (const [header, value] of Object.entries(p.headers ?? {})) {
    if (!SECRET_HEADER.test(header)) continue;
    registerSecret(value);
    registerSecret(value.replace(/^(Bearer|Basic|Token)\s+/i, ''));
  }
  const common = {
    model: p.model,
    name,
    catalog,
    ...(apiKey !== undefined && { apiKey }),
    ...(p.baseURL !== undefined && { baseURL: p.baseURL }),
    ...(p.headers !== undefined && { headers: p.headers }),
    ...(p.transport !== undefined && { transport: p.transport }),
    ...(p.pricing !== undefined && { pricing: p.pricing }),
    ...(options.fetch !== undefined && { fetch: options.fetch }),
  };
  switch (p.type) {
    case 'openai':
      return openai(common);
    case 'anthropic':
      return anthropic(common);
    case 'gemini':
      return gemini(common);
    case 'ollama':
      return ollama(common);
    case 'openai-compatible':
      return openaiCompatible({ ...common, baseURL: p.baseURL ?? '' });
  }
}

/** The spec routing and budgets price the provider by, under its own name. */
function specOf(p: ProviderConfig, name: string, catalog: Catalog): ModelSpec[] {
  const vendor = p.type === 'openai-compatible' ? name : p.type;
  const known = catalog.get(vendor, p.model);
  if (!known && !p.pricing) return [];
  const base: ModelSpec = known ?? {
    provider: name,
    model: p.model,
    pricing: { input: 0, output: 0 },
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    capabilities: ['tools', 'json', 'streaming'],
    quality: 0.5,
    local: p.type === 'ollama',
  };
  return [
    {
      ...base,
      provider: name,
      model: p.model,
      pricing: p.pricing ?? base.pricing,
      quality: p.quality ?? base.quality,
    },
  ];
}

function limiterOf(
  section: RxllmConfig['rateLimit'],
  store: StateStore | undefined,
  scheduler: SchedulerLike,
  prefix: string,
): RateLimiter | undefined {
  if (!section || section.enabled === false) return undefined;
  if (section.requestsPerMinute === undefined && section.tokensPerMinute === undefined) return undefined;
  return createRateLimiter({ ...withoutEnabled(section), ...(store && { store }), prefix, scheduler });
}

function withoutEnabled<T extends { enabled?: boolean }>(section: T | undefined): Omit<T, 'enabled'> {
  if (!section) return {} as Omit<T, 'enabled'>;
  const { enabled: _enabled, ...rest } = section;
  return rest;
}

async function settle<T>(value: T | PromiseLike<T>): Promise<T | undefined> {
  try {
    return await value;
  } catch {
    return undefined;
  }
}

function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}
