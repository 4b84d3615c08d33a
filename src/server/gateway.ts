/**
 * The HTTP gateway over a pipeline built from a configuration file.
 *
 * - `POST /v1/chat/completions`, `GET /v1/models`: OpenAI's API (see `docs/gateway.md`).
 * - `POST /v1/generate`: rxllm's own dialect (SSE that `fromSSE` reads back, or one JSON answer).
 * - `GET /v1/status`: providers, health, circuits, budgets and spend (no keys, URLs or headers).
 * - `GET /metrics`: Prometheus text format. `GET /healthz`, `GET /readyz`: liveness and readiness.
 *
 * The HTTP status of a call is decided at its first content (or finish): a failure before it is an error
 * answer with the status of `httpStatusOf`; a failure after it ends the stream with an error frame. A
 * client that disconnects unsubscribes its call, which aborts the upstream request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pipeline } from '../config/build.js';
import { type LLMError, toLLMError } from '../core/errors.js';
import { assertNever } from '../core/events.js';
import type { Logger } from '../observability/logger.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../observability/prometheus.js';
import { type Caller, createCallers } from './callers.js';
import { generate, sendGenerateError } from './generate.js';
import { sendJson } from './http.js';
import { pipelineFamilies } from './metrics.js';
import { chatCompletions, listModels, sendOpenAIError } from './openai/chat.js';
import { openaiRequestError } from './openai/errors.js';
import { SHUTTING_DOWN } from './relay.js';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Largest request body accepted. Default `server.maxBodyBytes` of the configuration, else 1 MiB (413 beyond). */
  readonly maxBodyBytes?: number;
  /** Milliseconds between SSE heartbeat comments. Default 15 000; 0 disables. */
  readonly heartbeatMs?: number;
  /** One line per request (method, path, status, duration) and per failure. Default: none. */
  readonly logger?: Logger;
}

/** A running (or ready to run) gateway. */
export interface Gateway {
  /** Starts listening (default 127.0.0.1 on a free port); resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Stops gracefully: stops accepting connections, reports not ready, lets calls in flight finish for up
   * to `deadlineMs`, then cuts the rest with an `unavailable` error (their usage is charged as streamed),
   * and closes. Resolves with the number of calls cut.
   */
  drain(deadlineMs: number): Promise<number>;
  /** Stops at once: closes every connection (aborting their calls) and the pipeline's probes. */
  close(): Promise<void>;
}

/** Routes that need a key when `server.keys` is set. */
type CallerRoute = 'generate' | 'chat' | 'models' | 'status';
/** Routes open to probes and scrapers. */
type Route = CallerRoute | 'metrics' | 'healthz' | 'readyz';

const ROUTES: Readonly<Record<string, { readonly method: 'GET' | 'POST'; readonly route: Route }>> = {
  '/v1/chat/completions': { method: 'POST', route: 'chat' },
  '/v1/models': { method: 'GET', route: 'models' },
  '/v1/generate': { method: 'POST', route: 'generate' },
  '/v1/status': { method: 'GET', route: 'status' },
  '/metrics': { method: 'GET', route: 'metrics' },
  '/healthz': { method: 'GET', route: 'healthz' },
  '/readyz': { method: 'GET', route: 'readyz' },
};

/**
 * Creates the gateway's HTTP server for `pipeline`.
 *
 * Intuition: the configuration file's pipeline, behind the HTTP APIs existing clients already speak.
 *
 * ## Example
 * ```ts
 * import { loadPipeline } from 'rxllm/config';
 * import { createGateway } from 'rxllm/server';
 *
 * const gateway = createGateway(await loadPipeline('rxllm.yaml'));
 * console.log(await gateway.listen(8787)); // http://127.0.0.1:8787
 * process.once('SIGTERM', () => void gateway.drain(10_000));
 * ```
 *
 * @param pipeline What every call streams through (`loadPipeline`, `buildPipeline`).
 * @param options Body limit, heartbeats and logger.
 * @returns The gateway, not yet listening.
 */
