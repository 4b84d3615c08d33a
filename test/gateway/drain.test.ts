/**
 * Stopping without losing anything: health and readiness, a drain that lets streams finish, and a deadline
 * that cuts the rest with a typed error and their usage charged, in process and as `rxllm serve` on SIGTERM.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/testing/simulator/server.js';
import {
  ANTHROPIC_KEY,
  gatewayConfig,
  listeningUrl,
  OPENAI_KEY,
  type Running,
  simulator,
  spawnCli,
  startGateway,
} from './support.js';

const slow = { text: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), tokenDelayMs: 60 };

/** Starts a streamed chat completion and resolves once its first content arrived, with the rest. */
async function startStream(url: string): Promise<{ rest: Promise<string> }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'rxllm', messages: [{ role: 'user', content: 'go' }], stream: true }),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!seen.includes('"content":"w0"')) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      seen += decoder.decode(value, { stream: true });
    }
  })();
  return { rest };
}

const contentOf = (sse: string): string =>
  sse
    .split('\n')
    .filter((l) => l.startsWith('data: {') && l.includes('"choices":[{'))
    .map(
      (l) =>
        (JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta
          .content ?? '',
    )
    .join('');

describe('health, readiness and drain', () => {
  let sim: Simulator;
  let running: Running | undefined;
  beforeAll(async () => {
    sim = await simulator();
  });
  afterAll(() => sim.close());
  afterEach(async () => {
    await running?.gateway.close();
    running = undefined;
  });

  it('answers /healthz and /readyz', async () => {
    running = await startGateway(sim, gatewayConfig());
    expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${running.url}/readyz`)).json()).toEqual({ status: 'ready', calls: 0 });
  });

  it('lets a stream in flight finish, refusing new connections meanwhile', async () => {
    running = await startGateway(sim, gatewayConfig(), { gateway: { heartbeatMs: 0 } });
    sim.handle(() => ({ text: 'a b c d e f g h', tokenDelayMs: 40 }));
    const res = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rxllm', messages: [{ role: 'user', content: 'go' }], stream: true }),
    });
    const drained = running.gateway.drain(10_000);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    const body = await res.text();
    expect(contentOf(body)).toBe('a b c d e f g h');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await drained).toBe(0);
  });

  it('cuts what is still streaming at the deadline: a typed error, the upstream aborted, the usage charged', async () => {
    running = await startGateway(sim, gatewayConfig('budget: { limits: { day: 5 } }'), {
      gateway: { heartbeatMs: 0 },
    });
    sim.handle(() => slow);
    const { rest } = await startStream(running.url);
    const upstream = sim.requests.at(-1)!;
    expect(await running.gateway.drain(150)).toBe(1);
    const body = await rest;
    expect(body).toMatch(
      /data: \{"error":\{"message":"The gateway is shutting down[^"]*","type":"server_error"/,
    );
    await upstream.closed;
    expect(upstream.abortedByClient()).toBe(true);
    const [line] = (await running.pipeline.status()).budget!.lines;
    expect(line).toMatchObject({ reserved: 0 });
    expect(line!.spent).toBeGreaterThan(0);
  });

  describe('rxllm serve on SIGTERM', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rxllm-drain-'));
      await writeFile(join(dir, 'rxllm.yaml'), gatewayConfig());
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const serve = (drainMs: number) =>
      spawnCli(['serve', '--port', '0', '--drain-ms', String(drainMs)], {
        cwd: dir,
        env: { SIM: sim.url, OPENAI_KEY, ANTHROPIC_KEY },
      });

    it('finishes the stream within the deadline and exits 0', async () => {
      sim.handle(() => ({ ...slow, tokenDelayMs: 10 }));
      const child = serve(10_000);
      try {
        const { rest } = await startStream(await listeningUrl(child));
        child.kill('SIGTERM');
        const body = await rest;
        expect(contentOf(body)).toBe(slow.text);
        expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
        expect((await child.done).code).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('cuts the stream at the deadline with an error frame, aborts upstream, and exits 0', async () => {
      sim.handle(() => slow);
      const child = serve(200);
      try {
        const { rest } = await startStream(await listeningUrl(child));
        const upstream = sim.requests.at(-1)!;
        child.kill('SIGTERM');
        expect(await rest).toContain('The gateway is shutting down');
        await upstream.closed;
        expect(upstream.abortedByClient()).toBe(true);
        const { code, stderr } = await child.done;
        expect(code).toBe(0);
        expect(stderr).toContain('"gateway stopped"');
        expect(stderr).toMatch(/"cut":1/);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
