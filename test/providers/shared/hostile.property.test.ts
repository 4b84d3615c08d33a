import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { Transport } from '../../../src/providers/shared/options.js';
import { resolveScenario } from '../../../src/testing/simulator/scenario.js';
import { REQUEST, VENDORS, wireServer, type Vendor, type WireServer } from './wire.js';

/** One frame of a body: its SSE event name (if any) and its payload (JSON, or raw text such as `[DONE]`). */
interface Frame {
  readonly event?: string;
  readonly data: unknown;
  readonly raw?: string;
}

/** A valid stream of `vendor`, as frames: text, two tool calls, usage, finish. */
function validFrames(vendor: Vendor): Frame[] {
  const scenario = resolveScenario(
    {
      text: 'Paris is the capital.',
      toolCalls: [
        { id: 'call_a', name: 'weather', args: { city: 'Paris' }, chunks: 2 },
        { name: 'time', args: {} },
      ],
      usage: { inputTokens: 12, outputTokens: 9, cachedInputTokens: 2 },
    },
    'm',
    40,
  );
  const rendered = vendor.protocol.render(scenario, 'hostile', { stream_options: { include_usage: true } });
  return [...rendered.head, ...rendered.content, ...rendered.tail].flatMap(parseFrames);
}

function parseFrames(text: string): Frame[] {
  return text
    .split(/\r?\n\r?\n|\n(?=\{)/)
    .map((block) => block.trim())
    .filter((block) => block.length > 0)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? block;
      try {
        return { ...(event !== undefined && { event }), data: JSON.parse(data) as unknown };
      } catch {
        return { ...(event !== undefined && { event }), data: undefined, raw: data };
      }
    });
}

function render(vendor: Vendor, frames: readonly Frame[]): string {
  return frames
    .map((f) => {
      const data = f.raw ?? JSON.stringify(f.data);
      switch (vendor.name) {
        case 'ollama':
          return `${data}\n`;
        case 'gemini':
          return `data: ${data}\r\n\r\n`;
        case 'anthropic':
          return `${f.event !== undefined ? `event: ${f.event}\n` : ''}data: ${data}\n\n`;
        case 'openai':
          return `data: ${data}\n\n`;
      }
    })
    .join('');
}

/** Every path to a value inside `value` (object keys and array indexes). */
function paths(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((key) => {
    const path = [...prefix, key];
    return [path, ...paths((value as Record<string | number, unknown>)[key], path)];
  });
}

/** `value` with the thing at `path` replaced by `next` (or deleted when `next` is `DELETE`). */
function setAt(value: unknown, path: readonly (string | number)[], next: unknown): unknown {
  if (path.length === 0) return next;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (rest.length === 0 && next === DELETE) {
    delete copy[head];
    return copy;
  }
  copy[head] = setAt(copy[head], rest, next);
  return copy;
}

const DELETE = Symbol('delete');

/** Values of the wrong type for any field. */
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(null, DELETE, -1, 1.5, 0, 1e308, 'x', '', true, [], {}, [null], { error: 'msg' }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
);

