/**
 * The rxllm live web demo: a small Node server that runs a resilient pipeline and streams it to the page
 * as Server-Sent Events.
 *
 *   npx tsx examples/web/server.ts            # on the wire-level simulator, http://127.0.0.1:5173
 *   ANTHROPIC_API_KEY=… OPENAI_API_KEY=… npx tsx examples/web/server.ts --live
 *
 * The pipeline (per request):
 *
 *   claude ─withTimeout─┐
 *                       ├─ withFallback({ onMidStream: 'restart' }) ─ budget() ─ pipeSSE → browser
 *   gpt    ─withTimeout─┘
 *
 * On the simulator, each request's scenario (normal, fallback, restart, slow) scripts what the simulated
 * vendors do. With `--live` and keys set, the real vendors answer; the fault scenarios still script the
 * failing first provider on the simulator, then fall back to the real ones.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  anthropic,
  type ChatRequest,
  createBudget,
  type LanguageModel,
  openai,
  pipeSSE,
  withFallback,
  withTimeout,
} from 'rxllm';
import {
  anthropicProtocol,
  createSimulator,
  openaiProtocol,
  type Scenario,
  type Simulator,
} from 'rxllm/testing';
import { buildApp } from './build.js';
import { type DemoScenario, isDemoScenario } from './scenarios.js';

const here = dirname(fileURLToPath(import.meta.url));

const CLAUDE = 'claude-haiku-4-5';
const GPT = 'gpt-4o-mini';

/** What the simulated vendors answer (distinct, so a test can tell who answered). */
export const DEMO_ANSWERS = {
  claude:
    'Backpressure lets a slow consumer set the pace: the model streams tokens as fast as it can, ' +
    'but the page renders them as they arrive, and when the reader leaves the call is cancelled at once.',
  gpt:
    'Think of a token stream as a conveyor belt. Cancel it and the belt stops; ' +
    'fail over and a second belt starts; the reader only ever sees one answer.',
} as const;

