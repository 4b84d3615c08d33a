import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicProtocol } from '../../../src/testing/simulator/protocols/anthropic.js';
import { createSimulator, type Simulator } from '../../../src/testing/simulator/server.js';
import { SAMPLE_SSE } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await createSimulator({ protocols: [anthropicProtocol] });
});
afterAll(async () => {
  await sim.close();
});

const post = (body: unknown = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [], stream: true }) =>
  fetch(`${sim.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The sequence of `event:` names of an SSE body. */
const eventNames = (text: string): string[] =>
  [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1] as string);

describe('anthropicProtocol', () => {
  it('frames a text answer like the recorded wire sample', async () => {
    sim.enqueue({ text: ['Rain', 'bows appear'] });
    const response = await post();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text();
    expect(eventNames(text)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(eventNames(SAMPLE_SSE).filter((e, i, all) => all[i - 1] !== e)).toEqual(
      eventNames(text).filter((e, i, all) => all[i - 1] !== e),
    );
    // Same framing as the sample: `event:` then one `data:` line, LF endings, a blank line between events.
    expect(text).toMatch(
      /^event: message_start\ndata: \{"type":"message_start","message":\{"model":"claude-haiku-4-5"/,
    );
    expect(text).toContain('event: ping\ndata: {"type": "ping"}\n\n');
    expect(text).toContain(
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Rain"}}\n\n',
    );
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    expect(text).not.toContain('\r');
  });

  it('streams tool_use blocks as input_json_delta pieces, after closing the text block', async () => {
    sim.enqueue({ text: 'Checking.', toolCalls: [{ id: 'toolu_1', name: 'f', args: { a: 1 }, chunks: 2 }] });
    const text = await (await post()).text();
    expect(text).toContain('{"type":"content_block_stop","index":0}');
    expect(text).toContain(
      '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}',
    );
    const pieces = [...text.matchAll(/"partial_json":("(?:[^"\\]|\\.)*")/g)].map(
      (m) => JSON.parse(m[1] as string) as string,
    );
    expect(pieces.join('')).toBe('{"a":1}');
    expect(pieces[0]).toBe('');
    expect(text).toContain('"stop_reason":"tool_use"');
  });

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'api_error'],
    [529, 'overloaded_error'],
  ])('HTTP %i → {"type":"error","error":{"type":"%s"}} with a request-id header', async (status, type) => {
    sim.enqueue({ fault: { type: 'status', status, message: 'nope' } });
    const response = await post();
    expect(response.status).toBe(status);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type, message: 'nope' } });
  });

  it('writes in-stream errors as event: error', async () => {
    sim.enqueue({ fault: { type: 'error-event', tokens: 0, error: 'overloaded' } });
    const text = await (await post()).text();
    expect(eventNames(text)).toEqual(['message_start', 'error']);
    expect(text).toContain(
      'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n',
    );
  });
});
