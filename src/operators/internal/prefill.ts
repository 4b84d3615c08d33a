import type { ChatRequest, Message } from '../../core/request.js';

/**
 * `request` with `text` as the start of the assistant's answer: appended to a trailing assistant message
 * (the caller's own prefill), or as a new one. Trailing whitespace is cut (vendors reject a prefill ending
 * in whitespace); `trimmed` says so, and the continuation's leading whitespace is then dropped, since the
 * subscriber already has it.
 */
export function withPrefill(
  request: ChatRequest,
  text: string,
): { readonly request: ChatRequest; readonly trimmed: boolean } {
  const prefix = text.trimEnd();
  const messages = [...request.messages];
  const last = messages[messages.length - 1];
  if (last?.role === 'assistant' && !last.toolCalls?.length) {
    messages[messages.length - 1] = { ...last, content: `${last.content}${prefix}` } satisfies Message;
  } else {
    messages.push({ role: 'assistant', content: prefix });
  }
  return { request: { ...request, messages }, trimmed: prefix.length < text.length };
}
