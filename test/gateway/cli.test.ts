/** The `rxllm` command as a user runs it: arguments, exit codes, messages, and a served gateway. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import pkg from '../../package.json' with { type: 'json' };
import { hashKey } from '../../src/server/keys.js';
import type { Simulator } from '../../src/testing/simulator/server.js';
import { ANTHROPIC_KEY, gatewayConfig, listeningUrl, OPENAI_KEY, simulator, spawnCli } from './support.js';

describe('rxllm command', () => {
  let dir: string;
  let sim: Simulator;
  const children: ReturnType<typeof spawnCli>[] = [];
  const run = (args: string[], options: Parameters<typeof spawnCli>[1] = {}) => {
    const child = spawnCli(args, {
      cwd: dir,
      ...options,
      env: { SIM: sim.url, OPENAI_KEY, ANTHROPIC_KEY, ...options.env },
    });
    children.push(child);
    return child;
  };
  /** `main` in this process (fast), with stdout and stderr captured. */
  const runHere = async (args: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(dir);
    vi.stubEnv('SIM', sim.url);
    vi.stubEnv('OPENAI_KEY', OPENAI_KEY);
    vi.stubEnv('ANTHROPIC_KEY', ANTHROPIC_KEY);
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const code = await main(
        args.map((a) => (a.endsWith('.yaml') ? join(dir, a) : a)),
        '9.9.9',
      );
      return { code, stdout, stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
      cwd.mockRestore();
      vi.unstubAllEnvs();
    }
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxllm-cli-'));
    sim = await simulator();
    await writeFile(join(dir, 'rxllm.yaml'), gatewayConfig());
    await writeFile(join(dir, 'bad.yaml'), gatewayConfig('routing: { strategy: fastest }'));
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('--help prints the commands and exit codes; --version the package version', async () => {
    const help = await runHere(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('rxllm serve [config]');
    expect(help.stdout).toContain('rxllm mcp [config]');
    expect(help.stdout).toContain(
      'Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error',
    );
    const version = await run(['--version']).done;
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it.each([
    [[], 'no command given'],
    [['launch'], 'unknown command "launch"'],
    [['serve', '--port', 'eighty'], '--port: expected an integer'],
    [['serve', '--colour'], "Unknown option '--colour'"],
    [['serve', 'a', 'b'], 'unexpected arguments: b'],
    [['serve', '--drain-ms', 'soon'], '--drain-ms: expected milliseconds'],
    [['keys', 'rotate'], 'unknown keys action "rotate"'],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const { code, stderr, stdout } = await runHere(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('rxllm --help');
    expect(stdout).toBe('');
  });

  it('exits 78 on a configuration error, naming the file or the field', async () => {
    const missing = await run(['serve', 'nowhere.yaml']).done; // the real process's exit code
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('nowhere.yaml');
    const bad = await runHere(['serve', 'bad.yaml']);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('routing.strategy');
    const unset = await runHere(['mcp', 'rxllm.yaml'], { OPENAI_KEY: '' });
    expect(unset.code).toBe(78);
    expect(unset.stderr).toContain('providers[0].apiKey');
  });

  it('without server.keys, refuses a non-loopback server.host from the file (78) unless --host says so', async () => {
    await writeFile(join(dir, 'open.yaml'), gatewayConfig('server: { host: 0.0.0.0 }'));
    const refused = await runHere(['serve', 'open.yaml']);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('server.host: 0.0.0.0 would open the server to the network');
  });

  it('keys hash reads the key from stdin; keys new makes a key and its hash', async () => {
    const hashed = await run(['keys', 'hash'], { input: 'sk-rxllm-test-key\n' }).done;
    expect(hashed).toMatchObject({ code: 0, stdout: `${hashKey('sk-rxllm-test-key')}\n` });
    const made = await runHere(['keys', 'new']);
    const [, key, hash] = /key: +(\S+)\nhash: +(\S+)/.exec(made.stdout) ?? [];
    expect(key).toMatch(/^sk-rxllm-[\w-]{43}$/);
    expect(hash).toBe(hashKey(key!));
  });

  it('serves the configuration (RXLLM_CONFIG or ./rxllm.yaml), then exits 0 on SIGTERM', async () => {
    sim.handle(() => ({ text: 'served' }));
    const child = run(['serve', '--port', '0']);
    const url = await listeningUrl(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: false }),
    });
    expect(await res.json()).toMatchObject({ text: 'served', provider: 'primary' });
    child.kill('SIGTERM');
    const { code, stderr } = await child.done;
    expect(code).toBe(0);
    expect(stderr).toContain('"gateway stopped"');
    expect(stderr).not.toContain(OPENAI_KEY);
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, stderr } = await run(['serve', '--port', String(port)]).done;
      expect(code).toBe(1);
      expect(stderr).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});
