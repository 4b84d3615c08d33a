/** `GET /metrics`: the pipeline's call metrics plus gauges of circuits, health and budgets. */
import type { Pipeline } from '../config/build.js';
import { type MetricFamily, metricsFamilies } from '../observability/prometheus.js';

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
const HEALTH_VALUE = { healthy: 1, degraded: 0.5, unhealthy: 0 } as const;

/** The pipeline's metrics plus gauges of circuits, health and budgets. */
export async function pipelineFamilies(pipeline: Pipeline): Promise<MetricFamily[]> {
  const status = await pipeline.status();
  const labels = (p: { name: string; model: string }) => ({ provider: p.name, model: p.model });
  const extra: MetricFamily[] = [
    {
      name: 'rxllm_circuit_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.',
      type: 'gauge',
      samples: status.providers.flatMap((p) =>
        p.circuit ? [{ labels: labels(p), value: CIRCUIT_VALUE[p.circuit] }] : [],
      ),
    },
    {
      name: 'rxllm_provider_health',
      help: 'Provider health: 1 healthy, 0.5 degraded, 0 unhealthy.',
      type: 'gauge',
      samples: status.providers.flatMap((p) =>
        p.health ? [{ labels: labels(p), value: HEALTH_VALUE[p.health] }] : [],
      ),
    },
  ];
  if (status.budget) {
    const line = (l: { scope: string; period: string }) => ({ scope: l.scope, period: l.period });
    extra.push(
      {
        name: 'rxllm_budget_spent_usd',
        help: 'Spend in the current window, by scope (global or provider) and period.',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.spent })),
      },
      {
        name: 'rxllm_budget_limit_usd',
        help: 'Spending limit of the current window.',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.limit })),
      },
      {
        name: 'rxllm_budget_remaining_usd',
        help: 'What is left of the limit (after reservations of calls in flight).',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.remaining })),
      },
    );
  }
  return [...metricsFamilies(pipeline.handles.metrics.snapshot()), ...extra];
}
