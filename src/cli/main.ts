import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { CredentialError } from '../credentials/errors.js';
import { EXIT, UsageError } from './exit.js';
import { keys } from './keys.js';
import { mcp } from './mcp.js';
import { serve } from './serve.js';

export const HELP = `rxllm: reactive LLM pipelines from a configuration file

Usage:
  rxllm serve [config] [--host H] [--port N] [--drain-ms N]   the HTTP gateway (OpenAI API, /v1/generate)
  rxllm mcp [config] [--http] [--host H] [--port N]           the MCP server (stdio, or Streamable HTTP)
  rxllm keys hash                                             hash a virtual key read from stdin
  rxllm keys new                                              make a virtual key and its hash

  config defaults to $RXLLM_CONFIG, else ./rxllm.yaml

Options:
  --host H       address to bind (default server.host of the configuration, else 127.0.0.1; without
                 server.keys only a loopback address unless given here)
  --port N       port (default server.port, else 8787 for serve and 8788 for mcp --http; 0 picks one)
  --drain-ms N   on SIGTERM/SIGINT, how long calls in flight may finish before they are cut (default 10000)
  --log-level L  debug | info | warn | error (default info; JSON lines on stderr)
  -h, --help     this text
  -v, --version  the package version

Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'drain-ms': { type: 'string' },
  'log-level': { type: 'string' },
  http: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

/** Parsed options of every command. */
export type CliValues = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** Runs the command line `args`; resolves with the exit code (a server's when it stopped). */
export async function main(args: readonly string[], version: string): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
    if (values.version) {
      process.stdout.write(`${version}\n`);
      return EXIT.ok;
    }
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    switch (command) {
      case 'serve':
        return await serve(configPath(rest), values);
      case 'mcp':
        return await mcp(configPath(rest), values);
      case 'keys':
        return await keys(rest);
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof UsageError || isParseArgsError(error)) {
    process.stderr.write(`rxllm: ${(error as Error).message}\nRun rxllm --help for usage.\n`);
    return EXIT.usage;
  }
  if (ConfigError.isInstance(error) || CredentialError.isInstance(error)) {
    process.stderr.write(`rxllm: ${error.message}\n`);
    return EXIT.config;
  }
  process.stderr.write(`rxllm: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failure;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function configPath(positionals: readonly string[]): string {
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  return positionals[0] ?? process.env.RXLLM_CONFIG ?? 'rxllm.yaml';
}