export function createGateway(pipeline: Pipeline, options: GatewayOptions = {}): Gateway {
  const maxBodyBytes = options.maxBodyBytes ?? pipeline.config.server?.maxBodyBytes ?? 1024 * 1024;
  const log = options.logger;
  /** Calls in flight, each with the function that cuts it. */
  const calls = new Set<(error: LLMError) => void>();
  let idle: (() => void) | undefined;
  let draining = false;
  const context = {
    maxBodyBytes,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    track(cut: (error: LLMError) => void): () => void {
      calls.add(cut);
      return () => {
        calls.delete(cut);
        if (calls.size === 0) idle?.();
      };
    },
  };
  const callers = createCallers(pipeline);

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
      if (!res.headersSent) sendGenerateError(res, toLLMError(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    const entry = ROUTES[path];
    if (!entry) return notFound(res, path);
    if (entry.method !== (req.method ?? 'GET')) {
      res.setHeader('allow', entry.method);
      return sendJson(res, 405, {
        error: { kind: 'method_not_allowed', message: `${path} accepts ${entry.method} only` },
      });
    }
    if (draining && entry.method === 'POST') res.setHeader('connection', 'close');
    switch (entry.route) {
      case 'metrics': {
        const families = [...(await pipelineFamilies(pipeline)), ...(await callers.families())];
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(renderPrometheus(families));
        return;
      }
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'readyz':
        return sendJson(res, draining ? 503 : 200, {
          status: draining ? 'draining' : 'ready',
          calls: calls.size,
        });
      default: {
        const caller = callers.identify(req.headers);
        if (!caller) return unauthorized(req, res, entry.route);
        return callerRoute(entry.route, caller, req, res);
      }
    }
  }

  /** The routes a caller's key opens (every route when no keys are configured). */
  async function callerRoute(
    route: CallerRoute,
    caller: Caller,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    switch (route) {
      case 'chat':
        return chatCompletions(req, res, caller, context);
      case 'models':
        return listModels(res, caller);
      case 'generate':
        return generate(req, res, caller, context);
      case 'status':
        return sendJson(res, 200, await pipeline.status());
      default:
        return assertNever(route);
    }
  }

  /** Resolves when the server stopped accepting and its last connection ended. */
  let stopped: Promise<void> | undefined;
  const stopAccepting = (): Promise<void> =>
    (stopped ??= new Promise((resolve) => server.close(() => resolve())));
  const closed = async (): Promise<void> => {
    pipeline.close();
    const done = stopAccepting();
    server.closeAllConnections();
    await done;
  };

  return {
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}`);
        });
      });
    },
    async drain(deadlineMs) {
      draining = true;
      log?.info('gateway draining', { calls: calls.size, deadlineMs });
      // Stop accepting; keep-alive connections with no request in flight go now.
      void stopAccepting();
      server.closeIdleConnections();
      if (calls.size > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, deadlineMs);
        });
        clearTimeout(timer);
      }
      const cut = calls.size;
      if (cut > 0) log?.warn('gateway cut calls at the drain deadline', { calls: cut });
      for (const stop of [...calls]) stop(SHUTTING_DOWN());
      await closed();
      return cut;
    },
    close: closed,
  };
}

function unauthorized(req: IncomingMessage, res: ServerResponse, route: CallerRoute): void {
  req.resume();
  res.setHeader('www-authenticate', 'Bearer');
  const message = 'A valid key is required: Authorization: Bearer <key> (or x-api-key)';
  if (route === 'chat' || route === 'models') {
    return sendOpenAIError(res, openaiRequestError(401, message, 'invalid_api_key'));
  }
  sendJson(res, 401, { error: { kind: 'auth', message } });
}

function notFound(res: ServerResponse, path: string): void {
  sendJson(res, 404, { error: { kind: 'not_found', message: `No route ${path}` } });
}
