/** A piece of text in a message. */
export interface TextPart {
  readonly type: 'text';
  readonly text: string;
}

/**
 * An image in a user message: either a URL (`https:` or `data:`) or base64 bytes with their media type.
 * Adapters convert it to each vendor's form (Anthropic and Gemini need bytes; OpenAI takes either).
 */
export interface ImagePart {
  readonly type: 'image';
  readonly url?: string;
  readonly data?: string;
  readonly mediaType?: string;
}

/** A part of a message's content. */
export type ContentPart = TextPart | ImagePart;

/** A tool call made by the assistant in an earlier turn. */
export interface AssistantToolCall {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
}

/** Instructions for the model (Anthropic's `system`, Gemini's `systemInstruction`). */
export interface SystemMessage {
  readonly role: 'system';
  readonly content: string;
}

/** The user's turn: text, or parts with images. */
export interface UserMessage {
  readonly role: 'user';
  readonly content: string | readonly ContentPart[];
}

/**
 * The model's turn in the history; as the last message it is a prefill the model continues (where the
 * vendor supports it).
 */
export interface AssistantMessage {
  readonly role: 'assistant';
  readonly content: string;
  readonly toolCalls?: readonly AssistantToolCall[];
}

/** The result of running a tool, answering the assistant's call `toolCallId`. */
export interface ToolMessage {
  readonly role: 'tool';
  readonly toolCallId: string;
  /** The tool's name; Gemini and Ollama key results by name rather than id. */
  readonly name?: string;
  readonly content: string;
}

/** One turn of a conversation. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A JSON Schema object, as written by the user (passed to the vendor as is). */
export type JsonSchema = { readonly [key: string]: unknown };

/** A tool the model may call. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: JsonSchema;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

/** Capabilities a model may have; routing filters on them. */
export type Capability = 'tools' | 'vision' | 'json' | 'streaming' | 'prefill';

/**
 * Hints for routing and budget operators. Providers ignore them.
 */
export interface RoutingHints {
  /** A free-form task label (`"summarize"`, `"code"`), matched against model task tags. */
  readonly task?: string;
  readonly complexity?: 'low' | 'medium' | 'high';
  readonly priority?: 'low' | 'normal' | 'high';
  /** Most this call may cost, in US dollars. */
  readonly maxCost?: number;
  /** Most acceptable time to first token, in milliseconds. */
  readonly maxLatencyMs?: number;
  /** Least acceptable catalog quality score (0..1). */
  readonly minQuality?: number;
  readonly requiredCapabilities?: readonly Capability[];
  readonly preferProviders?: readonly string[];
  readonly excludeProviders?: readonly string[];
}

/**
 * A normalized chat request: what every provider and pipeline accepts.
 *
 * @example
 * const request: ChatRequest = {
 *   messages: [{ role: 'user', content: 'Name three primes.' }],
 *   maxTokens: 64,
 *   temperature: 0,
 * };
 */
export interface ChatRequest {
  readonly messages: readonly Message[];
  /** Overrides the model bound to the provider, for this call only. */
  readonly model?: string;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  /** Ask for a JSON answer; with a schema, for JSON that matches it (where the vendor supports schemas). */
  readonly responseFormat?: { readonly type: 'json'; readonly schema?: JsonSchema; readonly name?: string };
  readonly hints?: RoutingHints;
  /** Vendor-specific body fields, merged into the vendor request last. */
  readonly providerOptions?: { readonly [provider: string]: { readonly [key: string]: unknown } };
}

/** The text of a message's content (image parts are skipped). */
export function contentText(content: string | readonly ContentPart[]): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
