import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/server/mcp.js';
import { buildPipeline, type Pipeline } from '../../src/config/build.js';
import { parseConfig } from '../../src/config/load.js';
import type { Simulator } from '../../src/testing/simulator/server.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { hashKey } from '../../src/server/keys.js';
import { serveMcpHttp } from '../../src/server/serveMcp.js';
import { ANTHROPIC_KEY, cliArgs, gatewayConfig, OPENAI_KEY, simulator } from '../gateway/support.js';

const KEY = 'sk-rxllm-mcp-test-key-0001';
const KEYS = `server: { keys: [{ name: tester, hash: ${hashKey(KEY)} }] }`;

type ToolResult = {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
};

describe('MCP server, driven by the SDK client over an in-memory transport', () => {
  let sim: Simulator;
  let pipeline: Pipeline;
  let server: McpServer;
  let client: Client;
  const transcript: string[] = [];

  beforeAll(async () => {
    sim = await simulator();
    const env = { SIM: sim.url, OPENAI_KEY, ANTHROPIC_KEY };
    pipeline = await buildPipeline(parseConfig(gatewayConfig(), { env }), { env });
    server = createMcpServer(pipeline);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'rxllm-test', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
    pipeline.close();
    await sim.close();
  });
  beforeEach(() => sim.handle(undefined));

  const call = async (
    name: string,
    args: Record<string, unknown> = {},
    signal?: AbortSignal,
  ): Promise<ToolResult> => {
    const result = (await client.callTool(
      { name, arguments: args },
      undefined,
      signal ? { signal } : {},
    )) as ToolResult;
    transcript.push(JSON.stringify(result));
    return result;
  };

  it('lists the four tools with their schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'complete_chat',
      'complete_text',
      'get_metrics',
      'list_providers',
    ]);
    const text = tools.find((t) => t.name === 'complete_text');
    expect(text?.inputSchema.required).toEqual(['prompt']);
    expect(text?.outputSchema).toBeDefined();
  });

  it('complete_text answers through the pipeline', async () => {
    sim.handle(() => ({ text: 'Paris is the capital.' }));
    const result = await call('complete_text', {
      prompt: 'Capital of France?',
      system: 'Be brief',
      maxTokens: 30,
    });
    expect(result.isError).toBeFalsy();
    expect(result.content[0]?.text).toBe('Paris is the capital.');
    expect(result.structuredContent).toMatchObject({
      provider: 'primary',
      finishReason: 'stop',
      failures: [],
    });
    const body = sim.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('complete_chat falls back like the gateway does', async () => {
    sim.handle((r) =>
      r.protocol === 'openai' ? { fault: { type: 'status', status: 503 } } : { text: 'from claude' },
    );
    const result = await call('complete_chat', {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Who are you?' },
      ],
    });
    expect(result.structuredContent).toMatchObject({
      text: 'from claude',
      provider: 'backup',
      failures: [{ provider: 'primary', kind: 'unavailable' }],
    });
  });

  it('a failure is a tool error naming the kind, with nothing secret in it', async () => {
    sim.handle(() => ({
      fault: { type: 'status', status: 401, message: `Incorrect API key provided: ${OPENAI_KEY}` },
    }));
    const result = await call('complete_text', { prompt: 'x' });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/^auth: /);
  });

  it('invalid arguments are rejected by the schema', async () => {
    const result = await call('complete_text', { prompt: '' }).catch((e: unknown) => ({
      isError: true,
      content: [{ type: 'text', text: String(e) }],
    }));
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/prompt/);
  });

  it('list_providers and get_metrics report the pipeline', async () => {
    const providers = await call('list_providers');
    expect(providers.structuredContent).toMatchObject({
      strategy: 'priority',
      providers: [
        { name: 'primary', type: 'openai', model: 'gpt-4o-mini' },
        { name: 'backup', type: 'anthropic', model: 'claude-haiku-4-5' },
      ],
    });
    const metrics = await call('get_metrics');
    const totals = (metrics.structuredContent as { totals: { calls: number; errors: number } }).totals;
    expect(totals.calls).toBeGreaterThanOrEqual(3);
    expect(totals.errors).toBeGreaterThanOrEqual(1);
    const text = await call('get_metrics', { format: 'prometheus' });
    expect(text.content[0]?.text).toContain('rxllm_requests_total{provider="primary"');
  });

  it('a cancelled tool call aborts the upstream request', async () => {
    sim.handle(() => ({ text: 'a long and slow answer that never seems to end at all', tokenDelayMs: 50 }));
    const before = sim.requests.length;
    const controller = new AbortController();
    const pending = call('complete_text', { prompt: 'slow' }, controller.signal).catch((e: unknown) => e);
    await expect.poll(() => sim.requests.length).toBe(before + 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const upstream = sim.requests.at(-1)!;
    await upstream.closed;
    expect(upstream.abortedByClient()).toBe(true);
  });

  it('sends a progress notification per piece of text while a completion streams', async () => {
    sim.handle(() => ({ text: 'one two three four' }));
    const progress: { progress: number; message?: string }[] = [];
    const result = (await client.callTool(
      { name: 'complete_text', arguments: { prompt: 'count' } },
      undefined,
      {
        onprogress: (p) => void progress.push(p),
      },
    )) as ToolResult;
    expect(result.content[0]?.text).toBe('one two three four');
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4]);
    expect(progress.map((p) => p.message).join('')).toBe('one two three four');
  });

  it('never put a key in a tool result', () => {
    const all = transcript.join('\n');
    expect(all).not.toContain(OPENAI_KEY);
    expect(all).not.toContain(ANTHROPIC_KEY);
  });
});

