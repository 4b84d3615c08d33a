/** The vendor protocols the benchmark serves, their models and their endpoints. */

export type ProtocolName = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export const PROTOCOL_NAMES: readonly ProtocolName[] = ['openai', 'anthropic', 'gemini', 'ollama'];

/** The model each protocol's answers name (catalog entries, so routing and budgets can price them). */
export const PROTOCOL_MODEL: { readonly [p in ProtocolName]: string } = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  gemini: 'gemini-2.0-flash',
  ollama: 'llama3.2',
};

/** A second catalog model per protocol: the pipeline's fallback (never called: the primary answers). */
export const FALLBACK_MODEL: { readonly [p in ProtocolName]: string } = {
  openai: 'gpt-4.1-mini',
  anthropic: 'claude-sonnet-4-5',
  gemini: 'gemini-2.5-flash',
  ollama: 'llama3.1',
};

/** The server's root for answers of `tokens` tokens. */
export function baseFor(server: string, tokens: number): string {
  return `${server}/t/${tokens}`;
}
