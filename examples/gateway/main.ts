/**
 * Runs the gateway: `npx tsx examples/gateway/main.ts [config.yaml]` (default `examples/gateway/rxllm.yaml`,
 * or the `RXLLM_CONFIG` variable). Listens on `server.host`/`server.port` of the configuration
 * (default 127.0.0.1:8787). Log lines go to stderr as JSON, after redaction.
 */
import { loadPipeline } from '../../src/config/build.js';
import { ConfigError } from '../../src/config/errors.js';
import { CredentialError } from '../../src/credentials/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { createGateway } from './gateway.js';

const path = process.argv[2] ?? process.env.RXLLM_CONFIG ?? new URL('./rxllm.yaml', import.meta.url).pathname;
const logger = createLogger((record) => process.stderr.write(`${JSON.stringify(record)}\n`), {
  level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info',
});

try {
  const pipeline = await loadPipeline(path, { logger });
  const gateway = createGateway(pipeline, { logger });
  const url = await gateway.listen(
    pipeline.config.server?.port ?? 8787,
    pipeline.config.server?.host ?? '127.0.0.1',
  );
  logger.info('gateway listening', { url });
  const stop = (): void => {
    logger.info('gateway stopping');
    void gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  if (ConfigError.isInstance(error) || CredentialError.isInstance(error)) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
