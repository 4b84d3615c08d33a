import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LanguageModel } from '../../../src/core/model.js';
import { anthropic } from '../../../src/providers/anthropic/index.js';
import { gemini } from '../../../src/providers/gemini/index.js';
import { ollama } from '../../../src/providers/ollama/index.js';
import { openai } from '../../../src/providers/openai/index.js';
import type { Transport } from '../../../src/providers/shared/options.js';
import { anthropicProtocol } from '../../../src/testing/simulator/protocols/anthropic.js';
import { geminiProtocol } from '../../../src/testing/simulator/protocols/gemini.js';
import { ollamaProtocol } from '../../../src/testing/simulator/protocols/ollama.js';
import { openaiProtocol } from '../../../src/testing/simulator/protocols/openai.js';
import type { WireProtocol } from '../../../src/testing/simulator/protocol.js';

/** What the server answers every request with, until told otherwise. */
export interface Reply {
  readonly status: number;
  readonly headers?: { readonly [name: string]: string };
  readonly body: string;
}

/** A loopback server that answers each request with the current {@link Reply}, byte for byte. */
export interface WireServer {
  readonly url: string;
  /** The parsed JSON body of the last request. */
  readonly lastBody: unknown;
  reply(next: Reply): void;
  close(): Promise<void>;
}

/** Starts a {@link WireServer} on 127.0.0.1 (an ephemeral port). */
export async function wireServer(): Promise<WireServer> {
  let current: Reply = { status: 200, body: '' };
  let lastBody: unknown;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        lastBody = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        lastBody = undefined;
      }
      res.writeHead(current.status, { 'content-type': 'text/event-stream', ...current.headers });
      res.end(current.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get lastBody() {
      return lastBody;
    },
    reply(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The four protocols, each with its simulator renderer and a model factory over either transport. */
export interface Vendor {
  readonly name: 'openai' | 'anthropic' | 'gemini' | 'ollama';
  readonly protocol: WireProtocol;
  readonly contentType: string;
  model(url: string, transport: Transport): LanguageModel;
}

const KEY = 'sk-test-wire-key-000000001';

export const VENDORS: readonly Vendor[] = [
  {
    name: 'openai',
    protocol: openaiProtocol,
    contentType: 'text/event-stream',
    model: (url, transport) => openai({ apiKey: KEY, baseURL: `${url}/v1`, model: 'gpt-4o-mini', transport }),
  },
  {
    name: 'anthropic',
    protocol: anthropicProtocol,
    contentType: 'text/event-stream',
    model: (url, transport) => anthropic({ apiKey: KEY, baseURL: url, model: 'claude-haiku-4-5', transport }),
  },
  {
    name: 'gemini',
    protocol: geminiProtocol,
    contentType: 'text/event-stream',
    model: (url, transport) => gemini({ apiKey: KEY, baseURL: url, model: 'gemini-2.0-flash', transport }),
  },
  {
    name: 'ollama',
    protocol: ollamaProtocol,
    contentType: 'application/x-ndjson',
    model: (url, transport) => ollama({ host: url, model: 'llama3.2', transport }),
  },
];

/** One request every test sends. */
export const REQUEST = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };
