import { assertNever } from '../core/events.js';
import type { ChatRequest, Message } from '../core/request.js';
import { contentText } from '../core/request.js';

/** Options of {@link roughTokenEstimate}. */
export interface RoughTokenEstimateOptions {
  /** Output tokens assumed when the request sets no `maxTokens`. Default `1024`. */
  readonly defaultMaxTokens?: number;
  /** Characters per token for text. Default `4` (English prose; code and CJK run denser). */
  readonly charsPerToken?: number;
  /** Tokens counted per image part. Default `1000` (a large image on the big vendors). */
  readonly tokensPerImage?: number;
}

/** Tokens every message adds for its role and separators (OpenAI counts about 4). */
const PER_MESSAGE = 4;

/**
 * A quick estimate of the tokens a call will use, for rate limiting before the call: about one token per
 * four characters of message text, tool definitions and earlier tool calls, plus the most the answer may
 * use (`maxTokens`, or a default).
 *
 * Intuition: a limiter needs a number before the call and learns the real one after, so a cheap upper-ish
 * guess is enough; the limiter settles the difference from the finish usage.
 *
 * ## Example
 * ```ts
 * roughTokenEstimate({ messages: [{ role: 'user', content: 'Hello there, how are you?' }], maxTokens: 50 });
 * // 7 (text) + 4 (message) + 50 (answer) = 61
 * ```
 *
 * @see rateLimit
 * @param request The call to estimate.
 * @param options Defaults for requests without `maxTokens`, and the characters per token.
 * @returns Estimated input plus output tokens, a whole number of at least 1.
 */
export function roughTokenEstimate(request: ChatRequest, options: RoughTokenEstimateOptions = {}): number {
  const charsPerToken = options.charsPerToken ?? 4;
  const tokensPerImage = options.tokensPerImage ?? 1000;
  let chars = 0;
  let fixed = 0;
  for (const message of request.messages) {
    fixed += PER_MESSAGE;
    chars += messageChars(message);
    if (message.role === 'user' && typeof message.content !== 'string') {
      for (const part of message.content) if (part.type === 'image') fixed += tokensPerImage;
    }
  }
  for (const tool of request.tools ?? []) {
    chars += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters).length;
  }
  const output = request.maxTokens ?? options.defaultMaxTokens ?? 1024;
  return Math.max(1, Math.ceil(chars / charsPerToken) + fixed + output);
}

function messageChars(message: Message): number {
  switch (message.role) {
    case 'system':
    case 'tool':
      return message.content.length;
    case 'user':
      return contentText(message.content).length;
    case 'assistant': {
      let chars = message.content.length;
      for (const call of message.toolCalls ?? [])
        chars += call.name.length + JSON.stringify(call.args).length;
      return chars;
    }
    default:
      return assertNever(message);
  }
}
