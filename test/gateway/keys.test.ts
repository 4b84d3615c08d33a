/** Virtual keys: who may call, through which models, within which budget and rate, counted per key. */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { hashKey, newKey } from '../../src/server/keys.js';
import type { Simulator } from '../../src/testing/simulator/server.js';
import { gatewayConfig, generate, hello, type Running, simulator, startGateway } from './support.js';

const ALICE = newKey();
const BOB = newKey();
const CAROL = newKey();

const KEYS = `
server:
  keys:
    - name: alice
      hash: ${hashKey(ALICE)}
      budget: { limits: { day: 5 } }
    - name: bob
      hash: ${hashKey(BOB)}
      models: [backup]
      rateLimit: { requestsPerMinute: 1, maxWaitMs: 0 }
    - name: carol
      hash: ${hashKey(CAROL)}
      budget: { perRequest: 0.000000001, onShortfall: reject }
`;

describe('virtual keys', () => {
  let sim: Simulator;
  let running: Running;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${running.url}/v1`, apiKey, maxRetries: 0 });
  const ask = (apiKey: string, model = 'rxllm') =>
    client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  beforeAll(async () => {
    sim = await simulator();
    running = await startGateway(sim, gatewayConfig(KEYS));
  });
  afterAll(async () => {
    await running.gateway.close();
    await sim.close();
  });
  beforeEach(() => sim.handle(() => ({ text: 'ok then' })));

  it('refuses a request without a valid key (401), leaves health and metrics open', async () => {
    await expect(ask('sk-rxllm-not-a-key')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    const bare = await fetch(`${running.url}/v1/models`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    expect((await generate(running.url, hello)).status).toBe(401);
    expect((await fetch(`${running.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/metrics`)).status).toBe(200);
  });

  it('serves a valid key by bearer token and by x-api-key', async () => {
    expect((await ask(ALICE)).choices[0]!.message.content).toBe('ok then');
    const res = await generate(running.url, { ...hello, stream: false }, { headers: { 'x-api-key': ALICE } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: 'ok then' });
  });

  it('keeps a key to its models: listed, served, and everything else unknown', async () => {
    const models = [];
    for await (const m of client(BOB).models.list()) models.push(m.id);
    expect(models).toEqual(['backup']);
    await expect(ask(BOB, 'rxllm')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(ask(BOB, 'primary')).rejects.toMatchObject({ status: 404 });
    // /v1/generate (no model field) routes over the key's providers only.
    const before = sim.requests.length;
    const res = await generate(running.url, { ...hello, stream: false }, { headers: { 'x-api-key': BOB } });
    expect(await res.json()).toMatchObject({ provider: 'backup' });
    expect(sim.requests.slice(before).map((r) => r.protocol)).toEqual(['anthropic']);
  });

  it("limits a key's rate with its own bucket (429 with retry-after), not the others'", async () => {
    // bob spent his one request a minute in the test before.
    const error = await ask(BOB, 'backup').then(
      () => undefined,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'rate_limit' });
    expect(Number(error!.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect((await ask(ALICE)).choices).toHaveLength(1);
  });

  it('holds a key to its own budget (402), before anything goes upstream', async () => {
    const before = sim.requests.length;
    await expect(
      client(CAROL).chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 500,
      }),
    ).rejects.toMatchObject({ status: 402, code: 'budget' });
    expect(sim.requests.length).toBe(before);
  });

  it('reports figures per key in /metrics, and never a key', async () => {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toMatch(
      /rxllm_key_requests_total\{key="alice",provider="primary",model="gpt-4o-mini",outcome="success"\} [1-9]/,
    );
    expect(text).toMatch(/rxllm_key_errors_total\{key="carol",[^}]*kind="budget"\} 1/);
    expect(text).toMatch(/rxllm_key_budget_limit_usd\{key="alice",period="day"\} 5/);
    expect(text).toMatch(/rxllm_key_budget_spent_usd\{key="alice",period="day"\} [0-9.e-]+/);
    for (const key of [ALICE, BOB, CAROL]) expect(text).not.toContain(key);
  });

  it('validates keys in the configuration, naming the field', () => {
    const parse = (keys: string) => () =>
      parseConfig(gatewayConfig(`server:\n  keys:\n${keys}`), {
        env: { SIM: 'http://127.0.0.1:1', OPENAI_KEY: 'k', ANTHROPIC_KEY: 'k' },
      });
    const issues = (keys: string) => {
      try {
        parse(keys)();
      } catch (error) {
        if (ConfigError.isInstance(error)) return error.issues.map((i) => i.path);
        throw error;
      }
      return [];
    };
    const h = hashKey('a');
    expect(issues(`    - { name: a, hash: md5:abc }`)).toEqual(['server.keys[0].hash']);
    expect(issues(`    - { name: a, hash: ${h} }\n    - { name: a, hash: ${hashKey('b')} }`)).toEqual([
      'server.keys[1].name',
    ]);
    expect(issues(`    - { name: a, hash: ${h}, models: [primary, gpt-9] }`)).toEqual([
      'server.keys[0].models[1]',
    ]);
    expect(issues(`    - { name: a, hash: ${h}, models: [rxllm, backup, gpt-4o-mini] }`)).toEqual([]);
  });
});
