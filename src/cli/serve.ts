/** `rxllm serve`: the gateway on the configured (or given) address, drained on SIGTERM/SIGINT. */
import { loadPipeline, type Pipeline } from '../config/build.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../observability/logger.js';
import { createGateway } from '../server/gateway.js';
import { EXIT, portOf, UsageError } from './exit.js';
import { stderrLogger } from './logger.js';
import type { CliValues } from './main.js';

const DEFAULT_DRAIN_MS = 10_000;

/** Runs the gateway until a signal stops it; resolves with the exit code. */
export async function serve(configPath: string, values: CliValues): Promise<number> {
  // Every option is checked before the configuration is read: a usage error is reported as one.
  const drainMs = msOf('--drain-ms', values['drain-ms'], DEFAULT_DRAIN_MS);
  const port = values.port === undefined ? undefined : portOf(values.port);
  const logger = stderrLogger(values['log-level']);
  const pipeline = await loadPipeline(configPath, { logger });
  const server = pipeline.config.server;
  const host = bindHost(values.host, pipeline, configPath, logger);
  const gateway = createGateway(pipeline, { logger });
  let url: string;
  try {
    url = await gateway.listen(port ?? server?.port ?? 8787, host);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  logger.info('gateway listening', { url });
  process.stdout.write(`rxllm gateway listening on ${url}\n`);
  return untilSignal(async (signal) => {
    logger.info('gateway stopping', { signal, drainMs });
    const cut = await gateway.drain(drainMs);
    logger.info('gateway stopped', { cut });
  });
}

/**
 * Resolves with exit code 0 after `stop` ran for the first SIGTERM or SIGINT; a second signal while
 * stopping exits at once with 1.
 */
export function untilSignal(stop: (signal: NodeJS.Signals) => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      const again = (): void => process.exit(EXIT.failure);
      process.once('SIGTERM', again).once('SIGINT', again);
      stop(signal).then(
        () => {
          process.off('SIGTERM', again).off('SIGINT', again);
          resolve(EXIT.ok);
        },
        () => resolve(EXIT.failure),
      );
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  });
}

function msOf(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${name}: expected milliseconds (an integer), got "${value}"`);
  return Number(value);
}

/**
 * The address to listen on: `--host`, else `server.host`, else 127.0.0.1. Without `server.keys`, a
 * non-loopback `server.host` is a configuration error (the file alone must not open an unauthenticated
 * server to the network); `--host` is the operator saying so, with a warning.
 */
export function bindHost(
  option: string | undefined,
  pipeline: Pipeline,
  configPath: string,
  logger: Logger,
): string {
  const server = pipeline.config.server;
  const host = option ?? server?.host ?? '127.0.0.1';
  if (isLoopback(host) || (server?.keys ?? []).length > 0) return host;
  if (option !== undefined) {
    logger.warn('listening on the network without keys (--host)', { host });
    return host;
  }
  pipeline.close();
  throw new ConfigError(
    [
      {
        path: 'server.host',
        message: `${host} would open the server to the network with no server.keys; add keys, or pass --host ${host} to mean it`,
      },
    ],
    configPath,
  );
}

/** Whether `host` names this machine only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
