/** A piece of text in a message. */
export interface TextPart {
  /** The discriminant. */
  readonly type: 'text';
  /** The text. */
  readonly text: string;
}

/**
 * An image in a user message: either a URL (`https:` or `data:`) or base64 bytes with their media type.
 * Adapters convert it to each vendor's form (Anthropic and Gemini need bytes; OpenAI takes either).
 */
export interface ImagePart {
  /** The discriminant. */
  readonly type: 'image';
  /** Where the image is (`https:` or a `data:` URL); give this or `data`. */
  readonly url?: string;
  /** The image's bytes in base64; give this or `url`. */
  readonly data?: string;
  /** The image's type with `data`, e.g. `image/png`. */
  readonly mediaType?: string;
}

/** A part of a message's content. */
export type ContentPart = TextPart | ImagePart;

/** A tool call made by the assistant in an earlier turn. */
export interface AssistantToolCall {
  /** The vendor's call id, from the `tool-call` event. */
  readonly id: string;
  /** The tool's name. */
  readonly name: string;
  /** The arguments the model gave. */
  readonly args: unknown;
}

/** Instructions for the model (Anthropic's `system`, Gemini's `systemInstruction`). */
export interface SystemMessage {
  /** The discriminant. */
  readonly role: 'system';
  /** Instructions for the model. */
  readonly content: string;
}

/** The user's turn: text, or parts with images. */
export interface UserMessage {
  /** The discriminant. */
  readonly role: 'user';
  /** Text, or text and image parts. */
  readonly content: string | readonly ContentPart[];
}

/**
 * The model's turn in the history; as the last message it is a prefill the model continues (where the
 * vendor supports it).
 */
export interface AssistantMessage {
  /** The discriminant. */
  readonly role: 'assistant';
  /** What the model answered earlier (or a prefill to continue from). */
  readonly content: string;
  /** The tools it called in that turn. */
  readonly toolCalls?: readonly AssistantToolCall[];
}

/** The result of running a tool, answering the assistant's call `toolCallId`. */
export interface ToolMessage {
  /** The discriminant. */
  readonly role: 'tool';
  /** The `id` of the tool call this answers. */
  readonly toolCallId: string;
  /** The tool's name; Gemini and Ollama key results by name rather than id. */
  readonly name?: string;
  /** The tool's result, as text (JSON usually). */
  readonly content: string;
}

/** One turn of a conversation. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A JSON Schema object, as written by the user (passed to the vendor as is). */
export type JsonSchema = { readonly [key: string]: unknown };

/** A tool the model may call. */
export interface ToolDefinition {
  /** The name the model calls the tool by. */
  readonly name: string;
  /** What the tool does, for the model to decide when to call it. */
  readonly description?: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: JsonSchema;
}

/** Whether and which tool the model must call. */
export type ToolChoice =
  | 'auto'
  | 'none'
  | 'required'
  | {
      /** The tool the model must call. */
      readonly name: string;
    };

/** Capabilities a model may have; routing filters on them. */
export type Capability = 'tools' | 'vision' | 'json' | 'streaming' | 'prefill';

/**
 * Hints for routing and budget operators. Providers ignore them.
 */
export interface RoutingHints {
  /** A free-form task label (`"summarize"`, `"code"`), matched against model task tags. */
  readonly task?: string;
  /** How hard the task is; routing skips models below its quality floor (`DEFAULT_COMPLEXITY_FLOORS`). */
  readonly complexity?: 'low' | 'medium' | 'high';
  /** How much the call matters, for strategies of your own (the built-in ones do not read it). */
  readonly priority?: 'low' | 'normal' | 'high';
  /** Most this call may cost, in US dollars. */
  readonly maxCost?: number;
  /** Most acceptable time to first token, in milliseconds. */
  readonly maxLatencyMs?: number;
  /** Least acceptable catalog quality score (0..1). */
  readonly minQuality?: number;
  /** What the model must support (tools, vision, JSON mode, …). */
  readonly requiredCapabilities?: readonly Capability[];
  /** Providers to rank first, in this order. */
  readonly preferProviders?: readonly string[];
  /** Providers never to use for this request. */
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
  /** The conversation so far, oldest first. */
  readonly messages: readonly Message[];
  /** Overrides the model bound to the provider, for this call only. */
  readonly model?: string;
  /** Tools the model may call. */
  readonly tools?: readonly ToolDefinition[];
  /** Whether and which tool the model must call. Default `auto` when tools are given. */
  readonly toolChoice?: ToolChoice;
  /** Sampling temperature (0 for the most deterministic answers). */
  readonly temperature?: number;
  /** The most answer tokens to generate. */
  readonly maxTokens?: number;
  /** Nucleus sampling: the probability mass to sample from. */
  readonly topP?: number;
  /** Sequences that end the answer when generated. */
  readonly stop?: readonly string[];
  /** Ask for a JSON answer; with a schema, for JSON that matches it (where the vendor supports schemas). */
  readonly responseFormat?: {
    /** JSON output (the only format so far). */
    readonly type: 'json';
    /** The JSON Schema the answer must match, where the vendor enforces one. */
    readonly schema?: JsonSchema;
    /** The schema's name, for vendors that want one. */
    readonly name?: string;
  };
  /** What routing should know about this request. */
  readonly hints?: RoutingHints;
  /** Vendor-specific body fields, merged into the vendor request last. */
  readonly providerOptions?: { readonly [provider: string]: { readonly [key: string]: unknown } };
}

/**
 * The text of a message's content (image parts are skipped).
 *
 * ## Example
 * ```ts
 * contentText([{ type: 'text', text: 'What is this?' }, { type: 'image', url: 'https://example.com/a.png' }]); // 'What is this?'
 * ```
 *
 * @param content A message's content.
 * @returns Its text parts, joined.
 */
export function contentText(content: string | readonly ContentPart[]): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
