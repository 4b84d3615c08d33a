import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { concat, firstValueFrom, from, lastValueFrom, NEVER, Observable, throwError, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LLMError, type LLMErrorKind } from '../../src/core/errors.js';
import type { TokenEvent } from '../../src/core/events.js';
import { fromSSE } from '../../src/streaming/fromSSE.js';
import { pipeSSE, toSSE, toSSEResponse } from '../../src/streaming/toSSE.js';

const ref = fc.record({
  provider: fc.constantFrom('openai', 'anthropic'),
  model: fc.string({ minLength: 1, maxLength: 8 }),
});
const usage = fc.record({ inputTokens: fc.nat(1000), outputTokens: fc.nat(1000) });
const kind = fc.constantFrom<LLMErrorKind>('rate_limit', 'overloaded', 'network', 'timeout', 'incomplete');
const llmError = fc
  .tuple(kind, fc.string({ maxLength: 20 }), fc.option(fc.nat(600), { nil: undefined }))
  .map(([k, message, status]) => new LLMError(k, message, status === undefined ? {} : { status }));
const event: fc.Arbitrary<TokenEvent> = fc.oneof(
  ref.map((r) => ({ type: 'start' as const, ...r })),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map((text) => ({ type: 'text' as const, text })),
  fc.string({ maxLength: 8 }).map((text) => ({ type: 'reasoning' as const, text })),
  fc.record({
    type: fc.constant('tool-call-delta' as const),
    index: fc.nat(3),
    argsDelta: fc.string({ maxLength: 8 }),
  }),
  usage.map((u) => ({ type: 'usage' as const, usage: u })),
  usage.map((u) => ({
    type: 'finish' as const,
    reason: 'stop' as const,
    usage: u,
    cost: {
      input: u.inputTokens / 1e6,
      output: u.outputTokens / 1e6,
      total: (u.inputTokens + u.outputTokens) / 1e6,
    },
  })),
  fc.tuple(ref, llmError).map(([r, error]) => ({ type: 'fallback' as const, from: r, error })),
  fc.tuple(ref, llmError).map(([r, error]) => ({ type: 'reset' as const, from: r, error })),
);

/** The bytes `toSSE` writes, re-split at the given cut points. */
async function rechunked(source: Observable<TokenEvent>, cuts: number[]): Promise<Response> {
  const frames = await lastValueFrom(toSSE(source, { heartbeatMs: 0 }).pipe(toArray()));
  const bytes = new TextEncoder().encode(frames.join(''));
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    pieces.push(bytes.slice(at, p));
    at = p;
  }
  pieces.push(bytes.slice(at));
  return new Response(
    new ReadableStream({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    }),
  );
}

const normalize = (events: TokenEvent[]) => JSON.parse(JSON.stringify(events)) as unknown;

describe('fromSSE(toSSE(events))', () => {
  it('gives back the same events for any sequence and any network split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (events, cuts) => {
          const back = await lastValueFrom(fromSSE(await rechunked(from(events), cuts)).pipe(toArray()));
          expect(normalize(back)).toEqual(normalize(events));
          for (const [i, e] of back.entries()) {
            if (e.type === 'fallback' || e.type === 'reset') {
              expect(LLMError.isInstance(e.error)).toBe(true);
              expect(e.error.kind).toBe((events[i] as typeof e).error.kind);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fails with the same typed error the server saw, after the events before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 10 }),
        llmError,
        fc.array(fc.nat(), { maxLength: 10 }),
        async (events, error, cuts) => {
          const seen: TokenEvent[] = [];
          const failure = await new Promise<unknown>((resolve, reject) => {
            void rechunked(
              concat(
                from(events),
                throwError(() => error),
              ),
              cuts,
            ).then((response) =>
              fromSSE(response).subscribe({
                next: (e) => seen.push(e),
                error: resolve,
                complete: () => reject(new Error('completed')),
              }),
            );
          });
          expect(normalize(seen)).toEqual(normalize(events));
          expect(LLMError.isInstance(failure) && failure.toJSON()).toEqual(error.toJSON());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports a body cut before the end frame as incomplete', async () => {
    const frames = await lastValueFrom(
      toSSE(from<TokenEvent[]>([{ type: 'text', text: 'a' }]), { heartbeatMs: 0 }).pipe(toArray()),
    );
    const cut = new Response(frames.slice(0, -1).join(''));
    await expect(lastValueFrom(fromSSE(cut).pipe(toArray()))).rejects.toMatchObject({ kind: 'incomplete' });
  });
});

