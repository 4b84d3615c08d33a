/**
 * The OpenAI-compatible API driven by the clients people use: the `openai` SDK, the Vercel AI SDK's
 * OpenAI-compatible provider, LangChain's `ChatOpenAI`, and curl. The gateway runs on loopback with the
 * wire-level simulator as its upstream (an OpenAI-protocol primary, an Anthropic-protocol backup).
 */
import { spawn } from 'node:child_process';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/testing/simulator/server.js';
import {
  ANTHROPIC_KEY,
  gatewayConfig,
  OPENAI_KEY,
  type Running,
  simulator,
  startGateway,
} from './support.js';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The error a call that must fail fails with (streamed or not). */
const failure = (client: OpenAI, stream: boolean) =>
  client.chat.completions.create({ model: 'rxllm', messages: [{ role: 'user', content: 'x' }], stream }).then(
    () => expect.unreachable('the call should have failed'),
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );

/** The last request the simulator received, as its body. */
const upstream = (sim: Simulator) => sim.requests.at(-1)!.body as Record<string, unknown>;

describe('OpenAI-compatible API', () => {
  let sim: Simulator;
  let running: Running | undefined;
  beforeAll(async () => {
    sim = await simulator();
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.handle(undefined));
  afterEach(async () => {
    await running?.gateway.close();
    running = undefined;
  });
  const start = async (extra = ''): Promise<string> => {
    running = await startGateway(sim, gatewayConfig(extra), { gateway: { heartbeatMs: 0 } });
    return running.url;
  };
  const openai = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

  describe('with the openai SDK', () => {
    it('answers a chat completion, mapping the request upstream and the usage back', async () => {
      const client = openai(await start());
      sim.handle(() => ({ text: 'Hello there friend', usage: { inputTokens: 9, outputTokens: 3 } }));
      const done = await client.chat.completions.create({
        model: 'rxllm',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: 'Say hello' },
        ],
        max_completion_tokens: 40,
        temperature: 0.3,
        stop: 'END',
      });
      expect(done).toMatchObject({
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Hello there friend' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
      });
      expect(done.id).toMatch(/^chatcmpl-/);
      expect(upstream(sim)).toMatchObject({
        model: 'gpt-4o-mini',
        temperature: 0.3,
        stop: ['END'],
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say hello' },
        ],
      });
    });

    it('streams chunks, with a last usage chunk when stream_options.include_usage is set', async () => {
      const client = openai(await start());
      sim.handle(() => ({ text: 'one two three', usage: { inputTokens: 4, outputTokens: 3 } }));
      const stream = await client.chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'Count' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('one two three');
      expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 3 } });
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

      const plain = await client.chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'Count' }],
        stream: true,
      });
      const again = [];
      for await (const chunk of plain) again.push(chunk);
      expect(again.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    });

    it('passes tools and tool choice upstream and streams tool calls back, as the SDK assembles them', async () => {
      const client = openai(await start());
      sim.handle(() => ({
        text: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', args: { city: 'Oslo' } }],
      }));
      const runner = client.chat.completions.stream({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'Weather in Oslo?' }],
        tools: [weather],
        tool_choice: 'required',
      });
      const final = await runner.finalChatCompletion();
      expect(final.choices[0]).toMatchObject({
        finish_reason: 'tool_calls',
        message: {
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
      });
      expect(upstream(sim)).toMatchObject({
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
        tool_choice: 'required',
      });

      // The tool's result goes back in the history; the next turn answers from it.
      sim.handle(() => ({ text: 'Sunny in Oslo' }));
      const next = await client.chat.completions.create({
        model: 'rxllm',
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          final.choices[0]!.message,
          { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
        ],
        tools: [weather],
      });
      expect(next.choices[0]!.message.content).toBe('Sunny in Oslo');
      expect((upstream(sim).messages as unknown[]).slice(1)).toMatchObject([
        { role: 'assistant', tool_calls: [{ id: 'call_1', function: { name: 'get_weather' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
      ]);
    });

    it('passes response_format upstream (json_schema and json_object)', async () => {
      const client = openai(await start());
      sim.handle(() => ({ text: '{"answer":42}' }));
      const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
      const done = await client.chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'The answer?' }],
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      });
      expect(JSON.parse(done.choices[0]!.message.content!)).toEqual({ answer: 42 });
      expect(upstream(sim).response_format).toMatchObject({
        type: 'json_schema',
        json_schema: { name: 'answer', schema },
      });
      await client.chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'JSON please' }],
        response_format: { type: 'json_object' },
      });
      expect(upstream(sim).response_format).toEqual({ type: 'json_object' });
    });

    it('lists the models: the pipeline, each provider, each configured model', async () => {
      const client = openai(await start());
      const models = [];
      for await (const model of client.models.list()) models.push(model);
      expect(models.map((m) => [m.id, m.owned_by])).toEqual([
        ['rxllm', 'rxllm'],
        ['primary', 'openai'],
        ['backup', 'anthropic'],
        ['gpt-4o-mini', 'openai'],
        ['claude-haiku-4-5', 'anthropic'],
      ]);
    });

    it('a provider or model name keeps the call on that provider (no fallback to the others)', async () => {
      const client = openai(await start());
      sim.handle((r) =>
        r.protocol === 'openai' ? { fault: { type: 'status', status: 503 } } : { text: 'b' },
      );
      const before = sim.requests.length;
      await expect(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({ status: 503 });
      expect(sim.requests.slice(before).map((r) => r.protocol)).toEqual(['openai']);
      const backup = await client.chat.completions.create({
        model: 'backup',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(backup.model).toBe('claude-haiku-4-5');
    });

    it.each([
      [
        'every provider rate limited',
        { type: 'status', status: 429, retryAfter: 7 },
        429,
        'rate_limit_error',
        '7',
      ],
      ['every provider down', { type: 'status', status: 503 }, 503, 'server_error', null],
      ['a bad request upstream', { type: 'status', status: 400 }, 400, 'invalid_request_error', null],
    ] as const)(
      'fails on %s with the SDK error of status %i',
      async (_name, fault, status, type, retryAfter) => {
        const client = openai(await start());
        sim.handle(() => ({ fault }));
        for (const stream of [false, true]) {
          const error = await failure(client, stream);
          expect(error).toBeInstanceOf(OpenAI.APIError);
          expect(error.status).toBe(status);
          expect(error.type).toBe(type);
          expect(error.headers?.get('retry-after') ?? null).toBe(retryAfter);
          expect(error.message.length).toBeGreaterThan(10);
        }
      },
    );

    it('answers a budget refusal with 402 insufficient_quota, before anything goes upstream', async () => {
      const client = openai(await start('budget: { perRequest: 0.000000001, onShortfall: reject }'));
      const before = sim.requests.length;
      await expect(
        client.chat.completions.create({
          model: 'rxllm',
          messages: [{ role: 'user', content: 'x' }],
          max_tokens: 500,
        }),
      ).rejects.toMatchObject({ status: 402, type: 'insufficient_quota', code: 'budget' });
      expect(sim.requests.length).toBe(before);
    });

    it('refuses an unknown model (404 model_not_found) and a bad body (400 naming the field)', async () => {
      const client = openai(await start());
      await expect(
        client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      await expect(
        client.chat.completions.create({ model: 'rxllm', messages: [], n: 2 }),
      ).rejects.toMatchObject({ status: 400, param: 'messages' });
      await expect(
        client.chat.completions.create({ model: 'rxllm', messages: [{ role: 'user', content: 'x' }], n: 2 }),
      ).rejects.toMatchObject({ status: 400, param: 'n' });
    });

    it("refuses a body that is not JSON (415) or too large (413), in OpenAI's error shape", async () => {
      const url = await start('server: { maxBodyBytes: 256 }');
      const post = (body: string, type = 'application/json') =>
        fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': type }, body });
      const big = await post(
        JSON.stringify({ model: 'rxllm', messages: [{ role: 'user', content: 'x'.repeat(500) }] }),
      );
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.stringContaining('256') },
      });
      const text = await post('hello', 'text/plain');
      expect(text.status).toBe(415);
      const broken = await post('{"model": ');
      expect(broken.status).toBe(400);
    });

    it('never lets an upstream key out, whatever the upstream echoes', async () => {
      const client = openai(await start());
      sim.handle((r) => ({
        fault: {
          type: 'status',
          status: r.protocol === 'openai' ? 429 : 401,
          message: `Key ${r.protocol === 'openai' ? OPENAI_KEY : ANTHROPIC_KEY} was refused`,
        },
      }));
      for (const stream of [false, true]) {
        const error = await failure(client, stream);
        expect(error.status).toBeGreaterThanOrEqual(400);
        const seen = JSON.stringify(error.error) + error.message;
        expect(seen).not.toContain(OPENAI_KEY);
        expect(seen).not.toContain(ANTHROPIC_KEY);
      }
    });

    it('a failure after content ends the stream with an error the SDK raises', async () => {
      const client = openai(await start());
      sim.handle((r) =>
        r.protocol === 'openai'
          ? { text: 'a b c d e f', fault: { type: 'reset-after', tokens: 2 } }
          : { text: 'no' },
      );
      const stream = await client.chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      const text: string[] = [];
      const error = await (async () => {
        for await (const chunk of stream) text.push(chunk.choices[0]?.delta.content ?? '');
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(text.join('')).toBe('a b');
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toMatch(/^(network|incomplete)$/);
    });

    it('carries fallback and reset as SSE comments, which the SDK skips', async () => {
      const url = await start('routing: { fallback: { onMidStream: restart } }');
      sim.handle((r) =>
        r.protocol === 'openai'
          ? { text: 'first try', fault: { type: 'reset-after', tokens: 1 } }
          : { text: 'second try' },
      );
      const stream = await openai(url).chat.completions.create({
        model: 'rxllm',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      const text: string[] = [];
      for await (const chunk of stream) text.push(chunk.choices[0]?.delta.content ?? '');
      // An OpenAI client cannot clear what it showed: it sees both attempts (docs/gateway.md says so).
      expect(text.join('')).toBe('firstsecond try');

      const raw = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'rxllm', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      const body = await raw.text();
      expect(body).toMatch(/^: rxllm \{"type":"route"/m);
      expect(body).toMatch(/^: rxllm \{"type":"reset","from":\{"provider":"primary"/m);
      expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });
  });

  it('serves the Vercel AI SDK (OpenAI-compatible provider): streamText with usage, tools', async () => {
    const url = await start();
    const provider = createOpenAICompatible({
      name: 'rxllm',
      baseURL: `${url}/v1`,
      apiKey: 'unused',
      includeUsage: true,
    });
    sim.handle(() => ({ text: 'Streams are values', usage: { inputTokens: 6, outputTokens: 3 } }));
    const result = streamText({ model: provider('rxllm'), prompt: 'What are streams?', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Streams are values');
    expect(await result.usage).toMatchObject({ inputTokens: 6, outputTokens: 3, totalTokens: 9 });
    expect(await result.finishReason).toBe('stop');

    sim.handle(() => ({
      text: '',
      toolCalls: [{ id: 'call_7', name: 'get_weather', args: { city: 'Lima' } }],
    }));
    const called = await generateText({
      model: provider('primary'),
      prompt: 'Weather in Lima?',
      maxRetries: 0,
      tools: {
        get_weather: tool({
          description: 'Weather in a city',
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        }),
      },
    });
    expect(called.finishReason).toBe('tool-calls');
    expect(called.toolCalls).toMatchObject([
      { toolCallId: 'call_7', toolName: 'get_weather', input: { city: 'Lima' } },
    ]);
  });

  it("serves LangChain's ChatOpenAI: invoke, stream and tool calls", async () => {
    const url = await start();
    const chat = new ChatOpenAI({
      model: 'rxllm',
      apiKey: 'unused',
      maxRetries: 0,
      configuration: { baseURL: `${url}/v1` },
    });
    sim.handle(() => ({ text: 'Observables are lazy', usage: { inputTokens: 5, outputTokens: 3 } }));
    const answer = await chat.invoke('Tell me about observables');
    expect(answer.content).toBe('Observables are lazy');
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 5, output_tokens: 3 });

    let streamed = '';
    for await (const chunk of await chat.stream('Again')) streamed += String(chunk.content);
    expect(streamed).toBe('Observables are lazy');

    sim.handle(() => ({
      text: '',
      toolCalls: [{ id: 'call_9', name: 'get_weather', args: { city: 'Rome' } }],
    }));
    const withTools = await chat.bindTools([weather]).invoke('Weather in Rome?');
    expect(withTools.tool_calls).toMatchObject([
      { id: 'call_9', name: 'get_weather', args: { city: 'Rome' } },
    ]);
  });

  it('serves curl: streamed chunks ending in [DONE], and an error status with its JSON', async () => {
    const url = await start();
    sim.handle(() => ({ text: 'curl works' }));
    const curl = (body: unknown) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn('curl', [
          '-sS',
          '-N',
          '--max-time',
          '10',
          '-w',
          '\n%{http_code}',
          `${url}/v1/chat/completions`,
          '-H',
          'content-type: application/json',
          '-d',
          JSON.stringify(body),
        ]);
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
        child.once('error', reject);
        child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited ${code}`))));
      });
    const streamed = await curl({
      model: 'rxllm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const lines = streamed.split('\n');
    expect(lines.at(-1)).toBe('200');
    const chunks = lines
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('curl works');
    expect(lines).toContain('data: [DONE]');

    const failed = await curl({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    const [json, status] = failed.split('\n');
    expect(status).toBe('404');
    expect(JSON.parse(json!)).toMatchObject({ error: { type: 'not_found_error', code: 'model_not_found' } });
  });
});
