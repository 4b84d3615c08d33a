import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../../src/providers/shared/options.js';
import type { Fault, SimErrorKind } from '../../../src/testing/simulator/scenario.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import { openaiCompatible } from '../../../src/providers/openai/index.js';
import { outcome } from '../support.js';
import { errorShape } from '../openai/run.js';
import { REQUEST, VENDORS, wireServer, type Reply, type Vendor, type WireServer } from './wire.js';

/** One error body both transports must classify alike. */
interface Case {
  readonly name: string;
  readonly reply: Reply;
}

interface Recorded {
  readonly name: string;
  readonly status: number;
  readonly headers?: { readonly [name: string]: string };
  readonly body: string;
  readonly source: string;
}

const recorded = (vendor: string): Recorded[] =>
  JSON.parse(
    readFileSync(new URL(`../../fixtures/errors/${vendor}.json`, import.meta.url), 'utf8'),
  ) as Recorded[];

const STATUSES = [400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529];
const STREAM_ERRORS: readonly SimErrorKind[] = ['overloaded', 'server', 'rate_limit', 'invalid_request'];

/** Every error body the suite knows for a vendor: the simulator's (status and in-stream) and the recorded ones. */
function cases(vendor: Vendor): Case[] {
  const out: Case[] = [];
  for (const status of STATUSES) {
    const faults: Extract<Fault, { type: 'status' }>[] = [
      { type: 'status', status, message: `simulated ${status}` },
      { type: 'status', status, message: 'You exceeded your current quota', retryAfter: 7 },
      { type: 'status', status, message: 'prompt is too long: maximum context length', retryAfterMs: 1500 },
    ];
    for (const fault of faults) {
      const error = vendor.protocol.errorResponse(status, fault.message ?? '', fault);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
      out.push({
        name: `simulator ${status} "${fault.message}"`,
        reply: { status, headers, body: error.body },
      });
    }
  }
  const head = vendor.protocol.render(resolveScenario({ text: 'Hi' }, 'm', 10), 'parity').head.join('');
  for (const kind of STREAM_ERRORS) {
    const body = head + vendor.protocol.errorFrame(kind, `in-stream ${kind}`);
    out.push({
      name: `simulator in-stream ${kind}`,
      reply: { status: 200, headers: { 'content-type': vendor.contentType }, body },
    });
  }
  for (const r of recorded(vendor.name)) {
    out.push({
      name: `recorded ${r.name}`,
      reply: { status: r.status, ...(r.headers && { headers: r.headers }), body: r.body },
    });
  }
  return out;
}

let server: WireServer;
beforeAll(async () => {
  server = await wireServer();
});
afterAll(() => server.close());

async function errorOn(vendor: Vendor, reply: Reply, transport: Transport) {
  server.reply(reply);
  const result = await outcome(vendor.model(server.url, transport).stream(REQUEST));
  return result.error;
}

describe.each(VENDORS)('$name: one classification on both transports', (vendor) => {
  it.each(cases(vendor))('$name', async ({ reply }) => {
    const direct = await errorOn(vendor, reply, 'direct');
    const sdk = await errorOn(vendor, reply, 'sdk');
    expect(direct, 'the direct transport fails').toBeDefined();
    expect(direct?.kind).not.toBe('unknown');
    expect(errorShape(sdk)).toEqual(errorShape(direct));
  });
});

describe('errors the issue measured', () => {
  const gemini = VENDORS.find((v) => v.name === 'gemini') as Vendor;
  const body = recorded('gemini').find((r) => r.name.includes('RetryInfo')) as Recorded;

  it.each(['direct', 'sdk'] as const)(
    '%s: Gemini 429 RESOURCE_EXHAUSTED with RetryInfo is rate_limit, retryable, 28 s',
    async (transport) => {
      const error = await errorOn(gemini, { status: 429, body: body.body }, transport);
      expect(error).toMatchObject({ kind: 'rate_limit', retryable: true, retryAfterMs: 28_000, status: 429 });
    },
  );

  it.each(['direct', 'sdk'] as const)(
    '%s: a server rejecting stream_options says to set includeUsage: false',
    async (transport) => {
      const mistral = recorded('openai').find((r) => r.name.includes('stream_options')) as Recorded;
      server.reply({ status: 422, headers: { 'content-type': 'application/json' }, body: mistral.body });
      const model = openaiCompatible({
        name: 'mistral',
        baseURL: `${server.url}/v1`,
        apiKey: 'mistral-test-key-0000001',
        model: 'mistral-small-latest',
        includeUsage: true,
        transport,
      });
      const { error } = await outcome(model.stream(REQUEST));
      expect(error).toMatchObject({ kind: 'invalid_request', retryable: false, status: 422 });
      expect(error?.message).toMatch(/includeUsage: false/);
    },
  );
});
