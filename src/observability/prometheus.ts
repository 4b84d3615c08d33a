import { redactSecrets } from '../core/redact.js';
import type { HistogramSnapshot, MetricsSnapshot } from './metrics.js';

/** Label names and values of one sample. */
export type Labels = { readonly [name: string]: string };

/** A counter or a gauge: one value per label set. */
export interface ScalarFamily {
  /** The metric's name (sanitized when rendered). */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** The Prometheus type. */
  readonly type: 'counter' | 'gauge';
  /** One value per label set. */
  readonly samples: readonly {
    /** The sample's labels. */
    readonly labels: Labels;
    /** Its value. */
    readonly value: number;
  }[];
}

/** A histogram: cumulative bucket counts per label set, bounds in the family's unit. */
export interface HistogramFamily {
  /** The metric's name (sanitized when rendered). */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** The Prometheus type. */
  readonly type: 'histogram';
  /** One histogram per label set. */
  readonly samples: readonly {
    /** The sample's labels. */
    readonly labels: Labels;
    /** Upper bounds of the buckets (`le`), ascending. */
    readonly bounds: readonly number[];
    /** `counts[i]` observations were at most `bounds[i]` (cumulative). */
    readonly counts: readonly number[];
    /** Sum of every observation. */
    readonly sum: number;
    /** Number of observations. */
    readonly count: number;
  }[];
}

/** One metric family of the Prometheus text format. */
export type MetricFamily = ScalarFamily | HistogramFamily;

/**
 * Renders metric families in the Prometheus text exposition format (version 0.0.4): `# HELP` and
 * `# TYPE` lines, label values escaped (and redacted of every registered secret), histograms as
 * `_bucket{le=…}`, `_sum` and `_count`. Serve it with the content type {@link PROMETHEUS_CONTENT_TYPE}.
 *
 * ## Example
 * ```ts
 * res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
 * res.end(renderPrometheus(metricsFamilies(metrics.snapshot())));
 * ```
 *
 * @param families The families, rendered in order.
 * @returns The exposition text, ending with a newline.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    const name = metricName(family.name);
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const s of family.samples) {
        s.bounds.forEach((bound, i) => {
          lines.push(
            `${name}_bucket${labelText({ ...s.labels, le: formatNumber(bound) })} ${s.counts[i] ?? 0}`,
          );
        });
        lines.push(`${name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
        lines.push(`${name}_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
        lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
      }
    } else {
      for (const s of family.samples) lines.push(`${name}${labelText(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The families of a {@link MetricsSnapshot}, named `<prefix>_…` (default `rxllm`): requests by outcome,
 * errors by kind, tokens by type, cost, fallbacks, and duration and time-to-first-token histograms in
 * seconds, each labelled by `provider` and `model`.
 *
 * ## Example
 * ```ts
 * const text = renderPrometheus(metricsFamilies(metrics.snapshot()));
 * // rxllm_requests_total{provider="openai",model="gpt-4o-mini",outcome="success"} 12
 * ```
 *
 * @param snapshot What to render.
 * @param prefix Name prefix of every family. Default `rxllm`.
 * @returns The families, for {@link renderPrometheus}.
 */
export function metricsFamilies(snapshot: MetricsSnapshot, prefix = 'rxllm'): MetricFamily[] {
  const of = (s: { provider: string; model: string }): Labels => ({ provider: s.provider, model: s.model });
  const seconds = (h: HistogramSnapshot, labels: Labels) => ({
    labels,
    bounds: h.bounds.map((b) => b / 1000),
    counts: h.counts,
    sum: h.sum / 1000,
    count: h.count,
  });
  const series = snapshot.series;
  return [
    {
      name: `${prefix}_requests_total`,
      help: 'Calls by provider, model and outcome (success, error, aborted).',
      type: 'counter',
      samples: series.flatMap((s) =>
        (['success', 'error', 'aborted'] as const).map((outcome) => ({
          labels: { ...of(s), outcome },
          value: s.outcomes[outcome],
        })),
      ),
    },
    {
      name: `${prefix}_errors_total`,
      help: 'Failed calls by provider, model and error kind.',
      type: 'counter',
      samples: series.flatMap((s) =>
        Object.entries(s.errors).map(([kind, value]) => ({ labels: { ...of(s), kind }, value: value ?? 0 })),
      ),
    },
    {
      name: `${prefix}_tokens_total`,
      help: 'Tokens by provider, model and type (input, output, cached_input).',
      type: 'counter',
      samples: series.flatMap((s) => [
        { labels: { ...of(s), type: 'input' }, value: s.inputTokens },
        { labels: { ...of(s), type: 'output' }, value: s.outputTokens },
        { labels: { ...of(s), type: 'cached_input' }, value: s.cachedInputTokens },
      ]),
    },
    {
      name: `${prefix}_cost_usd_total`,
      help: 'Cost in US dollars by provider and model.',
      type: 'counter',
      samples: series.map((s) => ({ labels: of(s), value: s.cost })),
    },
    {
      name: `${prefix}_fallbacks_total`,
      help: 'Candidates that failed before the answering provider, by the answering provider and model.',
      type: 'counter',
      samples: series.map((s) => ({ labels: of(s), value: s.fallbacks })),
    },
    {
      name: `${prefix}_request_duration_seconds`,
      help: 'Call duration from subscribe to the end, in seconds.',
      type: 'histogram',
      samples: series.map((s) => seconds(s.duration, of(s))),
    },
    {
      name: `${prefix}_time_to_first_token_seconds`,
      help: 'Time from subscribe to the first content event, in seconds.',
      type: 'histogram',
      samples: series.map((s) => seconds(s.timeToFirstToken, of(s))),
    },
  ];
}

function metricName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function labelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${labelName(k)}="${escapeLabel(redactSecrets(v))}"`).join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
