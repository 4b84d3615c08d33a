/**
 * Runs the MCP server over stdio: `npx tsx examples/mcp/main.ts [config.yaml]` (default: the gateway's
 * example configuration, or `RXLLM_CONFIG`). Register it in an MCP client as a stdio command. Nothing
 * but protocol messages goes to stdout; errors go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadPipeline } from '../../src/config/build.js';
import { ConfigError } from '../../src/config/errors.js';
import { CredentialError } from '../../src/credentials/errors.js';
import { createMcpServer } from './server.js';

const path =
  process.argv[2] ?? process.env.RXLLM_CONFIG ?? new URL('../gateway/rxllm.yaml', import.meta.url).pathname;

try {
  const pipeline = await loadPipeline(path);
  const server = createMcpServer(pipeline);
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => {
    pipeline.close();
    void server.close();
  });
} catch (error) {
  if (ConfigError.isInstance(error) || CredentialError.isInstance(error)) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
