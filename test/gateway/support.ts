import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server/gateway.js';
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

/** A finished run of the `rxllm` command. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** tsx's loader by path: the child runs in another directory, where `--import tsx` would not resolve. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** Node's arguments to run the `rxllm` command from its sources with `args`. */
export function cliArgs(args: readonly string[]): string[] {
  return ['--import', TSX, CLI, ...args];
}

/**
 * Starts the `rxllm` command from its sources (through tsx), in `cwd`, with `env` added to this process's
 * environment. Killed by `afterEach` cleanup or when `timeoutMs` passes, so no process outlives its test.
 */
export function spawnCli(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {},
): ChildProcessWithoutNullStreams & { done: Promise<CliRun>; output(): string } {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
  if (options.input !== undefined) child.stdin.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return Object.assign(child, { done, output: () => stdout });
}

/** Resolves with the gateway URL a `rxllm serve` child prints once it listens. */
export async function listeningUrl(child: ReturnType<typeof spawnCli>): Promise<string> {
  for (let waited = 0; waited < 15_000; waited += 25) {
    const match = /listening on (http:\/\/\S+)/.exec(child.output());
    if (match?.[1]) return match[1];
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`rxllm serve did not start: ${(await child.done).stderr}`);
}
