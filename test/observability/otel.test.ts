import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { registerSecret } from '../../src/core/redact.js';
import { collect } from '../../src/helpers/collect.js';
import { GEN_AI, withTelemetry } from '../../src/observability/otel.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { route } from '../../src/routing/route.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { installOtel, type OtelBackend } from './otelSupport.js';

const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 50, temperature: 0.2 };

describe('withTelemetry', () => {
  let otel: OtelBackend;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(() => otel.uninstall());

  it('opens one CLIENT span per call with the GenAI attributes and records the client metrics', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ flush }) => {
      const model = scriptedModel({
        provider: 'openai',
        model: 'gpt-4o-mini',
        scheduler,
        pricing: { input: 1, output: 1 },
        scripts: [
          {
            text: 'a b',
            firstTokenDelayMs: 250,
            tokenDelayMs: 500,
            usage: { inputTokens: 12, outputTokens: 2 },
          },
        ],
      });
      model.pipe(withTelemetry({ scheduler })).stream(request).subscribe();
      flush();
    });
    expect(otel.tracer.spans).toHaveLength(1);
    const span = otel.tracer.spans[0]!;
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.ended).toBe(true);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 2,
      'rxllm.outcome': 'success',
      'rxllm.response.time_to_first_token_ms': 250,
    });
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.attributes['gen_ai.system']).toBeUndefined();

    const byName = (name: string) => otel.meter.measurements.filter((m) => m.instrument === name);
    const base = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
    };
    expect(byName('gen_ai.client.operation.duration')).toEqual([
      {
        instrument: 'gen_ai.client.operation.duration',
        kind: 'histogram',
        value: 0.75,
        attributes: base,
        unit: 's',
      },
    ]);
    expect(
      byName('gen_ai.client.token.usage').map((m) => [m.value, m.attributes['gen_ai.token.type'], m.unit]),
    ).toEqual([
      [12, 'input', '{token}'],
      [2, 'output', '{token}'],
    ]);
    expect(byName('gen_ai.client.operation.time_to_first_chunk').map((m) => m.value)).toEqual([0.25]);
    expect(byName('rxllm.client.cost').map((m) => m.value)).toEqual([14e-6]);
  });

  it('marks a failure with error.type = kind and status ERROR, with a redacted message', async () => {
    registerSecret('otel-SECRET-MARKER-9876');
    const failing = scriptedModel({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      scripts: [{ fail: 'auth' }],
    });
    const keyed = defineModel({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      stream: (r) => failing.stream({ ...r, model: 'otel-SECRET-MARKER-9876' }),
    });
    await expect(collect(keyed.pipe(withTelemetry()).stream(request))).rejects.toMatchObject({
      kind: 'auth',
    });
    const span = otel.tracer.spans[0]!;
    expect(span.attributes['error.type']).toBe('auth');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.exceptions[0]).toMatchObject({ name: 'LLMError', code: 'auth' });
    expect(JSON.stringify({ span, m: otel.meter.measurements })).not.toContain('otel-SECRET-MARKER-9876');
    const duration = otel.meter.measurements.find((m) => m.instrument === 'gen_ai.client.operation.duration');
    expect(duration?.attributes['error.type']).toBe('auth');
  });

  it('nests per-attempt spans under the call span and records fallbacks as span events', async () => {
    const first = scriptedModel({
      provider: 'openai',
      model: 'gpt-4o-mini',
      scripts: [{ fail: 'overloaded' }],
    });
    const second = scriptedModel({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      scripts: [{ text: 'ok' }],
    });
    const [a, b] = [first, second].map((m) => m.pipe(withTelemetry()));
    const pipeline = a!.pipe(
      withFallback({ candidates: [b!] }),
      withTelemetry({ legacySystemAttribute: true }),
    );
    const done = await collect(pipeline.stream(request));
    expect(done.provider).toBe('gemini');
    const [outer, ...inner] = [...otel.tracer.spans];
    expect(outer?.name).toBe('chat gpt-4o-mini');
    expect(inner.map((s) => [s.attributes['gen_ai.provider.name'], s.parentSpanId])).toEqual([
      ['openai', outer?.spanContext().spanId],
      ['gcp.gemini', outer?.spanContext().spanId],
    ]);
    expect(inner[0]?.attributes['error.type']).toBe('overloaded');
    // The call span is attributed to the provider that answered, with the legacy attribute too.
    expect(outer?.attributes).toMatchObject({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.system': 'gcp.gemini',
      'rxllm.fallbacks': 1,
    });
    expect(outer?.events).toEqual([
      {
        name: 'rxllm.fallback',
        attributes: {
          'gen_ai.provider.name': 'openai',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'error.type': 'overloaded',
        },
      },
    ]);
  });

  it('behind routing, names the span after the model the router chose', async () => {
    const a = scriptedModel({ provider: 'openai', model: 'gpt-4o-mini', scripts: [{ text: 'hi' }] });
    const b = scriptedModel({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    const routed = route()([a, b]);
    await collect(routed.pipe(withTelemetry()).stream({ messages: [{ role: 'user', content: 'x' }] }));
    const span = otel.tracer.spans[0]!;
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(span.events.map((e) => e.name)).toEqual(['rxllm.route']);
    const duration = otel.meter.measurements.find((m) => m.instrument === 'gen_ai.client.operation.duration');
    expect(duration?.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
  });

  it('ends the span of an abandoned call with error.type aborted and status UNSET', () => {
    const live = new Subject<TokenEvent>();
    const model = defineModel({ provider: 'ollama', model: 'llama3.2', stream: () => live });
    const sub = model.pipe(withTelemetry()).stream(request).subscribe();
    live.next({ type: 'start', provider: 'ollama', model: 'llama3.2' });
    sub.unsubscribe();
    const span = otel.tracer.spans[0]!;
    expect(span.ended).toBe(true);
    expect(span.attributes).toMatchObject({ 'error.type': 'aborted', 'rxllm.outcome': 'aborted' });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(live.observed).toBe(false);
  });

  it('a synchronous source cut by take ends its span as aborted and stops the source', () => {
    const model = scriptedModel({ scripts: [{ text: 'a b c d e' }] });
    const seen: TokenEvent[] = [];
    model
      .pipe(withTelemetry())
      .stream(request)
      .pipe(take(2))
      .subscribe((e) => seen.push(e));
    expect(seen.map((e) => e.type)).toEqual(['start', 'text']);
    expect(model.active()).toBe(0);
    expect(otel.tracer.spans[0]?.attributes['rxllm.outcome']).toBe('aborted');
  });

  it('is a no-op without registered providers', async () => {
    otel.uninstall();
    const done = await collect(
      scriptedModel({ scripts: [{ text: 'fine' }] })
        .pipe(withTelemetry())
        .stream(request),
    );
    expect(done.text).toBe('fine');
    expect(otel.tracer.spans).toHaveLength(0);
  });

  it('exports its attribute names', () => {
    expect(GEN_AI.PROVIDER_NAME).toBe('gen_ai.provider.name');
    expect(GEN_AI.METRIC_TOKEN_USAGE).toBe('gen_ai.client.token.usage');
  });
});
