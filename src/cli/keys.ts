/** `rxllm keys hash` and `rxllm keys new`: virtual keys for `server.keys`. */
import { hashKey, newKey } from '../server/keys.js';
import { EXIT, UsageError } from './exit.js';

/**
 * `hash` reads a key from stdin (never from the command line, where shell history and `ps` would keep it)
 * and prints its hash; `new` prints a new key and its hash.
 */
export async function keys(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  switch (action) {
    case 'hash': {
      const key = (await readStdin()).trim();
      if (key === '')
        throw new UsageError('keys hash: give the key on stdin (echo "$KEY" | rxllm keys hash)');
      process.stdout.write(`${hashKey(key)}\n`);
      return EXIT.ok;
    }
    case 'new': {
      const key = newKey();
      process.stdout.write(`key:  ${key}\nhash: ${hashKey(key)}\n`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(action ? `unknown keys action "${action}" (hash, new)` : 'keys: hash or new?');
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('key: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
