import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RenderedStream, WireProtocol } from './protocol.js';
import { resolveScenario, type Scenario, type SimErrorKind } from './scenario.js';

/** One request the simulator received, and what became of its connection. */
export interface SimRequest {
  /** The protocol that served it. */
  readonly protocol: WireProtocol['name'];
  /** The HTTP method. */
  readonly method: string;
  /** The path with its query string. */
  readonly path: string;
  /** The request headers (check auth and custom headers here). */
  readonly headers: IncomingMessage['headers'];
  /** The parsed JSON body. */
  readonly body: unknown;
  /** The model it asked for. */
  readonly model: string;
  /** Resolves when the response's connection closed, for whatever reason. */
  readonly closed: Promise<void>;
  /** True if the client went away before the simulator finished writing (an abort reached the server). */
  readonly abortedByClient: () => boolean;
}

/** Picks the scenario for a request; return `undefined` to fall back to the queue or the default. */
export type ScenarioHandler = (request: SimRequest) => Scenario | undefined;

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** The protocols to serve (each claims its own paths). */
  readonly protocols: readonly WireProtocol[];
  /** The scenario used when no handler answers and the queue is empty. Default `{}`. */
  readonly defaultScenario?: Scenario;
  /** Cuts each written frame into pieces, to exercise clients' reassembly. Default: frames as they are. */
  readonly split?: (frame: Buffer) => readonly Buffer[];
  /**
   * Answer browsers from other origins: CORS headers on every response and preflight `OPTIONS` requests
   * answered, so a page can call the simulator directly. Default `false`.
   */
  readonly cors?: boolean;
}

/**
 * A running simulator: one loopback HTTP server that speaks every given vendor protocol.
 *
 * Script it with `enqueue()` (scenarios used in order, one per request) or `handle()` (a function of the
 * request); inspect `requests` and `openConnections()`; always `close()` it.
 */
