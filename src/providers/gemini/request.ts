import { LLMError } from '../../core/errors.js';
import type {
  ChatRequest,
  ContentPart,
  ImagePart,
  Message,
  ToolChoice,
  ToolDefinition,
} from '../../core/request.js';
import { assertNever } from '../../core/events.js';
import { isEmptyObjectSchema, toGeminiSchema, type GeminiSchema } from './schema.js';

/**
 * A part of a request turn.
 *
 * ## Example
 * ```ts
 * const parts: GeminiRequestPart[] = [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/png', data: base64 } }];
 * ```
 */
export type GeminiRequestPart =
  | { readonly text: string }
  | { readonly inlineData: { readonly mimeType: string; readonly data: string } }
  | { readonly fileData: { readonly mimeType?: string; readonly fileUri: string } }
  | { readonly functionCall: { readonly name: string; readonly args: unknown } }
  | { readonly functionResponse: { readonly name: string; readonly response: unknown } };

/**
 * One turn of the conversation: Gemini knows two roles, `user` (which also carries tool results) and `model`.
 *
 * ## Example
 * ```ts
 * const turn: GeminiContent = { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }] };
 * ```
 */
export interface GeminiContent {
  readonly role: 'user' | 'model';
  readonly parts: readonly GeminiRequestPart[];
}

/**
 * A function the model may call. `parameters` is left out for a function without arguments.
 *
 * ## Example
 * ```ts
 * const weather: GeminiFunctionDeclaration = { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
 * ```
 */
export interface GeminiFunctionDeclaration {
  readonly name: string;
  readonly description?: string;
  readonly parameters?: GeminiSchema;
}

/**
 * How the model may call functions: `AUTO`, `ANY` (must call one, optionally among `allowedFunctionNames`), `NONE`.
 *
 * ## Example
 * ```ts
 * const forced: GeminiToolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] } };
 * ```
 */
export interface GeminiToolConfig {
  readonly functionCallingConfig: {
    readonly mode: 'AUTO' | 'ANY' | 'NONE';
    readonly allowedFunctionNames?: readonly string[];
  };
}

/**
 * Sampling and output settings.
 *
 * ## Example
 * ```ts
 * const config: GeminiGenerationConfig = { temperature: 0, maxOutputTokens: 256, responseMimeType: 'application/json' };
 * ```
 */
export interface GeminiGenerationConfig {
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxOutputTokens?: number;
  readonly stopSequences?: readonly string[];
  readonly responseMimeType?: string;
  readonly responseSchema?: GeminiSchema;
  readonly [key: string]: unknown;
}

/**
 * A safety threshold for one harm category, e.g. `{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }`.
 *
 * ## Example
 * ```ts
 * const lenient: GeminiSafetySetting = { category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' };
 * ```
 */
export interface GeminiSafetySetting {
  /** The harm category, e.g. `HARM_CATEGORY_HARASSMENT`. */
  readonly category: string;
  /** When to block, e.g. `BLOCK_ONLY_HIGH`. */
  readonly threshold: string;
}

/**
 * The body of `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`.
 *
 * ## Example
 * ```ts
 * const body: GeminiRequest = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 64 } };
 * ```
 */
export interface GeminiRequest {
  readonly contents: readonly GeminiContent[];
  readonly systemInstruction?: { readonly parts: readonly { readonly text: string }[] };
  readonly tools?: readonly { readonly functionDeclarations: readonly GeminiFunctionDeclaration[] }[];
  readonly toolConfig?: GeminiToolConfig;
  readonly generationConfig?: GeminiGenerationConfig;
  readonly safetySettings?: readonly GeminiSafetySetting[];
  readonly [key: string]: unknown;
}

/**
 * What the request builder needs besides the request.
 *
 * ## Example
 * ```ts
 * toGeminiRequest(request, { provider: 'gemini', model: 'gemini-2.0-flash' });
 * ```
 */
export interface GeminiRequestSettings {
  readonly provider: string;
  readonly model: string;
  readonly safetySettings?: readonly GeminiSafetySetting[];
}

