/**
 * Who may call the gateway. Without `server.keys`, anyone who reaches it (the CLI binds loopback then);
 * with keys, only a request bearing one (`Authorization: Bearer <key>` or `x-api-key: <key>`), through the
 * pipeline wrapped in the key's own budget, rate limit and metrics, restricted to the key's models.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { identity } from 'rxjs';
import type { Pipeline } from '../config/build.js';
import type { ServerKeyConfig } from '../config/schema.js';
import type { LanguageModel } from '../core/model.js';
import { type Budget, createBudget } from '../operators/budget.js';
import { rateLimit } from '../operators/rateLimit.js';
import { createRateLimiter } from '../operators/rateLimiter.js';
import { createMetrics, type Metrics, withMetrics } from '../observability/metrics.js';
import { type MetricFamily, metricsFamilies } from '../observability/prometheus.js';
import { hashKey } from './keys.js';
import { modelEntries } from './models.js';
import type { OpenAICaller } from './openai/chat.js';

/** A caller: its name (none without keys) and what its calls stream through. */
export interface Caller extends OpenAICaller {
  readonly name?: string;
}

/** The gateway's callers. */
export interface Callers {
  /** Whether keys are required. */
  readonly keyed: boolean;
  /** The caller a request's key names, or `undefined` when keys are required and it bears no valid one. */
  identify(headers: IncomingHttpHeaders): Caller | undefined;
  /** Per-key metrics and budget gauges, labelled `key`. */
  families(): Promise<MetricFamily[]>;
}

interface KeyedCaller extends Caller {
  readonly name: string;
  readonly metrics: Metrics;
  readonly budget?: Budget;
}

/** The callers of `pipeline`'s configuration. */
export function createCallers(pipeline: Pipeline): Callers {
  const providers = pipeline.handles.providers;
  const keys = pipeline.config.server?.keys ?? [];
  if (keys.length === 0) {
    const open: Caller = { model: pipeline.model, providers };
    return { keyed: false, identify: () => open, families: () => Promise.resolve([]) };
  }
  const byHash = new Map(keys.map((k) => [k.hash, keyedCaller(pipeline, k)]));
  return {
    keyed: true,
    identify(headers) {
      const key = presentedKey(headers);
      // Looked up by hash: the table holds no key, and a lookup's timing reveals nothing of one.
      return key === undefined ? undefined : byHash.get(hashKey(key));
    },
    async families() {
      const callers = [...byHash.values()];
      const perKey = callers.map((c) =>
        metricsFamilies(c.metrics.snapshot(), 'rxllm_key').map((f) => labelled(f, c.name)),
      );
      const budgets = await Promise.all(
        callers.map(async (c) => ({ name: c.name, lines: c.budget ? await c.budget.status() : [] })),
      );
      const gauge = (
        name: string,
        help: string,
        pick: (l: (typeof budgets)[number]['lines'][number]) => number,
      ) => ({
        name,
        help,
        type: 'gauge' as const,
        samples: budgets.flatMap((b) =>
          b.lines.map((l) => ({ labels: { key: b.name, period: l.period }, value: pick(l) })),
        ),
      });
      return [
        ...merge(perKey),
        gauge('rxllm_key_budget_spent_usd', 'Spend of a key in the current window.', (l) => l.spent),
        gauge('rxllm_key_budget_limit_usd', 'Spending limit of a key in the current window.', (l) => l.limit),
        gauge('rxllm_key_budget_remaining_usd', "What is left of a key's limit.", (l) => l.remaining),
      ];
    },
  };
}

function keyedCaller(pipeline: Pipeline, key: ServerKeyConfig): KeyedCaller {
  const metrics = createMetrics();
  const budget =
    key.budget &&
    createBudget({ ...key.budget, catalog: pipeline.handles.catalog, prefix: `key:${key.name}:budget` });
  const limiter =
    key.rateLimit &&
    createRateLimiter({ ...key.rateLimit, key: () => key.name, prefix: `key:${key.name}:ratelimit` });
  const model: LanguageModel = pipeline.model.pipe(
    limiter ? rateLimit(limiter) : identity,
    budget ? budget.policy() : identity,
    withMetrics(metrics),
  );
  const providers = pipeline.handles.providers;
  return {
    name: key.name,
    model,
    providers,
    ...(key.models && { models: key.models }),
    metrics,
    ...(budget && { budget }),
  };
}

/** The key a request bears: `Authorization: Bearer <key>` (OpenAI) or `x-api-key: <key>` (Anthropic). */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
  const header = headers['x-api-key'];
  return bearer ?? (typeof header === 'string' && header !== '' ? header : undefined);
}

function labelled(family: MetricFamily, key: string): MetricFamily {
  return family.type === 'histogram'
    ? { ...family, samples: family.samples.map((s) => ({ ...s, labels: { key, ...s.labels } })) }
    : { ...family, samples: family.samples.map((s) => ({ ...s, labels: { key, ...s.labels } })) };
}

/** Families of the same name (one per key) as one family. */
function merge(groups: readonly MetricFamily[][]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const family of groups.flat()) {
    const seen = byName.get(family.name);
    byName.set(
      family.name,
      seen ? ({ ...seen, samples: [...seen.samples, ...family.samples] } as MetricFamily) : family,
    );
  }
  return [...byName.values()];
}

/** The providers a key may reach through `/v1/generate`: those of its models, or all. */
export function generateProviders(caller: Caller): readonly string[] | undefined {
  if (!caller.models) return undefined;
  return [...new Set(modelEntries(caller.providers, caller.models).flatMap((e) => e.providers))];
}
