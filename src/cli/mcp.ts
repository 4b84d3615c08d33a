/** `rxllm mcp`: the MCP server over stdio (stdout carries only protocol messages). */
import { loadPipeline } from '../config/build.js';
import { serveMcpStdio } from '../server/serveMcp.js';
import { EXIT } from './exit.js';
import { stderrLogger } from './logger.js';
import type { CliValues } from './main.js';

/** Serves MCP until the client closes stdin; resolves with the exit code. */
export async function mcp(configPath: string, values: CliValues): Promise<number> {
  const logger = stderrLogger(values['log-level']);
  const pipeline = await loadPipeline(configPath, { logger });
  const service = await serveMcpStdio(pipeline);
  await service.closed;
  return EXIT.ok;
}