/**
 * The key of `ChatRequest.providerOptions` whose fields are merged into the Gemini body.
 *
 * ## Example
 * ```ts
 * flash.stream({ messages, providerOptions: { [GEMINI_OPTIONS_KEY]: { generationConfig: { thinkingConfig: { thinkingBudget: 0 } } } } });
 * ```
 */
export const GEMINI_OPTIONS_KEY = 'gemini';

/**
 * Builds the Gemini body for a chat request (pure).
 *
 * System messages become `systemInstruction`; `assistant` turns become `model` turns with their tool
 * calls as `functionCall` parts; tool results become `functionResponse` parts of a `user` turn, named by
 * `ToolMessage.name` or else by the earlier assistant call with the same id. Consecutive turns of one
 * role are merged (parallel tool results must share one turn). Images become `inlineData` (base64 or
 * `data:` URLs) or `fileData` (other URLs). Tools are converted with {@link toGeminiSchema}.
 * `providerOptions.gemini` is merged last, one level deep (so `generationConfig.thinkingConfig` adds to
 * the generation config rather than replacing it).
 *
 * ## Example
 * ```ts
 * const body = toGeminiRequest(
 *   { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], maxTokens: 64 },
 *   { provider: 'gemini', model: 'gemini-2.0-flash' },
 * );
 * // { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
 * //   systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 64 } }
 * ```
 *
 * @param request - The normalized request.
 * @param settings - Provider name and model (for errors), and the safety settings to send.
 * @returns The JSON body.
 * @throws LLMError `invalid_request` when a tool result's function cannot be named.
 */
export function toGeminiRequest(request: ChatRequest, settings: GeminiRequestSettings): GeminiRequest {
  const system: { text: string }[] = [];
  const contents: { role: 'user' | 'model'; parts: GeminiRequestPart[] }[] = [];
  const callNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: readonly GeminiRequestPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts: [...parts] });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
        if (message.content !== '') system.push({ text: message.content });
        break;
      case 'user':
        push('user', userParts(message.content));
        break;
      case 'assistant': {
        const parts: GeminiRequestPart[] = message.content !== '' ? [{ text: message.content }] : [];
        for (const call of message.toolCalls ?? []) {
          callNames.set(call.id, call.name);
          parts.push({ functionCall: { name: call.name, args: call.args ?? {} } });
        }
        push('model', parts);
        break;
      }
      case 'tool': {
        const name = message.name ?? callNames.get(message.toolCallId);
        if (name === undefined) throw unnamedToolResult(message, settings);
        push('user', [{ functionResponse: { name, response: toolResponse(message.content) } }]);
        break;
      }
      default:
        assertNever(message);
    }
  }
  const generationConfig = compact({
    temperature: request.temperature,
    topP: request.topP,
    maxOutputTokens: request.maxTokens,
    stopSequences: request.stop && request.stop.length > 0 ? request.stop : undefined,
    responseMimeType: request.responseFormat ? 'application/json' : undefined,
    responseSchema: request.responseFormat?.schema
      ? toGeminiSchema(request.responseFormat.schema)
      : undefined,
  });
  const body: { [key: string]: unknown } = { contents };
  if (system.length > 0) body['systemInstruction'] = { parts: system };
  if (request.tools && request.tools.length > 0) {
    body['tools'] = [{ functionDeclarations: request.tools.map(toFunctionDeclaration) }];
  }
  if (request.toolChoice !== undefined) body['toolConfig'] = toToolConfig(request.toolChoice);
  if (Object.keys(generationConfig).length > 0) body['generationConfig'] = generationConfig;
  if (settings.safetySettings && settings.safetySettings.length > 0) {
    body['safetySettings'] = settings.safetySettings;
  }
  return mergeOptions(body, request.providerOptions?.[GEMINI_OPTIONS_KEY]) as GeminiRequest;
}

/**
 * A function declaration for a tool, its parameters converted to Gemini's schema subset.
 *
 * ## Example
 * ```ts
 * toFunctionDeclaration({ name: 'now', parameters: { type: 'object', properties: {} } }); // { name: 'now' }
 * ```
 *
 * @param tool - The tool as the user defined it.
 * @returns The declaration Gemini accepts.
 */