export interface Simulator {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: readonly SimRequest[];
  /** Queues scenarios, one per coming request, in order. */
  enqueue(...scenarios: Scenario[]): void;
  /** Answers requests with a function of the request (before the queue); `undefined` removes it. */
  handle(handler: ScenarioHandler | undefined): void;
  /** Sockets currently open to the server. */
  openConnections(): number;
  /** Closes the server and every open socket. */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a wire-level simulator on 127.0.0.1 (a free port). Real SDKs and the direct transport talk to
 * it exactly as to the vendor.
 *
 * @example
 * const sim = await createSimulator({ protocols: [openaiProtocol] });
 * sim.enqueue({ text: 'Paris.' }, { fault: { type: 'status', status: 429, retryAfter: 1 } });
 * const gpt = openai({ apiKey: 'test', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' });
 *
 * @param options The protocols to serve, the default scenario, and how frames are split.
 * @returns The running simulator; `close()` it.
 */
export async function createSimulator(options: SimulatorOptions): Promise<Simulator> {
  const queue: Scenario[] = [];
  const requests: SimRequest[] = [];
  const sockets = new Set<Socket>();
  /** Responses the simulator reset on purpose (a fault), so their close is not the client's abort. */
  const resets = new WeakSet<ServerResponse>();
  let handler: ScenarioHandler | undefined;
  let counter = 0;

  const server = createServer((req, res) => {
    serve(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.cors) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', '*');
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            'access-control-allow-methods': 'GET, POST, OPTIONS',
            'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
            'access-control-max-age': '600',
          })
          .end();
        return;
      }
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const protocol = options.protocols.find((p) => p.matches(req.method ?? 'GET', pathname));
    if (!protocol) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'no such route' }));
      return;
    }
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      const error = protocol.errorResponse(400, 'The request body is not valid JSON.');
      res.writeHead(400, { 'content-type': 'application/json', ...error.headers }).end(error.body);
      return;
    }
    let finished = false;
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    const record: SimRequest = {
      protocol: protocol.name,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body,
      model: protocol.requestModel(pathname, body),
      closed,
      abortedByClient: () => !finished,
    };
    requests.push(record);
    const scenario = handler?.(record) ?? queue.shift() ?? options.defaultScenario ?? {};
    await respond(protocol, scenario, record, raw.length, res);
    // Finished by the simulator: it ended the body or reset the socket itself. A stall the client left,
    // or a write cut off by the client's abort, stays unfinished: that is an abort reaching the server.
    finished = res.writableEnded || resets.has(res);
  }

  async function respond(
    protocol: WireProtocol,
    scenario: Scenario,
    record: SimRequest,
    promptChars: number,
    res: ServerResponse,
  ): Promise<void> {
    const fault = scenario.fault;
    if (fault?.type === 'reset-before-headers') {
      resets.add(res);
      res.socket?.destroy();
      return;
    }
    if (fault?.type === 'status') {
      const error = protocol.errorResponse(
        fault.status,
        fault.message ?? defaultMessage(fault.status),
        fault,
      );
      const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
      res.writeHead(fault.status, { ...headers, ...scenario.headers }).end(error.body);
      return;
    }
    const resolved = resolveScenario(scenario, record.model, promptChars);
    const rendered: RenderedStream = protocol.render(resolved, `sim-${++counter}`, record.body);
    res.writeHead(200, {
      'content-type': protocol.contentType,
      'cache-control': 'no-cache',
      ...scenario.headers,
    });
    res.flushHeaders();
    const gone = (): boolean => res.destroyed || res.writableEnded;
    for (const frame of rendered.head) await write(res, frame);
    const stopAt = fault && 'tokens' in fault ? fault.tokens : Infinity;
    for (let i = 0; i < rendered.content.length; i++) {
      if (gone()) return;
      if (i === stopAt) break;
      const delay = i === 0 ? scenario.firstTokenDelayMs : scenario.tokenDelayMs;
      if (delay) await sleep(delay);
      if (gone()) return;
      await write(res, rendered.content[i] as string);
    }
    if (gone()) return;
    if (rendered.content.length === 0 && scenario.firstTokenDelayMs) await sleep(scenario.firstTokenDelayMs);
    switch (fault?.type) {
      case 'reset-after':
        // Let the frames already written reach the client before the reset, so `tokens: N` delivers N.
        await flushed(res);
        resets.add(res);
        res.socket?.destroy();
        return;
      case 'error-event':
        await write(
          res,
          protocol.errorFrame(fault.error ?? 'overloaded', fault.message ?? errorMessage(fault.error)),
        );
        res.end();
        return;
      case 'stall':
        await new Promise<void>((resolve) => res.on('close', () => resolve()));
        return;
      case 'malformed':
        await write(res, protocol.malformedFrame());
        res.end();
        return;
      case 'truncate':
        res.end();
        return;
      default:
        for (const frame of rendered.tail) await write(res, frame);
        res.end();
    }
  }

  async function write(res: ServerResponse, frame: string): Promise<void> {
    if (res.destroyed) return;
    const pieces = options.split ? options.split(Buffer.from(frame, 'utf8')) : [frame];
    for (const piece of pieces) {
      if (!res.write(piece))
        await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...scenarios) => void queue.push(...scenarios),
    handle: (next) => void (handler = next),
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Resolves once everything written to the response's socket was handed to the kernel. */
function flushed(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (!socket || socket.destroyed) return Promise.resolve();
  // An empty write's callback runs once every earlier write on the socket was flushed.
  return new Promise<void>((resolve) => {
    socket.once('close', resolve);
    socket.write('', () => setImmediate(resolve));
  });
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests. Please try again later.';
  if (status === 529) return 'Overloaded';
  if (status >= 500) return 'The server had an error while processing your request.';
  if (status === 401) return 'Invalid authentication.';
  if (status === 404) return 'The model does not exist.';
  return 'Invalid request.';
}

function errorMessage(kind: SimErrorKind | undefined): string {
  switch (kind) {
    case 'rate_limit':
      return 'Rate limit exceeded';
    case 'server':
      return 'Internal server error';
    case 'invalid_request':
      return 'Invalid request';
    case 'overloaded':
    case undefined:
      return 'Overloaded';
  }
}
