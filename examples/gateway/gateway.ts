/**
 * An HTTP gateway over a pipeline built from a configuration file (see `main.ts` and `README.md`).
 *
 * - `POST /v1/generate`: a chat request → Server-Sent Events (`stream: true` or `Accept: text/event-stream`)
 *   or one JSON answer. The HTTP status is decided at the first content (or finish): a failure before it
 *   is a JSON error with the status of {@link httpStatusOf}; a failure after it is an SSE `error` frame.
 * - `GET /v1/status`: providers, health, circuits, budgets and spend (no keys, URLs or headers).
 * - `GET /metrics`: Prometheus text format.
 *
 * A client that disconnects unsubscribes its call, which aborts the upstream request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { from, type Subscription } from 'rxjs';
import type { Pipeline } from '../../src/config/build.js';
import { type LLMError, toLLMError } from '../../src/core/errors.js';
import { isContentEvent, type TokenEvent } from '../../src/core/events.js';
import { collect } from '../../src/helpers/collect.js';
import type { Logger } from '../../src/observability/logger.js';
import {
  type MetricFamily,
  metricsFamilies,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
} from '../../src/observability/prometheus.js';
import { encodeError, encodeEvent, END_FRAME, HEARTBEAT_FRAME } from '../../src/streaming/sseFormat.js';
import { SSE_HEADERS } from '../../src/streaming/toSSE.js';
import { type BodyIssue, parseGenerateBody } from './request.js';
import { httpStatusOf, retryAfterSeconds } from './status.js';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Largest request body accepted. Default 1 MiB (413 beyond). */
  readonly maxBodyBytes?: number;
  /** Milliseconds between SSE heartbeat comments. Default 15 000; 0 disables. */
  readonly heartbeatMs?: number;
  /** One line per request (method, path, status, duration) and per failure. */
  readonly logger?: Logger;
}

/** A gateway server. */
export interface Gateway {
  readonly server: Server;
  /** Starts listening (default 127.0.0.1 on a free port); resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, closes open connections (aborting their calls) and stops the pipeline's probes. */
  close(): Promise<void>;
}

/**
 * Creates the gateway's HTTP server for `pipeline`.
 *
 * ## Example
 * ```ts
 * const gateway = createGateway(await loadPipeline('rxllm.yaml'));
 * console.log(await gateway.listen(8787));
 * ```
 */
