/**
 * Structured output and tools: a two-tool loop and a streamed, typed object, on the wire-level simulator.
 *
 *   npx tsx examples/tools.ts [openai|anthropic|gemini|ollama]
 *
 * The simulator speaks each vendor's real protocol on loopback: it first asks for both tools, then answers
 * with the results it was sent back. Swap the model for a real one (same factory, real key) to run live.
 */
import { lastValueFrom, tap, toArray } from 'rxjs';
import {
  anthropic,
  gemini,
  type LanguageModel,
  objectRequest,
  ollama,
  openai,
  runTools,
  streamObject,
  type TokenEvent,
  tool,
} from 'rxllm';
import {
  anthropicProtocol,
  createSimulator,
  geminiProtocol,
  ollamaProtocol,
  openaiProtocol,
  type Simulator,
  toolConversation,
} from 'rxllm/testing';
import { z } from 'zod';

/** The vendors the example runs on. */
export type Vendor = 'openai' | 'anthropic' | 'gemini' | 'ollama';

function modelOn(vendor: Vendor, sim: Simulator): LanguageModel {
  switch (vendor) {
    case 'openai':
      return openai({ apiKey: 'sk-simulated', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' });
    case 'anthropic':
      return anthropic({ apiKey: 'sk-ant-simulated', baseURL: sim.url, model: 'claude-haiku-4-5' });
    case 'gemini':
      return gemini({ apiKey: 'simulated', baseURL: sim.url, model: 'gemini-2.5-flash' });
    case 'ollama':
      return ollama({ host: sim.url, model: 'llama3.2' });
  }
}

const City = z.object({ city: z.string() });
const tools = {
  weather: tool({
    description: 'Current temperature of a city, in °C',
    input: City,
    execute: async ({ city }, { signal }) => {
      signal.throwIfAborted();
      return { city, celsius: 21 };
    },
  }),
  localTime: tool({ description: 'Local time of a city', input: City, execute: () => '12:00' }),
};

const Trip = z.object({ city: z.string(), days: z.number(), sights: z.array(z.string()) });

/** What the example saw: the loop's events and the object's partial values, for its test. */
export interface ExampleResult {
  readonly loop: readonly TokenEvent[];
  readonly partials: readonly unknown[];
  readonly trip: z.infer<typeof Trip> | undefined;
}

/** Runs both parts on `vendor` against a fresh simulator, printing as it goes when `print` is set. */
export async function runExample(vendor: Vendor, print = false): Promise<ExampleResult> {
  const sim = await createSimulator({
    protocols: [openaiProtocol, anthropicProtocol, geminiProtocol, ollamaProtocol],
  });
  const log = (line: string): void => {
    if (print) console.log(line);
  };
  try {
    const model = modelOn(vendor, sim);

    // 1. A two-tool loop: the model asks for both tools, the loop runs them in parallel and answers.
    sim.handle(
      toolConversation(
        [
          { name: 'weather', args: { city: 'Lyon' } },
          { name: 'localTime', args: { city: 'Lyon' } },
        ],
        (results) => `In Lyon: ${results.map((r) => r.content).join(', ')}.`,
      ),
    );
    const request = { messages: [{ role: 'user' as const, content: 'Weather and time in Lyon?' }] };
    const loop = await lastValueFrom(
      runTools(model, request, { tools }).pipe(
        tap((e) => {
          if (e.type === 'tool-call') log(`→ ${e.name}(${e.rawArgs})`);
          if (e.type === 'tool-result') log(`← ${e.name}: ${JSON.stringify(e.output)}`);
          if (e.type === 'step') log(`— step ${e.index} ended: ${e.reason}`);
          if (e.type === 'finish')
            log(`= ${e.usage.inputTokens} in, ${e.usage.outputTokens} out over the loop`);
        }),
        toArray(),
      ),
    );
    log(loop.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join(''));

    // 2. A typed object, streamed: each partial value is a prefix of the final, validated one.
    const answer = JSON.stringify({ city: 'Lyon', days: 2, sights: ['Fourvière', 'Vieux Lyon'] });
    sim.handle(() => ({ text: answer.match(/.{1,6}/g) ?? [] }));
    const partials: unknown[] = [];
    let trip: z.infer<typeof Trip> | undefined;
    const tripRequest = objectRequest({ messages: [{ role: 'user', content: 'Plan a weekend.' }] }, Trip);
    await lastValueFrom(
      model.stream(tripRequest).pipe(
        streamObject(Trip),
        tap((e) => {
          if (e.type !== 'object') return;
          if (e.partial) partials.push(e.value);
          else trip = e.value;
        }),
      ),
    );
    log(`${partials.length} partial objects, then ${JSON.stringify(trip)}`);
    return { loop, partials, trip };
  } finally {
    await sim.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const vendor = (process.argv[2] ?? 'openai') as Vendor;
  runExample(vendor, true).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
