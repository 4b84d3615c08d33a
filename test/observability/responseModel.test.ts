import { concat, NEVER, type Observable, of, take, throwError } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import type { CallMetrics } from '../../src/observability/metrics.js';
import { withMetrics } from '../../src/observability/metrics.js';
import { withTelemetry } from '../../src/observability/otel.js';
import { finish, text } from '../operators/support.js';
import { installOtel, type OtelBackend } from './otelSupport.js';

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
const started: TokenEvent = {
  type: 'start',
  provider: 'openai',
  model: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini-2024-07-18',
};
const modelOf = (events: () => Observable<TokenEvent>) =>
  defineModel({ provider: 'openai', model: 'gpt-4o-mini', stream: () => events() });

describe('telemetry names the model that answered and leaves unknown usage out', () => {
  let otel: OtelBackend;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(() => otel.uninstall());

  it('reports start.responseModel as the response model on metrics$, spans and metric attributes', async () => {
    const records: CallMetrics[] = [];
    const model = modelOf(() => of(started, text('a'), finish(1))).pipe(
      withMetrics((r) => records.push(r)),
      withTelemetry(),
    );
    await collect(model.stream(request));
    expect(records[0]).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', requestModel: 'gpt-4o-mini' });
    expect(otel.tracer.spans[0]?.attributes).toMatchObject({
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 1,
    });
    for (const m of otel.meter.measurements) {
      expect(m.attributes['gen_ai.response.model']).toBe('gpt-4o-mini-2024-07-18');
    }
  });

  it('falls back to the model asked for when the vendor names none', async () => {
    const records: CallMetrics[] = [];
    const { responseModel: _, ...plain } = started as Extract<TokenEvent, { type: 'start' }>;
    await collect(
      modelOf(() => of(plain, text('a'), finish(1)))
        .pipe(withMetrics((r) => records.push(r)))
        .stream(request),
    );
    expect(records[0]?.model).toBe('gpt-4o-mini');
  });

  it('leaves usage out of a failed call and an abandoned one (not 0 and 0)', async () => {
    const records: CallMetrics[] = [];
    const failing = modelOf(() =>
      concat(
        of(started, text('a')),
        throwError(() => new LLMError('network', 'reset', { provider: 'openai' })),
      ),
    ).pipe(
      withMetrics((r) => records.push(r)),
      withTelemetry(),
    );
    await expect(collect(failing.stream(request))).rejects.toMatchObject({ kind: 'network' });
    const abandoned = modelOf(() => concat(of(started, text('a')), NEVER)).pipe(
      withMetrics((r) => records.push(r)),
      withTelemetry(),
    );
    abandoned.stream(request).pipe(take(2)).subscribe();
    expect(records.map((r) => r.outcome)).toEqual(['error', 'aborted']);
    for (const record of records) {
      expect(record).not.toHaveProperty('inputTokens');
      expect(record).not.toHaveProperty('outputTokens');
    }
    for (const span of otel.tracer.spans) {
      expect(span.attributes).not.toHaveProperty('gen_ai.usage.input_tokens');
      expect(span.attributes).not.toHaveProperty('gen_ai.usage.output_tokens');
    }
    expect(otel.meter.measurements.filter((m) => m.instrument === 'gen_ai.client.token.usage')).toEqual([]);
  });

  it('keeps usage the vendor reported before a failure', async () => {
    const records: CallMetrics[] = [];
    const usage: TokenEvent = { type: 'usage', usage: { inputTokens: 7, outputTokens: 3 } };
    const model = modelOf(() =>
      concat(
        of(started, text('a'), usage),
        throwError(() => new LLMError('network', 'reset')),
      ),
    ).pipe(withMetrics((r) => records.push(r)));
    await expect(collect(model.stream(request))).rejects.toBeInstanceOf(LLMError);
    expect(records[0]).toMatchObject({ inputTokens: 7, outputTokens: 3 });
  });

  it('keeps estimated counts on metrics$ (marked) but off the span and the token metric', async () => {
    const records: CallMetrics[] = [];
    const estimated: TokenEvent = {
      type: 'finish',
      reason: 'stop',
      usage: { inputTokens: 9, outputTokens: 4, estimated: true },
      cost: { input: 0, output: 0, total: 0 },
    };
    const model = modelOf(() => of(started, text('a'), estimated)).pipe(
      withMetrics((r) => records.push(r)),
      withTelemetry(),
    );
    await collect(model.stream(request));
    expect(records[0]).toMatchObject({ inputTokens: 9, outputTokens: 4, usageEstimated: true });
    expect(otel.tracer.spans[0]?.attributes).not.toHaveProperty('gen_ai.usage.input_tokens');
    expect(otel.meter.measurements.filter((m) => m.instrument === 'gen_ai.client.token.usage')).toEqual([]);
  });
});
