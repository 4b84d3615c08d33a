import { createLogger, type Logger } from '../observability/logger.js';
import { UsageError } from './exit.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A logger writing redacted JSON lines to stderr (stdout is the MCP protocol's, or the user's). */
export function stderrLogger(level = 'info'): Logger {
  const known = LEVELS.find((l) => l === level);
  if (!known) throw new UsageError(`--log-level: expected one of ${LEVELS.join(', ')}, got "${level}"`);
  return createLogger((record) => process.stderr.write(`${JSON.stringify(record)}\n`), { level: known });
}