/** Options of {@link startWebDemo}. */
export interface WebDemoOptions {
  /** Port to listen on (127.0.0.1). Default 0: a free port. */
  readonly port?: number;
  /** Use the real vendors whose keys are set (ANTHROPIC_API_KEY, OPENAI_API_KEY). Default false. */
  readonly live?: boolean;
  /** Milliseconds between simulated tokens. Default 45. */
  readonly tokenDelayMs?: number;
  /** Bundle React's development build (StrictMode checks on). Default false. */
  readonly reactDev?: boolean;
  /** Where request lines are logged. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** A running demo. */
export interface WebDemo {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** The simulator the pipeline calls (its `requests` show what reached the "vendors"). */
  readonly simulator: Simulator;
  /** True when real vendors answer the non-fault parts. */
  readonly live: boolean;
  close(): Promise<void>;
}

/** What the simulated vendors do for one request of a scenario, by protocol. */
type Scripts = Partial<Record<'anthropic' | 'openai', Scenario>>;

function scriptsFor(scenario: DemoScenario, tokenDelayMs: number): Scripts {
  const claude: Scenario = { text: DEMO_ANSWERS.claude, tokenDelayMs, firstTokenDelayMs: tokenDelayMs };
  const gpt: Scenario = { text: DEMO_ANSWERS.gpt, tokenDelayMs, firstTokenDelayMs: tokenDelayMs };
  switch (scenario) {
    case 'normal':
      return { anthropic: claude, openai: gpt };
    case 'fallback':
      return { anthropic: { fault: { type: 'status', status: 529 } }, openai: gpt };
    case 'restart':
      // Anthropic's way of failing mid-answer: HTTP 200, some tokens, then an `overloaded_error` event.
      return {
        anthropic: { ...claude, fault: { type: 'error-event', tokens: 8, error: 'overloaded' } },
        openai: gpt,
      };
    case 'slow':
      return {
        anthropic: { ...claude, text: Array(8).fill(DEMO_ANSWERS.claude).join(' '), tokenDelayMs: 150 },
        openai: gpt,
      };
  }
}

/** Starts the simulator, bundles the page and serves it with `POST /api/generate`. */
export async function startWebDemo(options: WebDemoOptions = {}): Promise<WebDemo> {
  const tokenDelayMs = options.tokenDelayMs ?? 45;
  const log = options.log ?? (() => undefined);
  const runs = new Map<string, Scripts>();
  const simulator = await createSimulator({ protocols: [anthropicProtocol, openaiProtocol] });
  simulator.handle((request) => {
    const run = request.headers['x-demo-run'];
    const scripts = typeof run === 'string' ? runs.get(run) : undefined;
    return request.protocol === 'anthropic' || request.protocol === 'openai'
      ? scripts?.[request.protocol]
      : undefined;
  });

  const bounded = (m: LanguageModel): LanguageModel =>
    m.pipe(withTimeout({ firstTokenMs: 20_000, idleMs: 15_000 }));
  const liveModels: LanguageModel[] = [];
  if (options.live === true) {
    if (process.env.ANTHROPIC_API_KEY) liveModels.push(bounded(anthropic({ model: CLAUDE })));
    if (process.env.OPENAI_API_KEY) liveModels.push(bounded(openai({ model: GPT })));
  }
  // One budget for the whole server: a cap per request and per day (simulated calls are priced too).
  const spend = createBudget({ perRequest: 0.05, limits: { day: 1 } });

  /** The pipeline of one request: simulated vendors are tagged with the run, which picks their script. */
  const pipelineFor = (run: string, scenario: DemoScenario): LanguageModel => {
    const headers = { 'x-demo-run': run };
    const simClaude = bounded(
      anthropic({ apiKey: 'sim-key', baseURL: simulator.url, model: CLAUDE, headers }),
    );
    const simGpt = bounded(
      openai({ apiKey: 'sim-key', baseURL: `${simulator.url}/v1`, model: GPT, headers }),
    );
    const scripted = scenario === 'fallback' || scenario === 'restart';
    const pool: LanguageModel[] =
      liveModels.length === 0 ? [simClaude, simGpt] : scripted ? [simClaude, ...liveModels] : liveModels;
    const [first, ...rest] = pool as [LanguageModel, ...LanguageModel[]];
    return first.pipe(withFallback({ candidates: rest, onMidStream: 'restart' }), spend.policy());
  };

  const generate = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      body = undefined;
    }
    const prompt = (body as { prompt?: unknown } | undefined)?.prompt;
    const scenario = (body as { scenario?: unknown } | undefined)?.scenario ?? 'normal';
    if (typeof prompt !== 'string' || prompt.trim() === '' || !isDemoScenario(scenario)) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'expected {"prompt": string, "scenario"?: one of the demo scenarios}' }),
      );
      return;
    }
    const run = randomUUID();
    runs.set(run, scriptsFor(scenario, tokenDelayMs));
    const request: ChatRequest = {
      messages: [
        { role: 'system', content: 'Answer in one short paragraph.' },
        { role: 'user', content: prompt.slice(0, 2000) },
      ],
      maxTokens: 400,
    };
    log(`generate ${run.slice(0, 8)} scenario=${scenario}`);
    // pipeSSE unsubscribes when the browser leaves (Stop): the pipeline aborts the vendor call.
    await pipeSSE(pipelineFor(run, scenario).stream(request), res);
    runs.delete(run);
    log(`generate ${run.slice(0, 8)} closed`);
  };

  const appFile = await buildApp({ dev: options.reactDev === true });
  const html = await readFile(join(here, 'index.html'), 'utf8');

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handle = async (): Promise<void> => {
      if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      } else if (req.method === 'GET' && (path === '/app.js' || path === '/app.js.map')) {
        const file = await readFile(path === '/app.js' ? appFile : `${appFile}.map`);
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(file);
      } else if (req.method === 'POST' && path === '/api/generate') {
        await generate(req, res);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    };
    handle().catch((error: unknown) => {
      log(`error ${String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    simulator,
    live: liveModels.length > 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await simulator.close();
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const demo = await startWebDemo({
    port: Number(process.env.PORT ?? 5173),
    live: process.argv.includes('--live'),
    reactDev: process.argv.includes('--dev'),
    log: (line) => console.log(line),
  });
  console.log(`rxllm web demo: ${demo.url} (${demo.live ? 'live vendors' : 'simulator'})`);
  const shutdown = (): void => void demo.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