export function toFunctionDeclaration(tool: ToolDefinition): GeminiFunctionDeclaration {
  const parameters = toGeminiSchema(tool.parameters);
  return {
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    ...(!isEmptyObjectSchema(parameters) && { parameters }),
  };
}

/**
 * Gemini's `toolConfig` for a tool choice: `auto` → `AUTO`, `none` → `NONE`, `required` → `ANY`,
 * `{ name }` → `ANY` limited to that function.
 *
 * ## Example
 * ```ts
 * toToolConfig({ name: 'weather' });
 * // { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] } }
 * ```
 *
 * @param choice - The normalized tool choice.
 * @returns The function-calling config.
 */
export function toToolConfig(choice: ToolChoice): GeminiToolConfig {
  if (typeof choice === 'object') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  }
  switch (choice) {
    case 'auto':
      return { functionCallingConfig: { mode: 'AUTO' } };
    case 'none':
      return { functionCallingConfig: { mode: 'NONE' } };
    case 'required':
      return { functionCallingConfig: { mode: 'ANY' } };
    default:
      return assertNever(choice);
  }
}

function userParts(content: string | readonly ContentPart[]): GeminiRequestPart[] {
  if (typeof content === 'string') return content !== '' ? [{ text: content }] : [];
  const parts: GeminiRequestPart[] = [];
  for (const part of content) {
    switch (part.type) {
      case 'text':
        if (part.text !== '') parts.push({ text: part.text });
        break;
      case 'image':
        parts.push(imagePart(part));
        break;
      default:
        assertNever(part);
    }
  }
  return parts;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/s;

function imagePart(image: ImagePart): GeminiRequestPart {
  if (image.data !== undefined) {
    return { inlineData: { mimeType: image.mediaType ?? sniffImageType(image.data), data: image.data } };
  }
  const url = image.url ?? '';
  const match = DATA_URL.exec(url);
  if (match) {
    const [, type, , base64, payload = ''] = match;
    const data = base64 ? payload : utf8ToBase64(decodeURIComponent(payload));
    return { inlineData: { mimeType: image.mediaType ?? (type || sniffImageType(data)), data } };
  }
  const mimeType = image.mediaType ?? imageTypeFromPath(url);
  return { fileData: { ...(mimeType !== undefined && { mimeType }), fileUri: url } };
}

function utf8ToBase64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// The first base64 characters of each format's magic bytes.
function sniffImageType(base64: string): string {
  if (base64.startsWith('/9j/')) return 'image/jpeg';
  if (base64.startsWith('R0lGOD')) return 'image/gif';
  if (base64.startsWith('UklGR')) return 'image/webp';
  return 'image/png';
}

function imageTypeFromPath(url: string): string | undefined {
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase();
  switch (ext) {
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg';
    case 'png':
    case 'gif':
    case 'webp':
    case 'heic':
    case 'heif':
      return `image/${ext}`;
    default:
      return undefined;
  }
}

/** Gemini wants an object: a JSON object result is sent as is, anything else as `{ output }`. */
function toolResponse(content: string): unknown {
  let parsed: unknown = content;
  try {
    parsed = JSON.parse(content);
  } catch {
    // Plain text: sent as the output string.
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? parsed
    : { output: parsed };
}

function unnamedToolResult(message: Extract<Message, { role: 'tool' }>, settings: GeminiRequestSettings) {
  return new LLMError(
    'invalid_request',
    `${settings.provider}: the tool result for call ${message.toolCallId} has no name, and no earlier assistant call has that id (Gemini matches results by function name)`,
    { provider: settings.provider, model: settings.model },
  );
}

function compact(record: { readonly [key: string]: unknown }): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  return out;
}

function isPlainObject(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeOptions(
  body: { [key: string]: unknown },
  extra: { readonly [key: string]: unknown } | undefined,
): { [key: string]: unknown } {
  if (extra === undefined) return body;
  const out = { ...body };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
  }
  return out;
}
