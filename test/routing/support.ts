import { type Observable, VirtualTimeScheduler } from 'rxjs';
import type { ModelSpec } from '../../src/core/catalog.js';
import type { TokenEvent } from '../../src/core/events.js';
import type { Capability, ChatRequest } from '../../src/core/request.js';
import { type Script, scriptedModel, type ScriptedModel } from '../../src/testing/scriptedModel.js';

export const ask = (content = 'Hello there', extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content }],
  ...extra,
});

/** A spec for a simulated model (prices per million tokens). */
export function spec(
  provider: string,
  model: string,
  input: number,
  output: number,
  quality: number,
  extra: Partial<ModelSpec> = {},
): ModelSpec {
  const capabilities: Capability[] = ['tools', 'json', 'streaming'];
  return {
    provider,
    model,
    pricing: { input, output },
    contextWindow: 100_000,
    maxOutputTokens: 8_000,
    capabilities,
    quality,
    local: false,
    ...extra,
  };
}

/** Four simulated models: known prices, qualities, capabilities. */
export const SPECS: readonly ModelSpec[] = [
  spec('sim', 'mid', 1, 4, 0.8, { capabilities: ['tools', 'json', 'vision', 'streaming'] }),
  spec('sim', 'cheap', 0.1, 0.4, 0.6, { contextWindow: 16_000 }),
  spec('sim', 'premium', 5, 20, 0.95, {
    capabilities: ['tools', 'json', 'vision', 'streaming', 'prefill'],
    tasks: ['code'],
  }),
  spec('local', 'llama', 0, 0, 0.5, { local: true, capabilities: ['streaming'], contextWindow: 8_000 }),
];

/** Scripted models for {@link SPECS}, on `scheduler`, each priced like its spec. */
export function simPool(
  scheduler?: VirtualTimeScheduler,
  scripts: {
    readonly [key: string]: readonly Script[] | ((request: ChatRequest, call: number) => Script);
  } = {},
): ScriptedModel[] {
  return SPECS.map((s) =>
    scriptedModel({
      provider: s.provider,
      model: s.model,
      pricing: s.pricing,
      ...(scheduler && { scheduler }),
      scripts: scripts[`${s.provider}/${s.model}`] ?? [{ text: 'fine thanks' }],
    }),
  );
}

export const keyOf = (m: { provider: string; model: string }): string => `${m.provider}/${m.model}`;

/** Subscribes, runs virtual time to the end, and returns what was emitted and how it ended. */
export function drain(
  stream: Observable<TokenEvent>,
  scheduler?: VirtualTimeScheduler,
): { events: TokenEvent[]; error: unknown; completed: boolean } {
  const events: TokenEvent[] = [];
  let error: unknown;
  let completed = false;
  stream.subscribe({
    next: (e) => events.push(e),
    error: (e: unknown) => (error = e),
    complete: () => (completed = true),
  });
  scheduler?.flush();
  return { events, error, completed };
}

export function virtual(): VirtualTimeScheduler {
  return new VirtualTimeScheduler();
}