export function createGateway(pipeline: Pipeline, options: GatewayOptions = {}): Gateway {
  const maxBody = options.maxBodyBytes ?? pipeline.config.server?.maxBodyBytes ?? 1024 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const log = options.logger;

  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () =>
      log?.info('http request', {
        method: req.method,
        path: req.url?.split('?')[0],
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      }),
    );
    handle(req, res).catch((error: unknown) => {
      log?.error('gateway handler failed', { error });
      if (!res.headersSent) sendError(res, toLLMError(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    const method = req.method ?? 'GET';
    const route = ROUTES[path];
    if (!route) return sendJson(res, 404, { error: { kind: 'not_found', message: `No route ${path}` } });
    if (route !== method) {
      res.setHeader('allow', route);
      return sendJson(res, 405, {
        error: { kind: 'method_not_allowed', message: `${path} accepts ${route} only` },
      });
    }
    switch (path) {
      case '/v1/generate':
        return generate(req, res);
      case '/v1/status':
        return sendJson(res, 200, await pipeline.status());
      case '/metrics':
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(renderPrometheus(await families(pipeline)));
        return;
    }
  }

  async function generate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      req.resume();
      return badRequest(res, 415, 'The body must be JSON (content-type: application/json)');
    }
    const raw = await readBody(req, maxBody);
    if (raw === undefined) {
      res.setHeader('connection', 'close');
      return badRequest(res, 413, `The body is larger than ${maxBody} bytes`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return badRequest(res, 400, 'The body is not valid JSON');
    }
    const parsed = parseGenerateBody(json);
    if (!parsed.ok) return badRequest(res, 400, 'The request body is invalid', parsed.issues);
    const { request, stream } = parsed.call;
    const sse = stream ?? /text\/event-stream/i.test(req.headers.accept ?? '');
    if (res.destroyed) return;
    const source = pipeline.model.stream(request);
    return sse ? streamSSE(source, res) : answerJson(source, res);
  }

  function streamSSE(source: ReturnType<Pipeline['model']['stream']>, res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      let id = 0;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      // Events before the first content (route, fallback, start, usage) wait here, so that a call failing
      // before any content still gets its HTTP status instead of a 200 followed by an error frame.
      let held: TokenEvent[] | undefined = [];
      const commit = (): void => {
        if (!held) return;
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        for (const event of held) res.write(encodeEvent(event, id++));
        held = undefined;
        if (heartbeatMs > 0) heartbeat = setInterval(() => res.write(HEARTBEAT_FRAME), heartbeatMs);
      };
      const finish = (): void => {
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = undefined;
      };
      const subscription: Subscription = source.subscribe({
        next(event) {
          if (held && !isContentEvent(event) && event.type !== 'finish') {
            held.push(event);
            return;
          }
          commit();
          res.write(encodeEvent(event, id++));
        },
        error(error: unknown) {
          finish();
          const e = toLLMError(error);
          log?.warn('generate failed', { error: e, streamed: !held });
          if (held) sendError(res, e);
          else res.end(encodeError(e));
        },
        complete() {
          commit();
          finish();
          res.end(END_FRAME);
        },
      });
      res.on('close', () => {
        // The client left (or the response ended): unsubscribing aborts the upstream call if still running.
        finish();
        subscription.unsubscribe();
        resolve();
      });
    });
  }

  function answerJson(source: ReturnType<Pipeline['model']['stream']>, res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const events: TokenEvent[] = [];
      const subscription = source.subscribe({
        next: (event) => void events.push(event),
        error(error: unknown) {
          const e = toLLMError(error);
          log?.warn('generate failed', { error: e });
          sendError(res, e);
        },
        complete() {
          collect(from(events)).then(
            (done) =>
              sendJson(res, 200, {
                text: done.text,
                ...(done.reasoning && { reasoning: done.reasoning }),
                toolCalls: done.toolCalls.map((c) => ({ id: c.id, name: c.name, args: c.args })),
                finishReason: done.finishReason,
                rawFinishReason: done.rawFinishReason,
                usage: done.usage,
                cost: done.cost,
                provider: done.provider,
                model: done.model,
                cached: done.cached,
                failures: done.failures.map((f) => ({ ...f.from, kind: f.error.kind })),
              }),
            (error: unknown) => sendError(res, toLLMError(error)),
          );
        },
      });
      res.on('close', () => {
        subscription.unsubscribe();
        resolve();
      });
    });
  }

  return {
    server,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(`http://${address.address}:${address.port}`);
        });
      });
    },
    close() {
      pipeline.close();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

const ROUTES: Readonly<Record<string, string>> = {
  '/v1/generate': 'POST',
  '/v1/status': 'GET',
  '/metrics': 'GET',
};

/** The body, or `undefined` when it exceeds `limit` bytes (reading stops there). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function badRequest(
  res: ServerResponse,
  status: number,
  message: string,
  issues?: readonly BodyIssue[],
): void {
  sendJson(res, status, { error: { kind: 'invalid_request', message, ...(issues && { issues }) } });
}

/** The error as JSON (`LLMError.toJSON()`: kind, redacted message, retryable, upstream status, causes). */
function sendError(res: ServerResponse, error: LLMError): void {
  const retryAfter = retryAfterSeconds(error);
  sendJson(
    res,
    httpStatusOf(error),
    { error: error.toJSON() },
    retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  );
}

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
const HEALTH_VALUE = { healthy: 1, degraded: 0.5, unhealthy: 0 } as const;

/** The pipeline's metrics plus gauges of circuits, health and budgets. */
async function families(pipeline: Pipeline): Promise<MetricFamily[]> {
  const status = await pipeline.status();
  const labels = (p: { name: string; model: string }) => ({ provider: p.name, model: p.model });
  const extra: MetricFamily[] = [
    {
      name: 'rxllm_circuit_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.',
      type: 'gauge',
      samples: status.providers.flatMap((p) =>
        p.circuit ? [{ labels: labels(p), value: CIRCUIT_VALUE[p.circuit] }] : [],
      ),
    },
    {
      name: 'rxllm_provider_health',
      help: 'Provider health: 1 healthy, 0.5 degraded, 0 unhealthy.',
      type: 'gauge',
      samples: status.providers.flatMap((p) =>
        p.health ? [{ labels: labels(p), value: HEALTH_VALUE[p.health] }] : [],
      ),
    },
  ];
  if (status.budget) {
    const line = (l: { scope: string; period: string }) => ({ scope: l.scope, period: l.period });
    extra.push(
      {
        name: 'rxllm_budget_spent_usd',
        help: 'Spend in the current window, by scope (global or provider) and period.',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.spent })),
      },
      {
        name: 'rxllm_budget_limit_usd',
        help: 'Spending limit of the current window.',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.limit })),
      },
      {
        name: 'rxllm_budget_remaining_usd',
        help: 'What is left of the limit (after reservations of calls in flight).',
        type: 'gauge',
        samples: status.budget.lines.map((l) => ({ labels: line(l), value: l.remaining })),
      },
    );
  }
  return [...metricsFamilies(pipeline.handles.metrics.snapshot()), ...extra];
}
