/**
 * The gateway embedded in your own process: `npx tsx examples/gateway/main.ts [config.yaml]` does what
 * `npx rxllm serve examples/gateway/rxllm.yaml` does (see docs/gateway.md). Logs go to stderr as JSON.
 */
import { createLogger } from 'rxllm';
import { loadPipeline } from 'rxllm/config';
import { createGateway } from 'rxllm/server';

const path = process.argv[2] ?? new URL('./rxllm.yaml', import.meta.url).pathname;
const logger = createLogger((record) => process.stderr.write(`${JSON.stringify(record)}\n`));

const pipeline = await loadPipeline(path, { logger });
const gateway = createGateway(pipeline, { logger });
const { host, port } = pipeline.config.server ?? {};
logger.info('gateway listening', { url: await gateway.listen(port ?? 8787, host) });

// SIGTERM: stop accepting, let streams finish for up to 10 s, cut the rest (their usage charged), exit.
process.once('SIGTERM', () => void gateway.drain(10_000).then(() => process.exit(0)));
process.once('SIGINT', () => void gateway.close().then(() => process.exit(0)));
