/**
 * A tiny in-test OpenTelemetry backend implementing the `@opentelemetry/api` interfaces (no SDK):
 * recording spans, recording histograms and counters, and a synchronous context manager.
 */
import {
  type Attributes,
  type Context,
  context,
  type ContextManager,
  type Counter,
  createNoopMeter,
  type Exception,
  type Histogram,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  ROOT_CONTEXT,
  type Span,
  type SpanAttributeValue,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  trace,
  TraceFlags,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

let ids = 0;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

export class RecordingSpan implements Span {
  readonly attributes: Record<string, SpanAttributeValue> = {};
  readonly events: { name: string; attributes: Attributes }[] = [];
  readonly exceptions: Exception[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  private readonly context: SpanContext;

  constructor(
    public name: string,
    readonly kind: SpanKind,
    readonly parentSpanId: string | undefined,
    traceId: string | undefined,
  ) {
    const n = ++ids;
    this.context = { traceId: traceId ?? hex(n, 32), spanId: hex(n, 16), traceFlags: TraceFlags.SAMPLED };
  }
  spanContext(): SpanContext {
    return this.context;
  }
  setAttribute(key: string, value: SpanAttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) this.attributes[k] = v;
    return this;
  }
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput): this {
    const attributes =
      typeof attributesOrTime === 'object' &&
      !Array.isArray(attributesOrTime) &&
      !(attributesOrTime instanceof Date)
        ? (attributesOrTime as Attributes)
        : {};
    this.events.push({ name, attributes });
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(name: string): this {
    this.name = name;
    return this;
  }
  end(): void {
    this.ended = true;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: Exception): void {
    this.exceptions.push(exception);
  }
}

export class RecordingTracer implements Tracer {
  readonly spans: RecordingSpan[] = [];
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = trace.getSpan(ctx)?.spanContext();
    const span = new RecordingSpan(name, options.kind ?? SpanKind.INTERNAL, parent?.spanId, parent?.traceId);
    if (options.attributes) span.setAttributes(options.attributes);
    this.spans.push(span);
    return span;
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = (rest.length > 1 ? rest[0] : {}) as SpanOptions;
    const span = this.startSpan(name, options);
    return context.with(trace.setSpan(context.active(), span), () => fn(span)) as ReturnType<F>;
  }
}

export interface Measurement {
  readonly instrument: string;
  readonly kind: 'histogram' | 'counter';
  readonly value: number;
  readonly attributes: Attributes;
  readonly unit: string | undefined;
}

export class RecordingMeter implements Meter {
  readonly measurements: Measurement[] = [];
  private readonly noop = createNoopMeter();
  createHistogram(name: string, options?: { unit?: string }): Histogram {
    return {
      record: (value, attributes = {}) =>
        void this.measurements.push({
          instrument: name,
          kind: 'histogram',
          value,
          attributes,
          unit: options?.unit,
        }),
    };
  }
  createCounter(name: string, options?: { unit?: string }): Counter {
    return {
      add: (value, attributes = {}) =>
        void this.measurements.push({
          instrument: name,
          kind: 'counter',
          value,
          attributes,
          unit: options?.unit,
        }),
    };
  }
  createGauge: Meter['createGauge'] = (...a) => this.noop.createGauge(...a);
  createUpDownCounter: Meter['createUpDownCounter'] = (...a) => this.noop.createUpDownCounter(...a);
  createObservableGauge: Meter['createObservableGauge'] = (...a) => this.noop.createObservableGauge(...a);
  createObservableCounter: Meter['createObservableCounter'] = (...a) =>
    this.noop.createObservableCounter(...a);
  createObservableUpDownCounter: Meter['createObservableUpDownCounter'] = (...a) =>
    this.noop.createObservableUpDownCounter(...a);
  addBatchObservableCallback: Meter['addBatchObservableCallback'] = () => undefined;
  removeBatchObservableCallback: Meter['removeBatchObservableCallback'] = () => undefined;
}

/** A synchronous context manager: enough for spans to nest within `context.with`. */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

export interface OtelBackend {
  readonly tracer: RecordingTracer;
  readonly meter: RecordingMeter;
  /** Removes the global providers again. */
  uninstall(): void;
}

/** Registers recording providers as the global ones (`trace.setGlobalTracerProvider`, …). */
export function installOtel(): OtelBackend {
  const tracer = new RecordingTracer();
  const meter = new RecordingMeter();
  const tracerProvider: TracerProvider = { getTracer: () => tracer };
  const meterProvider: MeterProvider = { getMeter: () => meter };
  trace.disable();
  metrics.disable();
  context.disable();
  if (!context.setGlobalContextManager(new StackContextManager())) throw new Error('context manager not set');
  if (!trace.setGlobalTracerProvider(tracerProvider)) throw new Error('tracer provider not set');
  if (!metrics.setGlobalMeterProvider(meterProvider)) throw new Error('meter provider not set');
  return {
    tracer,
    meter,
    uninstall() {
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}
