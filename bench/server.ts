/**
 * The benchmark's loopback server, run in its own process: it streams pre-rendered bodies of every vendor
 * protocol as fast as the socket takes them.
 *
 * The answer's size travels in the path: `http://127.0.0.1:PORT/t/<tokens>/v1/chat/completions`. Bodies
 * are rendered once per protocol (a block of frames by the simulator's own protocol renderers, the bytes
 * a vendor sends) and repeated to any size, so a 1,000,000-token body costs no more memory than a small
 * one. The first write is the head and the first content frame (the first token goes out at once); the
 * rest follows, honouring backpressure. Prints `READY <port>` when listening.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicProtocol } from '../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../src/testing/simulator/protocols/gemini.js';
import { ollamaProtocol } from '../src/testing/simulator/protocols/ollama.js';
import { openaiProtocol } from '../src/testing/simulator/protocols/openai.js';
import type { WireProtocol } from '../src/testing/simulator/protocol.js';
import { blockTokens, layout } from './lib/corpus.js';
import { PROTOCOL_MODEL, type ProtocolName } from './lib/protocols.js';

const PROTOCOLS: readonly WireProtocol[] = [
  openaiProtocol,
  anthropicProtocol,
  geminiProtocol,
  ollamaProtocol,
];

interface Frames {
  readonly contentType: string;
  /** Head and the first content frame: the first write. */
  readonly first: Buffer;
  /** Content frames of tokens 1..BLOCK. */
  readonly block: Buffer;
  /** Byte offset in `block` after each of its frames (`ends[k]`: after k+1 frames). */
  readonly ends: readonly number[];
  /** Closing frames, rendered for a given total. */
  readonly tail: (tokens: number) => Buffer;
}

const framesCache = new Map<ProtocolName, Frames>();

function frames(protocol: WireProtocol): Frames {
  const cached = framesCache.get(protocol.name);
  if (cached) return cached;
  const tokens = blockTokens();
  const render = (outputTokens: number) =>
    protocol.render(
      {
        model: PROTOCOL_MODEL[protocol.name],
        textChunks: tokens,
        toolCalls: [],
        finish: 'stop',
        usage: { inputTokens: 12, outputTokens },
      },
      'bench-0001',
      { stream_options: { include_usage: true } },
    );
  const rendered = render(tokens.length);
  const block: Buffer[] = rendered.content.slice(1).map((f) => Buffer.from(f, 'utf8'));
  const ends: number[] = [];
  let offset = 0;
  for (const b of block) ends.push((offset += b.length));
  const result: Frames = {
    contentType: protocol.contentType,
    first: Buffer.from(rendered.head.join('') + (rendered.content[0] as string), 'utf8'),
    block: Buffer.concat(block),
    ends,
    tail: (n) => Buffer.from(render(n).tail.join(''), 'utf8'),
  };
  framesCache.set(protocol.name, result);
  return result;
}

/** Writes `chunk`; when the socket's buffer is full, waits until it drains (or the client left). */
async function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}

async function stream(res: ServerResponse, protocol: WireProtocol, tokens: number): Promise<void> {
  const f = frames(protocol);
  const { repeats, rest } = layout(tokens);
  res.writeHead(200, { 'content-type': f.contentType, 'cache-control': 'no-cache' });
  if (!(await write(res, f.first))) return;
  for (let r = 0; r < repeats; r++) if (!(await write(res, f.block))) return;
  if (rest > 0 && !(await write(res, f.block.subarray(0, f.ends[rest - 1])))) return;
  res.end(f.tail(tokens));
}

const PATH = /^\/t\/(\d+)(\/.*)$/;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = PATH.exec(url.pathname);
  const tokens = match ? Number(match[1]) : 0;
  const rest = match ? (match[2] as string) : url.pathname;
  const protocol = PROTOCOLS.find((p) => p.matches(req.method ?? 'GET', rest));
  // Drain the request body, then answer.
  req.resume();
  req.on('end', () => {
    if (!protocol || tokens < 1) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such route"}');
      return;
    }
    stream(res, protocol, tokens).catch(() => res.destroy());
  });
});
server.keepAliveTimeout = 30_000;
server.maxConnections = 65_536;
server.listen({ port: 0, host: '127.0.0.1', backlog: 65_535 }, () => {
  // Render every protocol's frames before announcing readiness: no client pays for it.
  for (const p of PROTOCOLS) frames(p);
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