describe('MCP server as the rxllm command serves it', () => {
  let sim: Simulator;
  let dir: string;
  beforeAll(async () => {
    sim = await simulator();
    dir = await mkdtemp(join(tmpdir(), 'rxllm-mcp-'));
    await writeFile(join(dir, 'rxllm.yaml'), gatewayConfig(KEYS));
  });
  afterAll(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });
  const env = () => ({ SIM: sim.url, OPENAI_KEY, ANTHROPIC_KEY });

  it('over Streamable HTTP: tools, progress, and a key required', async () => {
    const pipeline = await buildPipeline(parseConfig(gatewayConfig(KEYS), { env: env() }), { env: env() });
    const service = await serveMcpHttp(pipeline);
    const client = new Client({ name: 'rxllm-test', version: '1.0.0' });
    try {
      expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const refused = await fetch(service.url, { method: 'POST', body: '{}' });
      expect(refused.status).toBe(401);
      await client.connect(
        new StreamableHTTPClientTransport(new URL(service.url), {
          requestInit: { headers: { authorization: `Bearer ${KEY}` } },
        }),
      );
      expect((await client.listTools()).tools).toHaveLength(4);
      sim.handle(() => ({ text: 'over the wire' }));
      const progress: string[] = [];
      const result = (await client.callTool(
        { name: 'complete_text', arguments: { prompt: 'hi' } },
        undefined,
        {
          onprogress: (p) => void progress.push(p.message ?? ''),
        },
      )) as ToolResult;
      expect(result.content[0]?.text).toBe('over the wire');
      expect(progress.join('')).toBe('over the wire');
    } finally {
      await client.close();
      await service.close();
    }
  });

  it('over stdio, spawned as `rxllm mcp` by the SDK client', async () => {
    sim.handle(() => ({ text: 'from a child process' }));
    const client = new Client({ name: 'rxllm-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: cliArgs(['mcp', 'rxllm.yaml']),
      cwd: dir,
      env: { ...(process.env as Record<string, string>), ...env() },
      stderr: 'pipe',
    });
    try {
      await client.connect(transport);
      const result = (await client.callTool({
        name: 'complete_text',
        arguments: { prompt: 'hi' },
      })) as ToolResult;
      expect(result.content[0]?.text).toBe('from a child process');
      expect(result.structuredContent).toMatchObject({ provider: 'primary' });
    } finally {
      await client.close(); // closes the child's stdin: it exits
    }
  });
});
