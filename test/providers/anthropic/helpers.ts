import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';
import type { TokenEvent } from '../../../src/core/events.js';
import type { AnthropicChunk } from '../../../src/providers/anthropic/chunks.js';
import { anthropicFrameDecoder, createAnthropicMapper } from '../../../src/providers/anthropic/map.js';
import type { Pricing } from '../../../src/core/catalog.js';

export { allText } from '../support.js';

/** The recorded wire sample (copied from the shared wire samples). */
export const SAMPLE_SSE = readFileSync(
  new URL('../../fixtures/anthropic/anthropic-text.sse', import.meta.url),
  'utf8',
);

export const SAMPLE_TEXT =
  'Rainbows appear when sunlight enters water droplets, bends, reflects off the back of each drop, and splits into its component colors on the way out.';

/** SSE text → decoded chunks, through the direct transport's frame decoder. */
export function chunksOf(sseText: string, model = 'claude-sonnet-4-5'): AnthropicChunk[] {
  const decode = anthropicFrameDecoder('anthropic', model);
  const chunks: AnthropicChunk[] = [];
  const parser = createParser({
    onEvent: (message) => {
      const chunk = decode(message.data, message.event);
      if (chunk !== undefined) chunks.push(chunk);
    },
  });
  parser.feed(sseText);
  return chunks;
}

/** Result of mapping chunks: the events, and the error if the mapper threw. */
export interface Mapped {
  readonly events: TokenEvent[];
  readonly error?: unknown;
}

/** Runs chunks through a fresh mapper (then `end`), as both transports do. */
export function mapChunks(
  chunks: readonly AnthropicChunk[],
  options: { model?: string; pricing?: Pricing } = {},
): Mapped {
  const events: TokenEvent[] = [];
  const mapper = createAnthropicMapper({
    provider: 'anthropic',
    model: options.model ?? 'claude-sonnet-4-5',
    pricing: options.pricing,
  });
  const emit = (event: TokenEvent): void => void events.push(event);
  try {
    for (const chunk of chunks) if (!mapper.done) mapper.chunk(chunk, emit);
    mapper.end(emit);
    return { events };
  } catch (error) {
    return { events, error };
  }
}
