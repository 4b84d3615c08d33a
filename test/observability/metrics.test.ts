import { of, Subject, take, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { defineModel } from '../../src/core/model.js';
import { collect } from '../../src/helpers/collect.js';
import { type CallMetrics, createMetrics, withMetrics } from '../../src/observability/metrics.js';
import { metricsFamilies, renderPrometheus } from '../../src/observability/prometheus.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };

function virtual(): TestScheduler {
  return new TestScheduler((a, b) => expect(a).toEqual(b));
}

describe('withMetrics / createMetrics', () => {
  it('records provider, model, tokens, cost, time to first token and duration on the scheduler clock', () => {
    const scheduler = virtual();
    scheduler.run(({ flush }) => {
      const metrics = createMetrics({ scheduler });
      const model = scriptedModel({
        provider: 'openai',
        model: 'gpt-4o-mini',
        scheduler,
        pricing: { input: 1, output: 2 },
        scripts: [
          {
            text: 'a b c',
            firstTokenDelayMs: 30,
            tokenDelayMs: 10,
            usage: { inputTokens: 7, outputTokens: 3 },
          },
        ],
      });
      const seen: CallMetrics[] = [];
      metrics.metrics$.subscribe((m) => seen.push(m));
      model.pipe(metrics.policy()).stream(request).subscribe();
      flush();
      expect(seen).toEqual([
        {
          provider: 'openai',
          model: 'gpt-4o-mini',
          requestModel: 'gpt-4o-mini',
          startedAt: 0,
          durationMs: 50,
          timeToFirstTokenMs: 30,
          inputTokens: 7,
          outputTokens: 3,
          cost: expect.closeTo(13e-6, 12),
          outcome: 'success',
          finishReason: 'stop',
          fallbacks: 0,
          resets: 0,
          cached: false,
        },
      ]);
      const snap = metrics.snapshot();
      expect(snap.totals).toEqual({
        calls: 1,
        errors: 0,
        inputTokens: 7,
        outputTokens: 3,
        cost: expect.closeTo(13e-6, 12),
      });
      expect(snap.series[0]?.duration.counts.slice(0, 4)).toEqual([0, 0, 0, 1]); // 50 ms ≤ 80
      expect(snap.series[0]?.timeToFirstToken.sum).toBe(30);
    });
  });

  it('records an error with its kind and status, and no message', async () => {
    const seen: CallMetrics[] = [];
    const failing = defineModel({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      stream: () =>
        throwError(
          () =>
            new LLMError('rate_limit', 'slow down sk-should-not-matter', {
              status: 429,
              provider: 'anthropic',
              model: 'claude-haiku-4-5',
            }),
        ),
    });
    await expect(collect(failing.pipe(withMetrics((m) => seen.push(m))).stream(request))).rejects.toThrow();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      outcome: 'error',
      errorKind: 'rate_limit',
      status: 429,
      provider: 'anthropic',
    });
    expect(JSON.stringify(seen[0])).not.toContain('slow down');
  });

  it('a completion without finish is an incomplete error; an unsubscribe is aborted; fallbacks are counted', () => {
    const seen: CallMetrics[] = [];
    const sink = (m: CallMetrics) => seen.push(m);
    const truncated = defineModel({
      provider: 'p',
      model: 'm',
      stream: () =>
        of(
          { type: 'start', provider: 'p', model: 'm' } as TokenEvent,
          { type: 'text', text: 'x' } as TokenEvent,
        ),
    });
    truncated
      .pipe(withMetrics(sink))
      .stream(request)
      .subscribe({ error: () => undefined });
    const live = new Subject<TokenEvent>();
    const stalled = defineModel({ provider: 'q', model: 'n', stream: () => live });
    const sub = stalled.pipe(withMetrics(sink)).stream(request).subscribe();
    live.next({
      type: 'fallback',
      from: { provider: 'p', model: 'm' },
      error: new LLMError('overloaded', 'busy'),
    });
    live.next({ type: 'start', provider: 'q', model: 'n-2025' });
    sub.unsubscribe();
    expect(seen.map((m) => [m.outcome, m.errorKind, m.provider, m.model, m.fallbacks])).toEqual([
      ['error', 'incomplete', 'p', 'm', 0],
      ['aborted', 'aborted', 'q', 'n-2025', 1],
    ]);
  });

  it('a synchronous source cut by take records one aborted call', () => {
    const seen: CallMetrics[] = [];
    const model = scriptedModel({ scripts: [{ text: 'a b c d' }] });
    model
      .pipe(withMetrics((m) => seen.push(m)))
      .stream(request)
      .pipe(take(2))
      .subscribe();
    expect(seen.map((m) => m.outcome)).toEqual(['aborted']);
    expect(model.active()).toBe(0);
  });

  it('a sink that throws never breaks the call', async () => {
    const model = scriptedModel({ scripts: [{ text: 'fine' }] });
    const done = await collect(
      model
        .pipe(
          withMetrics(() => {
            throw new Error('sink down');
          }),
        )
        .stream(request),
    );
    expect(done.text).toBe('fine');
  });

  it('renders the snapshot in the Prometheus text format', async () => {
    const metrics = createMetrics();
    const model = scriptedModel({
      provider: 'openai',
      model: 'gpt "x"\\y',
      scripts: [{ text: 'a' }, { fail: 'overloaded' }],
    });
    const measured = model.pipe(metrics.policy());
    await collect(measured.stream(request));
    await collect(measured.stream(request)).catch(() => undefined);
    const text = renderPrometheus(metricsFamilies(metrics.snapshot()));
    expect(text).toContain('# TYPE rxllm_requests_total counter');
    expect(text).toContain(
      'rxllm_requests_total{provider="openai",model="gpt \\"x\\"\\\\y",outcome="success"} 1',
    );
    expect(text).toContain(
      'rxllm_errors_total{provider="openai",model="gpt \\"x\\"\\\\y",kind="overloaded"} 1',
    );
    expect(text).toContain('# TYPE rxllm_request_duration_seconds histogram');
    expect(text).toMatch(
      /rxllm_request_duration_seconds_bucket\{provider="openai",model="[^}]*",le="\+Inf"\} 2/,
    );
    expect(text).toMatch(/rxllm_request_duration_seconds_count\{[^}]*\} 2/);
    expect(text.endsWith('\n')).toBe(true);
    // Every non-comment line is `name{labels} value`.
    for (const line of text.trim().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{.*\})? [-+0-9.eInfNa]+$/);
    }
  });

  it('keeps a bounded list of recent records and can be reset', async () => {
    const metrics = createMetrics({ keepRecent: 2 });
    const model = scriptedModel().pipe(metrics.policy());
    for (let i = 0; i < 3; i++) await collect(model.stream(request));
    expect(metrics.recent()).toHaveLength(2);
    metrics.reset();
    expect(metrics.snapshot().series).toEqual([]);
    expect(metrics.recent()).toEqual([]);
  });
});
