import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway `redis-server` for tests: loopback only, on a free port, no persistence, in a temp dir.
 * It can be stopped and started again on the same port (Redis down, then back), or paused with SIGSTOP
 * (Redis slow: connections stay open, nothing answers). `dispose()` kills it and removes the dir; call
 * it in `afterAll` so no process outlives the tests, even when one fails.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts it (again) on the same port and resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it (SIGKILL) and resolves once the process is gone. */
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, commands get no answer. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
  /** Stops it for good and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/** `REDIS_SERVER` if set, else `redis-server` on PATH. */
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** A port the OS says is free now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once a PING on `port` gets PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

/** Starts a `redis-server` for tests. Fails with a clear message when `redis-server` is not installed. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rxllm-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let disposed = false;
  // Last resort if the test process dies before afterAll: never leave a redis-server behind.
  const onExit = (): void => void child?.kill('SIGKILL');
  process.once('exit', onExit);

  const start = async (): Promise<void> => {
    if (disposed) throw new Error('redis-server test helper already disposed');
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(
      BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'ENOENT'
            ? new Error(
                `'${BINARY}' was not found on PATH: the Redis store tests need a local redis-server ` +
                  `(Debian/Ubuntu: apt-get install redis-server; or set REDIS_SERVER to its path)`,
              )
            : error,
        );
      });
      proc.once('exit', (code, signal) =>
        reject(new Error(`redis-server exited at start (code ${code}, signal ${signal}): ${stderr.trim()}`)),
      );
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + 5000;
    for (;;) {
      const up = await Promise.race([ping(port), failed]);
      if (up) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer on port ${port} within 5 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a paused server cannot act on anything else
    proc.kill('SIGKILL');
    await exited;
  };

  const signal = (name: NodeJS.Signals): void => {
    if (child && child.exitCode === null) child.kill(name);
  };

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async dispose() {
      if (disposed) return;
      disposed = true;
      process.off('exit', onExit);
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}
