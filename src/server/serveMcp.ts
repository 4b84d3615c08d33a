/**
 * The MCP server of {@link createMcpServer} on a transport: stdio (a client starts the process) or
 * Streamable HTTP (clients connect to a URL). The MCP SDK is an optional peer, loaded here only.
 */
import type { Pipeline } from '../config/build.js';

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
  const close = async (): Promise<void> => {
    pipeline.close();
    await server.close();
  };
  const closed = new Promise<void>((resolve) => {
    const end = (): void => void close().then(resolve, resolve);
    process.stdin.once('end', end).once('close', end);
  });
  return { closed, close };
}
