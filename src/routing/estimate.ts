import type * as Encoding from 'gpt-tokenizer/encoding/o200k_base';
import { importPeer } from '../core/peer.js';
import { assertNever, type ModelRef, type Usage } from '../core/events.js';
import type { ChatRequest, Message } from '../core/request.js';
import { heuristicTokens } from './heuristic.js';

export { heuristicTokens, unicodeTokens } from './heuristic.js';

/** Counts the tokens of a piece of text. */
export type TokenCounter = (text: string) => number;

/** Options of {@link createEstimator}. */
export interface TokenEstimatorOptions {
  /**
   * Exact counters by provider name (`{ openai: await loadGptTokenizer() }`), or a function choosing one
   * for a model. Models without one use {@link heuristicTokens}. Default: none (the heuristic for all).
   * The choice is remembered for the model object last counted for (a call's pieces share one), so a
   * function is asked again when that object changes, not for every streamed piece.
   */
  readonly tokenizers?:
    | { readonly [provider: string]: TokenCounter | undefined }
    | ((model: ModelRef) => TokenCounter | undefined);
  /** Tokens counted per image part. Default 765 (OpenAI, one 1024×1024 image at high detail). */
  readonly imageTokens?: number;
  /** Tokens each message adds besides its content (role, separators). Default 4. */
  readonly messageOverhead?: number;
  /** Weight of the newest observation in the calibration's moving average. Default 0.2. */
  readonly calibrationAlpha?: number;
}

/**
 * Estimates token counts before a call (prompts) and during one (streamed output), per model.
 *
 * Estimates learn: after a call, {@link TokenEstimator.reconcile} compares the prompt estimate with the
 * vendor's reported `inputTokens` and keeps a per-model correction factor (a moving average of
 * actual ÷ estimated, clamped to 0.5..2), which every later estimate for that model is multiplied by.
 */
export interface TokenEstimator {
  /** Tokens of `text` for `model` (calibrated). */
  count(text: string, model?: ModelRef): number;
  /** Tokens the prompt of `request` will take for `model`: messages, tools, images, schema (calibrated). */
  promptTokens(request: ChatRequest, model?: ModelRef): number;
  /** Feeds the vendor's reported usage back, to calibrate later estimates for `model`. */
  reconcile(model: ModelRef, request: ChatRequest, usage: Usage): void;
  /** The current correction factor for `model` (1 until calibrated). */
  factor(model: ModelRef): number;
}

/**
 * Loads OpenAI's tokenizer from the optional `gpt-tokenizer` package, when it is installed.
 *
 * The core never imports it statically: without the package this resolves `undefined` and estimates
 * stay heuristic. `o200k_base` serves the GPT-4o, GPT-4.1, GPT-5 and o-series models; `cl100k_base`
 * GPT-4 and GPT-3.5.
 *
 * ## Example
 * ```ts
 * const estimator = createEstimator({ tokenizers: { openai: await loadGptTokenizer() } });
 * ```
 *
 * @param encoding - The BPE vocabulary. Default `o200k_base`.
 * @returns A counter (special-token text is counted as plain text), or `undefined` if the package is missing.
 */
export async function loadGptTokenizer(
  encoding: 'o200k_base' | 'cl100k_base' = 'o200k_base',
): Promise<TokenCounter | undefined> {
  try {
    const mod = await importPeer<typeof Encoding>(`gpt-tokenizer/encoding/${encoding}`);
    const plain = { disallowedSpecial: new Set<string>() };
    return (text) => mod.countTokens(text, plain);
  } catch {
    return undefined;
  }
}

/**
 * Creates a {@link TokenEstimator}: exact counters where given, the calibrated heuristic elsewhere,
 * plus per-model calibration from reported usage.
 *
 * ## Example
 * ```ts
 * const estimator = createEstimator();
 * estimator.promptTokens({ messages: [{ role: 'user', content: 'Hi' }] }); // 8
 * ```
 *
 * @param options - See {@link TokenEstimatorOptions}; every field has a default.
 * @returns An estimator whose calibration state lives in it (share one between `route()` and `budget()`).
 */
export function createEstimator(options: TokenEstimatorOptions = {}): TokenEstimator {
  const imageTokens = options.imageTokens ?? 765;
  const overhead = options.messageOverhead ?? 4;
  const alpha = options.calibrationAlpha ?? 0.2;
  /** Correction factors by provider, then model (no key string built per count). */
  const factors = new Map<string, Map<string, number>>();
  const rawPrompts = new WeakMap<ChatRequest, Map<TokenCounter, number>>();

  const counterFor = (model?: ModelRef): TokenCounter => {
    if (!model || !options.tokenizers) return heuristicTokens;
    const found =
      typeof options.tokenizers === 'function'
        ? options.tokenizers(model)
        : options.tokenizers[model.provider];
    return found ?? heuristicTokens;
  };
  const factor = (model?: ModelRef): number => (model && factors.get(model.provider)?.get(model.model)) ?? 1;

  const rawPrompt = (request: ChatRequest, counter: TokenCounter): number => {
    let cache = rawPrompts.get(request);
    if (!cache) rawPrompts.set(request, (cache = new Map()));
    const hit = cache.get(counter);
    if (hit !== undefined) return hit;
    let total = 3;
    for (const message of request.messages) total += overhead + messageTokens(message, counter, imageTokens);
    for (const tool of request.tools ?? []) {
      total += 8 + counter(`${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`);
    }
    if (request.responseFormat?.schema) total += counter(JSON.stringify(request.responseFormat.schema));
    cache.set(counter, total);
    return total;
  };

  // The last model counted for, with its counter and factor: a meter counts every streamed piece of a
  // call for one model object, so this spares the lookups per piece. `reconcile` forgets it.
  let lastModel: ModelRef | undefined;
  let lastCounter: TokenCounter = heuristicTokens;
  let lastFactor = 1;
  const count = (text: string, model?: ModelRef): number => {
    if (model === undefined || model !== lastModel) {
      lastModel = model;
      lastCounter = counterFor(model);
      lastFactor = factor(model);
    }
    return Math.ceil(lastCounter(text) * lastFactor);
  };

  return {
    count,
    promptTokens: (request, model) => Math.ceil(rawPrompt(request, counterFor(model)) * factor(model)),
    reconcile(model, request, usage) {
      const raw = rawPrompt(request, counterFor(model));
      if (raw <= 0 || usage.inputTokens <= 0) return;
      const ratio = Math.min(2, Math.max(0.5, usage.inputTokens / raw));
      let byModel = factors.get(model.provider);
      if (!byModel) factors.set(model.provider, (byModel = new Map()));
      const previous = byModel.get(model.model);
      byModel.set(model.model, previous === undefined ? ratio : previous + alpha * (ratio - previous));
      lastModel = undefined;
    },
    factor: (model) => factor(model),
  };
}

function messageTokens(message: Message, counter: TokenCounter, imageTokens: number): number {
  switch (message.role) {
    case 'system':
      return counter(message.content);
    case 'user': {
      if (typeof message.content === 'string') return counter(message.content);
      let total = 0;
      for (const part of message.content) total += part.type === 'text' ? counter(part.text) : imageTokens;
      return total;
    }
    case 'assistant': {
      let total = counter(message.content);
      for (const call of message.toolCalls ?? [])
        total += 4 + counter(`${call.name} ${JSON.stringify(call.args)}`);
      return total;
    }
    case 'tool':
      return counter(message.content) + (message.name === undefined ? 0 : 1);
    default:
      return assertNever(message);
  }
}