/** One change to a valid stream. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('field' as const), frame: fc.nat(), path: fc.nat(), value: hostileValue }),
  fc.record({
    op: fc.constantFrom(
      'null-frame' as const,
      'malformed' as const,
      'error-string' as const,
      'error-bad-code' as const,
      'number-frame' as const,
      'array-frame' as const,
      'drop' as const,
      'truncate' as const,
    ),
    frame: fc.nat(),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(frames: Frame[], m: Mutation): Frame[] {
  if (frames.length === 0) return frames;
  const at = m.frame % frames.length;
  const target = frames[at] as Frame;
  const replace = (next: Frame): Frame[] => frames.map((f, i) => (i === at ? next : f));
  switch (m.op) {
    case 'field': {
      const all = paths(target.data);
      if (all.length === 0) return frames;
      return replace({
        ...target,
        data: setAt(target.data, all[m.path % all.length] as (string | number)[], m.value),
      });
    }
    case 'null-frame':
      return replace({ ...(target.event !== undefined && { event: target.event }), data: null });
    case 'malformed':
      return replace({ ...target, raw: (target.raw ?? JSON.stringify(target.data)).slice(0, -3) });
    case 'error-string':
      return replace({ ...target, data: { error: 'msg' } });
    case 'error-bad-code':
      return replace({ ...target, data: { error: { code: 'x', message: 5, status: 7 } } });
    case 'number-frame':
      return replace({ ...target, data: 42 });
    case 'array-frame':
      return replace({ ...target, data: [target.data] });
    case 'drop':
      return frames.filter((_, i) => i !== at);
    case 'truncate':
      return frames.slice(0, at);
  }
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

let server: WireServer;
beforeAll(async () => {
  server = await wireServer();
});
afterAll(() => server.close());

/** The stream's events and error; a hang (5 s without an end) fails the property. */
function run(vendor: Vendor, transport: Transport): Promise<{ events: TokenEvent[]; error?: unknown }> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error('the stream hung'));
    }, 5_000);
    const subscription = vendor
      .model(server.url, transport)
      .stream(REQUEST)
      .subscribe({
        next: (event) => events.push(event),
        error: (error: unknown) => {
          clearTimeout(timer);
          resolve({ events, error });
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ events });
        },
      });
  });
}

const count = (n: number): boolean => Number.isInteger(n) && n >= 0;

function checkOutcome(events: readonly TokenEvent[], error: unknown): void {
  const finishes = events.filter((e) => e.type === 'finish');
  if (error !== undefined) {
    // One LLMError, classified: retry and fallback can act on it.
    expect(LLMError.isInstance(error)).toBe(true);
    expect((error as LLMError).kind).not.toBe('unknown');
    expect(finishes).toEqual([]);
  } else {
    expect(finishes).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('finish');
  }
  for (const event of events) {
    switch (event.type) {
      case 'text':
      case 'reasoning':
        expect(typeof event.text).toBe('string');
        break;
      case 'tool-call':
        expect(event.name).not.toBe('');
        expect(typeof event.name).toBe('string');
        expect(typeof event.id).toBe('string');
        expect(event.id).not.toBe('');
        break;
      case 'usage':
      case 'finish': {
        const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = event.usage;
        for (const n of [inputTokens, outputTokens, cachedInputTokens ?? 0, reasoningTokens ?? 0]) {
          expect(count(n), `token count ${String(n)}`).toBe(true);
        }
        if (event.type === 'finish') expect(Number.isFinite(event.cost.total)).toBe(true);
        break;
      }
      default:
        break;
    }
  }
}

describe.each(VENDORS)('$name: hostile bodies end in finish or one classified LLMError', (vendor) => {
  const valid = validFrames(vendor);

  it('the unmutated stream completes on both transports', async () => {
    server.reply({
      status: 200,
      headers: { 'content-type': vendor.contentType },
      body: render(vendor, valid),
    });
    for (const transport of ['direct', 'sdk'] as const) {
      const { events, error } = await run(vendor, transport);
      expect(error).toBeUndefined();
      checkOutcome(events, error);
      expect(
        events.filter((e) => e.type === 'tool-call').map((e) => e.type === 'tool-call' && e.name),
      ).toEqual(['weather', 'time']);
    }
  });

  it.each(['direct', 'sdk'] as const)('%s', async (transport) => {
    await fc.assert(
      fc.asyncProperty(mutations, async (changes) => {
        const frames = changes.reduce(apply, valid);
        server.reply({
          status: 200,
          headers: { 'content-type': vendor.contentType },
          body: render(vendor, frames),
        });
        const { events, error } = await run(vendor, transport);
        checkOutcome(events, error);
      }),
      { numRuns: 80 },
    );
  });
});
