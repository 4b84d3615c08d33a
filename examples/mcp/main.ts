/**
 * The MCP server embedded in your own process, over stdio: `npx tsx examples/mcp/main.ts [config.yaml]`
 * does what `npx rxllm mcp examples/gateway/rxllm.yaml` does. Register either as a stdio command in an
 * MCP client. Nothing but protocol messages goes to stdout.
 */
import { loadPipeline } from 'rxllm/config';
import { serveMcpStdio } from 'rxllm/server';

const path = process.argv[2] ?? new URL('../gateway/rxllm.yaml', import.meta.url).pathname;
const service = await serveMcpStdio(await loadPipeline(path));
await service.closed;
