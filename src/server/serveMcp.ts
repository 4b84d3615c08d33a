/**
 * The MCP server of {@link createMcpServer} on a transport: stdio (a client starts the process) or
 * Streamable HTTP (clients connect to a URL). The MCP SDK is an optional peer, loaded here only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pipeline } from '../config/build.js';
import { createCallers } from './callers.js';
import { sendJson } from './http.js';

/** A running MCP server. */
export interface McpService {
  /** Resolves when the transport ended (stdin closed, or {@link McpService.close} called). */
  readonly closed: Promise<void>;
  /** Stops serving and the pipeline's probes. */
  close(): Promise<void>;
}

/**
 * Serves MCP over this process's stdin and stdout. Nothing but protocol messages may go to stdout while
 * it runs (log to stderr).
 *
 * ## Example
 * ```ts
 * import { loadPipeline } from 'rxllm/config';
 * import { serveMcpStdio } from 'rxllm/server';
 *
 * const service = await serveMcpStdio(await loadPipeline('rxllm.yaml'));
 * await service.closed; // the client closed stdin
 * ```
 *
 * @param pipeline What the tools stream through.
 * @returns The service, connected.
 */
export async function serveMcpStdio(pipeline: Pipeline): Promise<McpService> {
  const [{ createMcpServer }, { StdioServerTransport }] = await Promise.all([
    import('./mcp.js'),
    import('@modelcontextprotocol/sdk/server/stdio.js'),
  ]);
  const server = createMcpServer(pipeline);
  await server.connect(new StdioServerTransport());
  let ended: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (ended = resolve));
  const close = async (): Promise<void> => {
    pipeline.close();
    await server.close();
    ended();
  };
  const end = (): void => void close().catch(ended);
  process.stdin.once('end', end).once('close', end);
  return { closed, close };
}

/** Options of {@link serveMcpHttp}. */
export interface McpHttpOptions {
  /** Port. Default 0 (a free one). */
  readonly port?: number;
  /** Address. Default `127.0.0.1`. */
  readonly host?: string;
}

/** A running MCP server on HTTP. */
export interface McpHttpService extends McpService {
  /** The endpoint clients connect to (`http://host:port/mcp`). */
  readonly url: string;
}

/**
 * Serves MCP over Streamable HTTP at `/mcp`, stateless: each request gets a fresh server, so any number
 * of clients (and gateway processes behind one address) work without sessions. With `server.keys`
 * configured, a request needs a key (`Authorization: Bearer <key>`) and its calls go through the key's
 * budget, rate limit and metrics.
 *
 * ## Example
 * ```ts
 * import { loadPipeline } from 'rxllm/config';
 * import { serveMcpHttp } from 'rxllm/server';
 *
 * const service = await serveMcpHttp(await loadPipeline('rxllm.yaml'), { port: 8788 });
 * console.log(service.url); // http://127.0.0.1:8788/mcp
 * ```
 *
 * @param pipeline What the tools stream through.
 * @param options Where to listen.
 * @returns The service, listening.
 */
export async function serveMcpHttp(
  pipeline: Pipeline,
  options: McpHttpOptions = {},
): Promise<McpHttpService> {
  const [{ createMcpServer }, { StreamableHTTPServerTransport }] = await Promise.all([
    import('./mcp.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  ]);
  const callers = createCallers(pipeline);
  const http = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://mcp').pathname !== '/mcp') {
      req.resume();
      return sendJson(res, 404, { error: { kind: 'not_found', message: 'MCP is served at /mcp' } });
    }
    const caller = callers.identify(req.headers);
    if (!caller) {
      req.resume();
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, {
        jsonrpc: '2.0',
        error: { code: -32001, message: 'A valid key is required: Authorization: Bearer <key>' },
        id: null,
      });
    }
    const server = createMcpServer(pipeline, { model: caller.model });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent)
          sendJson(res, 500, {
            jsonrpc: '2.0',
            error: { code: -32603, message: 'Internal error' },
            id: null,
          });
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let ended: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (ended = resolve));
  return {
    url: `http://${host}:${address.port}/mcp`,
    closed,
    async close() {
      pipeline.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      ended();
    },
  };
}
