/**
 * The main job: stream a completion to the terminal through a small pipeline.
 *
 *   npm install && npm run demo
 *
 * With no API keys it runs on the built-in wire-level simulator (real vendor protocols on loopback),
 * and the cheapest model is scripted to fail once, so the fallback shows. With OPENAI_API_KEY,
 * ANTHROPIC_API_KEY, GOOGLE_API_KEY or a reachable Ollama it uses those instead.
 */
import { pipe, tap } from 'rxjs';
import {
  anthropic,
  collect,
  createBudget,
  createCircuitBreaker,
  gemini,
  type LanguageModel,
  ollama,
  openai,
  route,
  type TokenEvent,
  withCircuitBreaker,
  withFallback,
  withRetry,
  withTimeout,
} from 'rxllm';
import {
  anthropicProtocol,
  createSimulator,
  geminiProtocol,
  ollamaProtocol,
  openaiProtocol,
  type Simulator,
} from 'rxllm/testing';

const env = (name: string): string | undefined => process.env[name] || undefined;
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[22m` : s);

async function ollamaReachable(host: string): Promise<boolean> {
  try {
    const response = await fetch(`${host}/api/tags`, { signal: AbortSignal.timeout(500) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Real providers for the keys that are set; none when no key is set and no Ollama answers. */
async function realPool(): Promise<LanguageModel[]> {
  const pool: LanguageModel[] = [];
  if (env('OPENAI_API_KEY')) pool.push(openai({ model: 'gpt-4o-mini' }));
  if (env('ANTHROPIC_API_KEY')) pool.push(anthropic({ model: 'claude-haiku-4-5' }));
  if (env('GOOGLE_API_KEY') || env('GEMINI_API_KEY')) pool.push(gemini({ model: 'gemini-2.5-flash' }));
  const host = env('OLLAMA_HOST') ?? 'http://127.0.0.1:11434';
  if (await ollamaReachable(host.includes('://') ? host : `http://${host}`))
    pool.push(ollama({ model: 'llama3.2' }));
  return pool;
}

/**
 * The four vendors on one simulator. The local model is cheapest, so routing tries it first; it answers
 * 503 twice (the first try and its retry), so the fallback to the next-cheapest model shows.
 */
async function simulatedPool(): Promise<{ pool: LanguageModel[]; sim: Simulator }> {
  const sim = await createSimulator({
    protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
    defaultScenario: {
      text: 'Server-Sent Events keep one HTTP response open and push each token as a small text frame, so the answer appears as it is written.',
      firstTokenDelayMs: 150,
      tokenDelayMs: 35,
    },
  });
  let ollamaCalls = 0;
  sim.handle((request) =>
    request.protocol === 'ollama' && ollamaCalls++ < 2
      ? { fault: { type: 'status', status: 503, message: 'server busy, please try again' } }
      : undefined,
  );
  const key = 'simulator-key-not-secret';
  const pool = [
    openai({ apiKey: key, baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' }),
    anthropic({ apiKey: key, baseURL: sim.url, model: 'claude-haiku-4-5' }),
    gemini({ apiKey: key, baseURL: sim.url, model: 'gemini-2.5-flash' }),
    ollama({ host: sim.url, model: 'llama3.2' }),
  ];
  return { pool, sim };
}

function show(event: TokenEvent): void {
  switch (event.type) {
    case 'route':
      console.log(dim(`route   ${event.reason}`));
      break;
    case 'fallback':
      console.log(
        dim(
          `fallback ${event.from.provider}/${event.from.model} failed (${event.error.kind}); trying the next`,
        ),
      );
      break;
    case 'reset':
      console.log(dim(`\nreset   ${event.from.provider} failed mid-stream; starting over`));
      break;
    case 'start':
      console.log(`${bold(`${event.provider}/${event.model}`)} answers:`);
      break;
    case 'text':
      process.stdout.write(event.text);
      break;
    default:
      break;
  }
}

async function main(): Promise<void> {
  const real = await realPool();
  const simulated = real.length === 0 ? await simulatedPool() : undefined;
  const pool = simulated?.pool ?? real;
  console.log(
    simulated
      ? dim(
          'No API keys found: running on the built-in simulator (real vendor wire protocols on 127.0.0.1).\n',
        )
      : dim(`Using ${pool.map((m) => m.provider).join(', ')}.\n`),
  );

  // Per model: a stall or slow start counts as a failure, an open breaker skips the model, retries
  // happen before the first token only. Then: cheapest model first, fall back in cost order, and
  // never spend more than 5 cents on one call or a dollar a day.
  const breaker = createCircuitBreaker();
  const guarded = pool.map((m) =>
    m.pipe(
      withTimeout({ firstTokenMs: 20_000, idleMs: 10_000 }),
      withCircuitBreaker(breaker),
      withRetry({ maxAttempts: 2 }),
    ),
  );
  const spend = createBudget({ perRequest: 0.05, limits: { day: 1 } });
  const pipeline = pipe(
    route({ strategy: 'cost', budget: spend }),
    withFallback({ onMidStream: 'restart' }),
    spend.policy(),
  )(guarded);

  const request = {
    messages: [
      {
        role: 'user' as const,
        content: 'In one sentence: how do Server-Sent Events stream tokens to a browser?',
      },
    ],
    maxTokens: 200,
    temperature: 0,
  };
  try {
    console.log(dim(`you     ${request.messages[0]?.content}`));
    const done = await collect(pipeline.stream(request).pipe(tap(show)));
    console.log('\n');
    console.log(
      `${bold('done')}  ${done.provider}/${done.model} · finish ${done.finishReason} · ` +
        `${done.usage.inputTokens} in / ${done.usage.outputTokens} out tokens · $${done.cost.total.toFixed(6)} · ` +
        `first token ${Math.round(done.timings.timeToFirstTokenMs ?? 0)} ms · ${Math.round(done.timings.durationMs)} ms total`,
    );
    if (done.failures.length > 0) {
      console.log(
        dim(
          `      after ${done.failures.map((f) => `${f.from.provider} (${f.error.kind})`).join(', ')} failed`,
        ),
      );
    }
  } finally {
    await simulated?.sim.close();
  }
}

main().catch((error: unknown) => {
  console.error('\nThe demo failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
