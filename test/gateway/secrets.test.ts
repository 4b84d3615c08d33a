/**
 * The secret-leak test: keys set to marker strings, a run with faults through the whole stack (config →
 * pipeline → gateway → simulator), and every error, log line, event, metric, span attribute and status
 * response checked for the markers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../../src/helpers/collect.js';
import type { CallMetrics } from '../../src/observability/metrics.js';
import { createLogger, type LogRecord } from '../../src/observability/logger.js';
import type { Scenario } from '../../src/testing/simulator/scenario.js';
import type { Simulator } from '../../src/testing/simulator/server.js';
import { installOtel, type OtelBackend } from '../observability/otelSupport.js';
import {
  ANTHROPIC_KEY,
  gatewayConfig,
  generate,
  hello,
  OPENAI_KEY,
  type Running,
  simulator,
  startGateway,
} from './support.js';

const MARKERS = [OPENAI_KEY, ANTHROPIC_KEY];

/** Every string reachable from `value` (own and prototype-less props, causes, arrays), for the scan. */
function dump(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object' && typeof value !== 'function') return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  const parts: string[] = [];
  if (value instanceof Error)
    parts.push(value.name, value.message, value.stack ?? '', dump(value.cause, seen));
  for (const key of Object.getOwnPropertyNames(value)) {
    parts.push(key, dump((value as Record<string, unknown>)[key], seen));
  }
  return parts.join('\n');
}

describe('no secret leaks', () => {
  let sim: Simulator;
  let running: Running;
  let otel: OtelBackend;
  const lines: LogRecord[] = [];
  const records: CallMetrics[] = [];
  const outputs: string[] = [];

  beforeAll(async () => {
    otel = installOtel();
    sim = await simulator();
    const logger = createLogger((r) => lines.push(r), { level: 'debug' });
    running = await startGateway(
      sim,
      gatewayConfig(
        'observability: { otel: true, legacySystemAttribute: true }\nbudget: { limits: { day: 5 } }\ncircuitBreaker: { consecutiveFailures: 100 }',
      ),
      { build: { logger }, gateway: { logger, heartbeatMs: 0 } },
    );
    running.pipeline.handles.metrics.metrics$.subscribe((m) => records.push(m));
  });
  afterAll(async () => {
    await running.gateway.close();
    await sim.close();
    otel.uninstall();
  });

  const echo = (key: string) => `Incorrect API key provided: ${key}. Authorization: Bearer ${key}`;
  const runs: readonly [string, (protocol: string) => Scenario, boolean][] = [
    [
      'auth errors echoing the key',
      () => ({ fault: { type: 'status', status: 401, message: echo(OPENAI_KEY) } }),
      false,
    ],
    [
      'rate limits echoing the key, then the backup echoing its own',
      (p) =>
        p === 'openai'
          ? { fault: { type: 'status', status: 429, retryAfter: 1, message: echo(OPENAI_KEY) } }
          : { fault: { type: 'status', status: 529, message: echo(ANTHROPIC_KEY) } },
      true,
    ],
    [
      'an in-stream error echoing the key before content, then success',
      (p) =>
        p === 'openai'
          ? { fault: { type: 'error-event', tokens: 0, error: 'server', message: echo(OPENAI_KEY) } }
          : { text: 'fine' },
      true,
    ],
    [
      'an in-stream error after content',
      () => ({
        text: 'a b c',
        fault: { type: 'error-event', tokens: 2, error: 'server', message: echo(OPENAI_KEY) },
      }),
      true,
    ],
    ['a reset mid-stream', () => ({ text: 'a b c d', fault: { type: 'reset-after', tokens: 1 } }), false],
    ['malformed frames', () => ({ text: 'a b', fault: { type: 'malformed', tokens: 1 } }), true],
  ];

  it.each(runs)('%s: no marker in any response, over SSE and JSON', async (_name, scenario, stream) => {
    sim.handle((r) => scenario(r.protocol));
    for (const mode of [stream, !stream]) {
      const res = await generate(running.url, { ...hello, stream: mode });
      outputs.push(`${res.status} ${JSON.stringify([...res.headers])}\n${await res.text()}`);
    }
    // The same pipeline in process: events and the thrown error (with its cause chain).
    const direct = await collect(running.pipeline.model.stream({ messages: hello.messages as never })).then(
      (done) => done,
      (error: unknown) => error,
    );
    outputs.push(dump(direct));
  });

  it('the keys reached the vendors (so the test is not vacuous)', () => {
    expect(sim.requests.some((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(true);
    expect(sim.requests.some((r) => r.headers['x-api-key'] === ANTHROPIC_KEY)).toBe(true);
  });

  it('and nowhere else: responses, status, metrics, logs, metric records, spans and OTel measurements', async () => {
    outputs.push(await (await fetch(`${running.url}/v1/status`)).text());
    outputs.push(await (await fetch(`${running.url}/metrics`)).text());
    outputs.push(JSON.stringify(await running.pipeline.status()));
    const haystacks: [string, string][] = [
      ['responses', outputs.join('\n')],
      ['log lines', JSON.stringify(lines)],
      ['metric records', JSON.stringify(records)],
      ['metric snapshot', JSON.stringify(running.pipeline.handles.metrics.snapshot())],
      ['spans', dump(otel.tracer.spans)],
      ['otel measurements', JSON.stringify(otel.meter.measurements)],
    ];
    expect(lines.length).toBeGreaterThan(5);
    expect(records.length).toBeGreaterThan(5);
    expect(otel.tracer.spans.length).toBeGreaterThan(5);
    expect(otel.tracer.spans.some((s) => s.attributes['error.type'] !== undefined)).toBe(true);
    expect(outputs.join('\n')).toContain('[REDACTED]'); // the echoed keys were there, and were redacted
    expect(outputs.join('\n')).toContain('"kind":"auth"');
    expect(dump(otel.tracer.spans)).toContain('Incorrect API key provided'); // exception messages were recorded
    for (const [where, text] of haystacks) {
      for (const marker of MARKERS) expect(text.includes(marker), `${where} contain ${marker}`).toBe(false);
    }
  });
});