describe('toSSE', () => {
  it('numbers events, beats while quiet and ends with an end frame (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const source = cold<TokenEvent>('a 9ms b|', {
        a: { type: 'text', text: 'x' },
        b: { type: 'text', text: 'y' },
      });
      expectObservable(toSSE(source, { heartbeatMs: 4 })).toBe('a 3ms h 3ms h 1ms b (e|)', {
        a: 'id: 0\nevent: text\ndata: {"type":"text","text":"x"}\n\n',
        h: ': ping\n\n',
        b: 'id: 1\nevent: text\ndata: {"type":"text","text":"y"}\n\n',
        e: 'event: end\ndata: {}\n\n',
      });
    });
  });

  it('skips events up to lastEventId, for resumption', async () => {
    const events: TokenEvent[] = ['a', 'b', 'c'].map((text) => ({ type: 'text', text }));
    const frames = await lastValueFrom(
      toSSE(from(events), { heartbeatMs: 0, lastEventId: '1' }).pipe(toArray()),
    );
    expect(frames[0]).toContain('id: 2');
    expect(frames).toHaveLength(2);
  });
});

describe('SSE over real HTTP', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('streams a pipeline to a Node response and aborts it when the client leaves', async () => {
    let unsubscribed!: () => void;
    const gone = new Promise<void>((resolve) => (unsubscribed = resolve));
    const source = new Observable<TokenEvent>((s) => {
      s.next({ type: 'start', provider: 'p', model: 'm' });
      s.next({ type: 'text', text: 'first' });
      return () => unsubscribed();
    });
    const url = await serve((_req, res) => void pipeSSE(source, res, { heartbeatMs: 0 }));
    const first = await firstValueFrom(fromSSE(`${url}/stream`));
    expect(first).toEqual({ type: 'start', provider: 'p', model: 'm' });
    await gone; // firstValueFrom unsubscribed → fetch aborted → server saw the close → source unsubscribed
  });

  it('reports a dropped connection as incomplete, with the network error as its cause', async () => {
    const url = await serve((_req, res) => {
      void pipeSSE(concat(from<TokenEvent[]>([{ type: 'text', text: 'a' }]), NEVER), res, { heartbeatMs: 0 });
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const got: TokenEvent[] = [];
    const error = await new Promise<unknown>((resolve) =>
      fromSSE(url).subscribe({
        next: (e) => got.push(e),
        error: resolve,
        complete: () => resolve(undefined),
      }),
    );
    expect(got).toEqual([{ type: 'text', text: 'a' }]);
    expect(LLMError.isInstance(error) && error.kind).toBe('incomplete');
    expect(
      LLMError.isInstance((error as LLMError).cause) && (error as LLMError & { cause: LLMError }).cause.kind,
    ).toBe('network');
  });

  it('keeps a failure to connect as network', async () => {
    const url = await serve((_req, res) => res.end());
    server?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const error = await firstValueFrom(fromSSE(url)).catch((e: unknown) => e);
    expect(LLMError.isInstance(error) && error.kind).toBe('network');
  });

  it('closes the connection of a given Response when the subscriber leaves', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const url = await serve((_req, res) => {
      res.on('close', () => closed());
      void pipeSSE(concat(from<TokenEvent[]>([{ type: 'text', text: 'a' }]), NEVER), res, { heartbeatMs: 0 });
    });
    const response = await fetch(url);
    expect(await firstValueFrom(fromSSE(response))).toEqual({ type: 'text', text: 'a' });
    await serverSawClose; // firstValueFrom unsubscribed → the body was cancelled → the socket closed
  });

  it('resumes from Last-Event-ID after a dropped connection', async () => {
    const events: TokenEvent[] = ['a', 'b', 'c', 'd'].map((text) => ({ type: 'text', text }));
    let connections = 0;
    const url = await serve((req, res) => {
      connections++;
      const lastEventId = req.headers['last-event-id'] as string | undefined;
      if (lastEventId === undefined) {
        // First connection: two events, then the connection drops.
        void pipeSSE(concat(from(events.slice(0, 2)), NEVER), res, { heartbeatMs: 0 });
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      void pipeSSE(from(events), res, { heartbeatMs: 0, lastEventId });
    });
    const got = await lastValueFrom(fromSSE(url, { maxReconnects: 2 }).pipe(toArray()));
    expect(got).toEqual(events);
    expect(connections).toBe(2);
  });

  it('serves a web Response body', async () => {
    const response = toSSEResponse(from<TokenEvent[]>([{ type: 'text', text: 'hi' }]), { heartbeatMs: 0 });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(await lastValueFrom(fromSSE(response).pipe(toArray()))).toEqual([{ type: 'text', text: 'hi' }]);
  });
});

describe('fromSSE on a non-2xx answer', () => {
  it("revives the server's typed error from an { error } JSON body", async () => {
    const sent = new LLMError('budget', 'Daily budget exhausted', { status: 402, provider: 'openai' });
    const response = new Response(JSON.stringify({ error: sent.toJSON() }), { status: 402 });
    await expect(lastValueFrom(fromSSE(response))).rejects.toMatchObject({
      kind: 'budget',
      status: 402,
      provider: 'openai',
    });
  });

  it('classifies any other body by status, with the retry hint', async () => {
    const response = new Response('<html>busy</html>', { status: 429, headers: { 'retry-after': '4' } });
    await expect(lastValueFrom(fromSSE(response))).rejects.toMatchObject({
      kind: 'rate_limit',
      retryAfterMs: 4000,
    });
  });
});
