import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';
import type { Observable } from 'rxjs';
import { LLMError } from '../../../src/core/errors.js';
import type { TokenEvent } from '../../../src/core/events.js';
import type { GeminiChunk } from '../../../src/providers/gemini/chunks.js';
import { geminiMapper } from '../../../src/providers/gemini/map.js';
import type { MapperContext } from '../../../src/providers/shared/run.js';

/** The recorded wire sample (CRLF SSE), as bytes. */
export const WIRE_SAMPLE = readFileSync(new URL('../../fixtures/gemini/gemini-text.sse', import.meta.url));

/** The chunks of an SSE body, parsed with the same parser as the direct transport. */
export function sseChunks(text: string): GeminiChunk[] {
  const chunks: GeminiChunk[] = [];
  const parser = createParser({ onEvent: (e) => chunks.push(JSON.parse(e.data) as GeminiChunk) });
  parser.feed(text);
  return chunks;
}

/** Runs chunks through a fresh mapper; returns the events and the error thrown, if any. */
export function mapChunks(
  chunks: readonly GeminiChunk[],
  context: MapperContext = { provider: 'gemini', model: 'gemini-2.0-flash', pricing: undefined },
): { events: TokenEvent[]; error?: LLMError } {
  const events: TokenEvent[] = [];
  const mapper = geminiMapper(context);
  const emit = (e: TokenEvent): void => void events.push(e);
  try {
    for (const chunk of chunks) mapper.chunk(chunk, emit);
    mapper.end(emit);
    return { events };
  } catch (error) {
    if (!LLMError.isInstance(error)) throw error;
    return { events, error };
  }
}

/** The outcome of a stream: its events, and its error (as JSON) if it failed. */
export interface Outcome {
  readonly events: readonly TokenEvent[];
  readonly error?: ReturnType<LLMError['toJSON']>;
}

/** Subscribes, collecting every event (also those before an error). */
export function run(stream: Observable<TokenEvent>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    stream.subscribe({
      next: (e) => void events.push(e),
      error: (error: unknown) =>
        LLMError.isInstance(error) ? resolve({ events, error: error.toJSON() }) : reject(error),
      complete: () => resolve({ events }),
    });
  });
}

/** Events with the simulator's per-request response id removed from `start`, for comparing two runs. */
export function withoutResponseId(events: readonly TokenEvent[]): TokenEvent[] {
  return events.map((e) => {
    if (e.type !== 'start') return e;
    const { id: _id, ...rest } = e;
    return rest;
  });
}
