import { createGateway, type Gateway, type GatewayOptions } from '../../examples/gateway/gateway.js';
import { buildPipeline, type BuildOptions, type Pipeline } from '../../src/config/build.js';
import { parseConfig } from '../../src/config/load.js';
import { anthropicProtocol } from '../../src/testing/simulator/protocols/anthropic.js';
import { openaiProtocol } from '../../src/testing/simulator/protocols/openai.js';
import { createSimulator, type Simulator } from '../../src/testing/simulator/server.js';

export const OPENAI_KEY = 'sk-gw-SECRET-MARKER-openai-0001';
export const ANTHROPIC_KEY = 'gw-SECRET-MARKER-anthropic-0002';

export function simulator(): Promise<Simulator> {
  return createSimulator({ protocols: [openaiProtocol, anthropicProtocol] });
}

/** A configuration of two providers on the simulator, plus `extra` YAML sections. */
export function gatewayConfig(extra = ''): string {
  return `
providers:
  - name: primary
    type: openai
    model: gpt-4o-mini
    baseURL: \${SIM}/v1
    apiKey: \${OPENAI_KEY}
  - name: backup
    type: anthropic
    model: claude-haiku-4-5
    baseURL: \${SIM}
    apiKey: { env: ANTHROPIC_KEY }
retry: { maxAttempts: 1 }
${extra}`;
}

export interface Running {
  readonly url: string;
  readonly gateway: Gateway;
  readonly pipeline: Pipeline;
}

/** Builds the pipeline from YAML and starts a gateway on loopback. */
export async function startGateway(
  sim: Simulator,
  yaml: string,
  options: { build?: BuildOptions; gateway?: GatewayOptions } = {},
): Promise<Running> {
  const env = { SIM: sim.url, OPENAI_KEY, ANTHROPIC_KEY };
  const pipeline = await buildPipeline(parseConfig(yaml, { env }), { env, ...options.build });
  const gateway = createGateway(pipeline, options.gateway);
  const url = await gateway.listen();
  return { url, gateway, pipeline };
}

/** POSTs a JSON body to /v1/generate. */
export function generate(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/v1/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal && { signal: init.signal }),
  });
}

export const hello = { messages: [{ role: 'user', content: 'Say hello' }] };
