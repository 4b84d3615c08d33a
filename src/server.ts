/**
 * `rxllm/server`: the gateway (OpenAI's chat completions API and rxllm's own `/v1/generate` in front of a
 * configured pipeline) and the MCP server, as run by the `rxllm` command. Node only; a separate entry so
 * the core never loads `node:http`.
 *
 * @packageDocumentation
 */

// Gateway
export type { Gateway, GatewayOptions } from './server/gateway.js';
export { createGateway } from './server/gateway.js';
export { httpStatusOf } from './server/status.js';

// Virtual keys
export { hashKey, newKey } from './server/keys.js';

// MCP (loads the optional peer @modelcontextprotocol/sdk)
export type { McpHttpOptions, McpHttpService, McpService } from './server/serveMcp.js';
export { serveMcpHttp, serveMcpStdio } from './server/serveMcp.js';
