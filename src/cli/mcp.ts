/** `rxllm mcp`: the MCP server over stdio (stdout carries only protocol messages), or `--http`. */
import { loadPipeline } from '../config/build.js';
import { serveMcpHttp, serveMcpStdio } from '../server/serveMcp.js';
import { EXIT, portOf } from './exit.js';
import { stderrLogger } from './logger.js';
import type { CliValues } from './main.js';
import { bindHost, untilSignal } from './serve.js';

/** Serves MCP until the client closes stdin (stdio) or a signal stops it (HTTP); resolves with the exit code. */
export async function mcp(configPath: string, values: CliValues): Promise<number> {
  const port = values.port === undefined ? undefined : portOf(values.port);
  const logger = stderrLogger(values['log-level']);
  const pipeline = await loadPipeline(configPath, { logger });
  if (!values.http) {
    const service = await serveMcpStdio(pipeline);
    await service.closed;
    return EXIT.ok;
  }
  const service = await serveMcpHttp(pipeline, {
    port: port ?? 8788,
    host: bindHost(values.host, pipeline, configPath, logger),
  });
  logger.info('mcp listening', { url: service.url });
  process.stdout.write(`rxllm mcp listening on ${service.url}\n`);
  return untilSignal(() => service.close());
}
