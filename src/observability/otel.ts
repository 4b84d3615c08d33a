import {
  type Attributes,
  type Context,
  context as otelContext,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { asyncScheduler, Observable, type SchedulerLike, takeWhile } from 'rxjs';
import type { LLMError } from '../core/errors.js';
import { assertNever, type TokenEvent } from '../core/events.js';
import type { ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { redactSecrets } from '../core/redact.js';
import { type CallMetrics, observedModel, trackCall } from './track.js';

/**
 * Attribute and metric names of the OpenTelemetry GenAI semantic conventions used here (checked against
 * `open-telemetry/semantic-conventions-genai`, `docs/gen-ai/gen-ai-spans.md` and `gen-ai-metrics.md`).
 * Names prefixed `rxllm.` are this library's own additions.
 */
export const GEN_AI = Object.freeze({
  /** The operation: `chat` unless `operationName` says otherwise. */
  OPERATION_NAME: 'gen_ai.operation.name',
  /** The provider's name (`openai`, `anthropic`, …). */
  PROVIDER_NAME: 'gen_ai.provider.name',
  /** Deprecated by `gen_ai.provider.name`; emitted only with `legacySystemAttribute`. */
  SYSTEM: 'gen_ai.system',
  /** The model asked for. */
  REQUEST_MODEL: 'gen_ai.request.model',
  /** The request's `maxTokens`. */
  REQUEST_MAX_TOKENS: 'gen_ai.request.max_tokens',
  /** The request's `temperature`. */
  REQUEST_TEMPERATURE: 'gen_ai.request.temperature',
  /** The request's `topP`. */
  REQUEST_TOP_P: 'gen_ai.request.top_p',
  /** The request's `stop` sequences. */
  REQUEST_STOP_SEQUENCES: 'gen_ai.request.stop_sequences',
  /** The vendor's response id. */
  RESPONSE_ID: 'gen_ai.response.id',
  /** The model the vendor reports answering. */
  RESPONSE_MODEL: 'gen_ai.response.model',
  /** The vendor's finish reason (else the normalized one), as a one-element array. */
  RESPONSE_FINISH_REASONS: 'gen_ai.response.finish_reasons',
  /** Prompt tokens. */
  USAGE_INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  /** Answer tokens. */
  USAGE_OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  /** Prompt tokens read from the vendor's cache. */
  USAGE_CACHE_READ_INPUT_TOKENS: 'gen_ai.usage.cache_read.input_tokens',
  /** `input` or `output`, on the token-usage histogram. */
  TOKEN_TYPE: 'gen_ai.token.type',
  /** The `LLMError` kind of a failed call. */
  ERROR_TYPE: 'error.type',
  /** Histogram of call durations, in seconds. */
  METRIC_OPERATION_DURATION: 'gen_ai.client.operation.duration',
  /** Histogram of tokens per call, by `gen_ai.token.type`. */
  METRIC_TOKEN_USAGE: 'gen_ai.client.token.usage',
  /** Histogram of times to the first content, in seconds. */
  METRIC_TIME_TO_FIRST_CHUNK: 'gen_ai.client.operation.time_to_first_chunk',
  /** rxllm's attribute: the call's cost in dollars. */
  COST: 'rxllm.usage.cost',
  /** rxllm's histogram of cost per call, in dollars. */
  METRIC_COST: 'rxllm.client.cost',
  /** rxllm's attribute: time to the first content, in ms. */
  TIME_TO_FIRST_TOKEN_MS: 'rxllm.response.time_to_first_token_ms',
  /** rxllm's attribute: how the call ended (`success`, `error`, …). */
  OUTCOME: 'rxllm.outcome',
  /** rxllm's attribute: candidates that failed before the answer. */
  FALLBACKS: 'rxllm.fallbacks',
} as const);

/** Bucket bounds the conventions advise for `gen_ai.client.operation.duration` and time to first chunk (s). */
const SECONDS_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** Bucket bounds the conventions advise for `gen_ai.client.token.usage`. */
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** rxllm provider names that differ from the conventions' well-known `gen_ai.provider.name` values. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = { gemini: 'gcp.gemini' };

/** Options of {@link withTelemetry}. */
export interface TelemetryOptions {
  /** Default: `trace.getTracer('rxllm')` (the global provider, resolved per span). */
  readonly tracer?: Tracer;
  /** Default: `metrics.getMeter('rxllm')`, looked up at each call so a provider registered later is used. */
  readonly meter?: Meter;
  /** `gen_ai.operation.name`. Default `chat`. */
  readonly operationName?: string;
  /**
   * Maps rxllm's provider names to `gen_ai.provider.name` values. Default: `gemini` → `gcp.gemini`,
   * others as they are (`openai`, `anthropic`, `ollama`, or a custom name).
   */
  readonly providerName?: (provider: string) => string;
  /** Also set the deprecated `gen_ai.system` (for backends still keyed on it). Default false. */
  readonly legacySystemAttribute?: boolean;
  /** Record metrics (duration, token usage, time to first chunk, cost). Default true. */
  readonly metrics?: boolean;
  /** Clock of the durations recorded in metrics. Spans use OpenTelemetry's own clock. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

interface Instruments {
  readonly duration: Histogram;
  readonly tokens: Histogram;
  readonly ttft: Histogram;
  readonly cost: Counter;
}

const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function instrumentsOf(meter: Meter): Instruments {
  let found = instrumentsByMeter.get(meter);
  if (!found) {
    found = {
      duration: meter.createHistogram(GEN_AI.METRIC_OPERATION_DURATION, {
        description: 'GenAI operation duration.',
        unit: 's',
        advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
      }),
      tokens: meter.createHistogram(GEN_AI.METRIC_TOKEN_USAGE, {
        description: 'Number of input and output tokens used.',
        unit: '{token}',
        advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
      }),
      ttft: meter.createHistogram(GEN_AI.METRIC_TIME_TO_FIRST_CHUNK, {
        description: 'Time to receive the first chunk of the response stream.',
        unit: 's',
        advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
      }),
      cost: meter.createCounter(GEN_AI.METRIC_COST, {
        description: 'Cost of GenAI operations in US dollars, from the catalog prices.',
        unit: '{USD}',
      }),
    };
    instrumentsByMeter.set(meter, found);
  }
  return found;
}

/**
 * Traces and measures every call of a model with OpenTelemetry, through `@opentelemetry/api` only: with
 * no SDK registered everything is a no-op; register one (`NodeSDK`, a `TracerProvider`) to export.
 *
 * Intuition: one CLIENT span per call, named `chat <model>`, with the GenAI semantic-convention
 * attributes, plus the conventions' client metrics.
 *
 * - Span attributes: `gen_ai.operation.name`, `gen_ai.provider.name` (of the provider that answered),
 *   `gen_ai.request.model`, `gen_ai.request.max_tokens` / `temperature` / `top_p` / `stop_sequences`,
 *   `gen_ai.response.id`, `gen_ai.response.model` (the model the vendor says answered, else the one asked),
 *   `gen_ai.response.finish_reasons` (the vendor's raw value), `gen_ai.usage.input_tokens` /
 *   `output_tokens` / `cache_read.input_tokens` (only as the vendor reported them: left out, and out of
 *   `gen_ai.client.token.usage`, when a call failed before any count or the counts are estimates), and on failure
 *   `error.type` = the `LLMError` kind with status ERROR. rxllm adds `rxllm.usage.cost` (USD),
 *   `rxllm.response.time_to_first_token_ms`, `rxllm.outcome`, `rxllm.fallbacks`, and span events
 *   `rxllm.route`, `rxllm.fallback`, `rxllm.reset`. A call its subscriber abandons ends with
 *   `error.type` = `aborted` and status UNSET (a client decision, not a failure).
 * - Metrics: `gen_ai.client.operation.duration` (s), `gen_ai.client.token.usage` (`{token}`, by
 *   `gen_ai.token.type`), `gen_ai.client.operation.time_to_first_chunk` (s), `rxllm.client.cost`.
 * - Never recorded: prompts, answers, headers, keys. Error messages are redacted of every registered secret.
 *
 * The span is the active context while the upstream runs, so spans of inner policies (a per-provider
 * `withTelemetry`) or of HTTP instrumentation nest under it.
 *
 * ## Example
 * ```ts
 * import { withTelemetry } from 'rxllm/otel';
 * const traced = pipeline.pipe(withTelemetry());                   // one span per client call
 * const pool = [gpt, claude].map((m) => m.pipe(withTelemetry()));  // and one per attempt, nested
 * ```
 *
 * @param options Tracer, meter, names and clock; each has a default.
 * @returns The policy.
 */
export function withTelemetry(options: TelemetryOptions = {}): ModelPolicy {
  const operation = options.operationName ?? 'chat';
  const providerName = options.providerName ?? ((p: string) => PROVIDER_NAMES[p] ?? p);
  const scheduler = options.scheduler ?? asyncScheduler;
  const recordMetrics = options.metrics ?? true;
  const legacy = options.legacySystemAttribute ?? false;
  const providerAttrs = (provider: string): Attributes => {
    const name = providerName(provider);
    return legacy
      ? { [GEN_AI.PROVIDER_NAME]: name, [GEN_AI.SYSTEM]: name }
      : { [GEN_AI.PROVIDER_NAME]: name };
  };

  return (model) =>
    observedModel(
      model,
      (request) =>
        new Observable<TokenEvent>((subscriber) => {
          const tracer = options.tracer ?? trace.getTracer('rxllm');
          const requestModel = request.model ?? model.model;
          const parent: Context = otelContext.active();
          const span = tracer.startSpan(
            `${operation} ${requestModel}`,
            {
              kind: SpanKind.CLIENT,
              attributes: {
                [GEN_AI.OPERATION_NAME]: operation,
                ...providerAttrs(model.provider),
                [GEN_AI.REQUEST_MODEL]: requestModel,
                ...requestAttributes(request),
              },
            },
            parent,
          );
          const active = trace.setSpan(parent, span);
          let routed = false;
          const tracked = trackCall(
            otelContext.with(active, () => model.stream(request)),
            {
              source: { provider: model.provider, model: model.model },
              requestModel,
              explicitModel: request.model !== undefined,
              scheduler,
            },
            {
              event: (event) => {
                onEvent(span, event, providerAttrs);
                // Behind routing the model asked for is the router's first choice.
                if (event.type === 'route' && request.model === undefined && !routed) {
                  routed = true;
                  span.setAttribute(GEN_AI.REQUEST_MODEL, event.chosen.model);
                  span.updateName(`${operation} ${event.chosen.model}`);
                }
              },
              end: (record, error) => {
                endSpan(span, record, error);
                if (recordMetrics) {
                  record_(options.meter ?? metrics.getMeter('rxllm'), record, {
                    [GEN_AI.OPERATION_NAME]: operation,
                    ...providerAttrs(record.provider),
                    [GEN_AI.REQUEST_MODEL]: record.requestModel,
                    [GEN_AI.RESPONSE_MODEL]: record.model,
                  });
                }
              },
            },
          );
          // The upstream runs in the span's context; what it emits is delivered back in the caller's, so
          // a policy downstream (a fallback subscribing the next candidate) does not nest under this span.
          // `takeWhile` stops a synchronous upstream as soon as the subscriber has left (a `take(n)` below).
          return otelContext.with(active, () =>
            tracked.pipe(takeWhile(() => !subscriber.closed)).subscribe({
              next: (event) => otelContext.with(parent, () => subscriber.next(event)),
              error: (error: unknown) => otelContext.with(parent, () => subscriber.error(error)),
              complete: () => otelContext.with(parent, () => subscriber.complete()),
            }),
          );
        }),
    );
}

function requestAttributes(request: ChatRequest): Attributes {
  const attributes: Attributes = {};
  if (request.maxTokens !== undefined) attributes[GEN_AI.REQUEST_MAX_TOKENS] = request.maxTokens;
  if (request.temperature !== undefined) attributes[GEN_AI.REQUEST_TEMPERATURE] = request.temperature;
  if (request.topP !== undefined) attributes[GEN_AI.REQUEST_TOP_P] = request.topP;
  if (request.stop !== undefined && request.stop.length > 0) {
    attributes[GEN_AI.REQUEST_STOP_SEQUENCES] = request.stop.map((s) => redactSecrets(s));
  }
  return attributes;
}

function onEvent(span: Span, event: TokenEvent, providerAttrs: (provider: string) => Attributes): void {
  switch (event.type) {
    case 'start':
      span.setAttributes({
        ...providerAttrs(event.provider),
        [GEN_AI.RESPONSE_MODEL]: event.responseModel ?? event.model,
        ...(event.id !== undefined && { [GEN_AI.RESPONSE_ID]: event.id }),
      });
      return;
    case 'route':
      span.addEvent('rxllm.route', {
        'rxllm.route.chosen': `${event.chosen.provider}/${event.chosen.model}`,
        'rxllm.route.fallbacks': event.fallbacks.map((f) => `${f.provider}/${f.model}`),
        'rxllm.route.estimated_cost': event.estimatedCost,
      });
      return;
    case 'fallback':
    case 'reset':
      span.addEvent(`rxllm.${event.type}`, {
        ...providerAttrs(event.from.provider),
        [GEN_AI.REQUEST_MODEL]: event.from.model,
        [GEN_AI.ERROR_TYPE]: event.error.kind,
      });
      return;
    case 'object':
    case 'element':
    case 'tool-result':
    case 'tool-approval':
    case 'step':
    case 'text':
    case 'reasoning':
    case 'tool-call-delta':
    case 'tool-call':
    case 'usage':
    case 'finish':
      return;
    default:
      assertNever(event);
  }
}

function endSpan(span: Span, record: CallMetrics, error: LLMError | undefined): void {
  const attributes: Attributes = {
    // The response model of the answer the subscriber kept (after a fallback, the last `start`'s).
    [GEN_AI.RESPONSE_MODEL]: record.model,
    ...vendorUsage(record),
    [GEN_AI.COST]: record.cost,
    [GEN_AI.OUTCOME]: record.outcome,
    [GEN_AI.FALLBACKS]: record.fallbacks,
  };
  if (record.cachedInputTokens !== undefined && record.usageEstimated !== true) {
    attributes[GEN_AI.USAGE_CACHE_READ_INPUT_TOKENS] = record.cachedInputTokens;
  }
  if (record.finishReason !== undefined) {
    attributes[GEN_AI.RESPONSE_FINISH_REASONS] = [record.rawFinishReason ?? record.finishReason];
  }
  if (record.timeToFirstTokenMs !== undefined)
    attributes[GEN_AI.TIME_TO_FIRST_TOKEN_MS] = record.timeToFirstTokenMs;
  if (record.outcome !== 'success') attributes[GEN_AI.ERROR_TYPE] = record.errorKind ?? '_OTHER';
  span.setAttributes(attributes);
  if (record.outcome === 'error') {
    const message = redactSecrets(error?.message ?? 'error');
    span.recordException({ name: 'LLMError', message, code: record.errorKind ?? 'unknown' });
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

/**
 * The usage attributes the vendor reported: none when it reported nothing (a failed or abandoned call)
 * or when the counts are rxllm's estimate, since `gen_ai.usage.*` means the vendor's count.
 */
function vendorUsage(record: CallMetrics): { [key: string]: number } {
  if (record.inputTokens === undefined || record.outputTokens === undefined || record.usageEstimated === true)
    return {};
  return {
    [GEN_AI.USAGE_INPUT_TOKENS]: record.inputTokens,
    [GEN_AI.USAGE_OUTPUT_TOKENS]: record.outputTokens,
  };
}

function record_(meter: Meter, record: CallMetrics, base: Attributes): void {
  const { duration, tokens, ttft, cost } = instrumentsOf(meter);
  const withError =
    record.outcome === 'success' ? base : { ...base, [GEN_AI.ERROR_TYPE]: record.errorKind ?? '_OTHER' };
  duration.record(record.durationMs / 1000, withError);
  const usage = vendorUsage(record);
  const input = usage[GEN_AI.USAGE_INPUT_TOKENS];
  const output = usage[GEN_AI.USAGE_OUTPUT_TOKENS];
  if (input !== undefined && output !== undefined) {
    tokens.record(input, { ...base, [GEN_AI.TOKEN_TYPE]: 'input' });
    tokens.record(output, { ...base, [GEN_AI.TOKEN_TYPE]: 'output' });
  }
  if (record.timeToFirstTokenMs !== undefined) ttft.record(record.timeToFirstTokenMs / 1000, base);
  if (record.cost > 0) cost.add(record.cost, base);
}
