import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { collect } from '../../src/helpers/collect.js';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { openai } from '../../src/providers/openai/index.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';

// Each vendor's base-URL variable points the provider at a proxy or a compatible host, as the vendor's SDK
// does; an explicit `baseURL` wins. The simulator stands in for the proxy: a call that reached it is
// answered, one sent to the public endpoint would fail (no network here).
const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
let sim: Simulator;

beforeAll(async () => {
  sim = await createSimulator({ protocols: [openaiProtocol, anthropicProtocol] });
});
afterAll(() => sim.close());
afterEach(() => vi.unstubAllEnvs());

describe.each([
  ['transport direct', 'direct' as const],
  ['transport sdk', 'sdk' as const],
])('base URL from the environment, %s', (_, transport) => {
  const vendors = [
    [
      'openai()',
      'OPENAI_BASE_URL',
      '/v1',
      '/v1/chat/completions',
      () => openai({ apiKey: 'sk-env-test', model: 'gpt-4o-mini', transport }),
    ],
    [
      'anthropic()',
      'ANTHROPIC_BASE_URL',
      '',
      '/v1/messages',
      () => anthropic({ apiKey: 'sk-ant-env-test', model: 'claude-haiku-4-5', transport }),
    ],
  ] as const;
  it.each(vendors)('%s calls %s', async (_name, variable, suffix, path, make) => {
    vi.stubEnv(variable, `${sim.url}${suffix}`);
    sim.enqueue({ text: 'From the proxy.' });
    const done = await collect(make().stream(request));
    expect(done.text).toBe('From the proxy.');
    expect(sim.requests.at(-1)?.path).toBe(path);
  });

  it('an explicit baseURL wins over the environment', async () => {
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1'); // discard port: nothing answers there
    sim.enqueue({ text: 'Explicit.' });
    const done = await collect(
      openai({ apiKey: 'sk-env-test', model: 'gpt-4o-mini', baseURL: `${sim.url}/v1`, transport }).stream(
        request,
      ),
    );
    expect(done.text).toBe('Explicit.');
  });
});
