/** The `rxllm` command's exit codes. */
export const EXIT = {
  /** Done (or stopped by SIGTERM/SIGINT after draining). */
  ok: 0,
  /** A runtime failure: the port is taken, the server failed. */
  failure: 1,
  /** Wrong arguments: an unknown command or option, a bad value. */
  usage: 2,
  /** The configuration is invalid, unreadable, or names a key that cannot be resolved (EX_CONFIG). */
  config: 78,
} as const;

/** A usage error, reported with the command's help line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The value of `--port`. */
export function portOf(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port: expected an integer from 0 to 65535, got "${value}"`);
  }
  return port;
}
