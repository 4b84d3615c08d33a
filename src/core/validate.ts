import { LLMError } from './errors.js';
import type { ChatRequest } from './request.js';

const ROLES = ['system', 'user', 'assistant', 'tool'] as const;
const CHOICES = ['auto', 'none', 'required'] as const;

/**
 * Message arrays already checked, with the length they had: a request re-spread by a policy
 * (`{ ...request }`) is not walked twice, while an array the caller appended to (a chat history kept in
 * one array) is walked again.
 */
const checkedMessages = new WeakMap<object, number>();

/**
 * Checks a caller's request before anything is built from it: the one place malformed input is caught,
 * so every provider and policy sees a well-formed {@link ChatRequest}. Costs one walk over the messages
 * the first time an array is seen; the scalar fields are read on every call.
 *
 * ## Example
 * ```ts
 * const problem = checkRequest({ messages: [{ role: 'robot', content: 'hi' }] });
 * problem?.kind; // 'invalid_request'
 * problem?.message; // 'invalid request: messages[0].role: expected one of system, user, assistant, tool (got "robot")'
 * ```
 *
 * @param request - what the caller passed as a request (anything: JavaScript callers are not type-checked)
 * @param where - provider and model named on the error
 * @returns an `invalid_request` {@link LLMError} naming the field, or `undefined` when the request is well-formed
 */
export function checkRequest(
  request: unknown,
  where: { readonly provider?: string; readonly model?: string } = {},
): LLMError | undefined {
  const problem = requestProblem(request);
  if (problem === undefined) return undefined;
  return new LLMError('invalid_request', `invalid request: ${problem}`, {
    retryable: false,
    ...(where.provider !== undefined && { provider: where.provider }),
    ...(where.model !== undefined && { model: where.model }),
  });
}

function requestProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `request: expected an object (got ${show(value)})`;
  const r = value as { readonly [K in keyof ChatRequest]?: unknown };
  return (
    messagesProblem(r.messages) ??
    optional(r.model, 'model', (v, at) =>
      typeof v === 'string' && v !== '' ? undefined : want(at, 'a non-empty string', v),
    ) ??
    optional(r.temperature, 'temperature', (v, at) => rangeProblem(v, at, 0, Infinity)) ??
    optional(r.topP, 'topP', (v, at) => rangeProblem(v, at, 0, 1)) ??
    optional(r.maxTokens, 'maxTokens', (v, at) =>
      Number.isSafeInteger(v) && (v as number) > 0 ? undefined : want(at, 'a positive integer', v),
    ) ??
    optional(r.stop, 'stop', (v, at) =>
      arrayOf(v, at, (s, i) => (typeof s === 'string' ? undefined : want(i, 'a string', s))),
    ) ??
    optional(r.tools, 'tools', (v, at) => arrayOf(v, at, toolProblem)) ??
    optional(r.toolChoice, 'toolChoice', toolChoiceProblem) ??
    optional(r.responseFormat, 'responseFormat', formatProblem) ??
    optional(r.hints, 'hints', hintsProblem) ??
    optional(r.providerOptions, 'providerOptions', (v, at) =>
      isObject(v) ? finiteProblem(v, at) : want(at, 'an object', v),
    )
  );
}

function messagesProblem(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return want('messages', 'an array of messages', messages);
  if (messages.length === 0) return 'messages: expected at least one message (got [])';
  if (checkedMessages.get(messages) === messages.length) return undefined;
  for (let i = 0; i < messages.length; i++) {
    const problem = messageProblem(messages[i], `messages[${i}]`);
    if (problem !== undefined) return problem;
  }
  checkedMessages.set(messages, messages.length);
  return undefined;
}

function messageProblem(m: unknown, at: string): string | undefined {
  if (!isObject(m)) return want(at, 'a message object', m);
  const message = m as { readonly [key: string]: unknown };
  const role = message['role'];
  switch (role) {
    case 'system':
      return stringAt(message['content'], `${at}.content`);
    case 'user':
      return typeof message['content'] === 'string'
        ? undefined
        : Array.isArray(message['content'])
          ? arrayOf(message['content'], `${at}.content`, partProblem)
          : want(`${at}.content`, 'a string or an array of parts', message['content']);
    case 'assistant':
      return (
        stringAt(message['content'], `${at}.content`) ??
        optional(message['toolCalls'], `${at}.toolCalls`, (v, p) => arrayOf(v, p, toolCallProblem))
      );
    case 'tool':
      return (
        stringAt(message['content'], `${at}.content`) ??
        stringAt(message['toolCallId'], `${at}.toolCallId`) ??
        optional(message['name'], `${at}.name`, stringAt)
      );
    default:
      return want(`${at}.role`, `one of ${ROLES.join(', ')}`, role);
  }
}

function partProblem(p: unknown, at: string): string | undefined {
  if (!isObject(p)) return want(at, 'a content part object', p);
  const part = p as { readonly [key: string]: unknown };
  if (part['type'] === 'text') return stringAt(part['text'], `${at}.text`);
  if (part['type'] !== 'image') return want(`${at}.type`, 'one of text, image', part['type']);
  if (part['url'] === undefined && part['data'] === undefined) return `${at}: an image needs a url or data`;
  return (
    optional(part['url'], `${at}.url`, stringAt) ??
    optional(part['data'], `${at}.data`, stringAt) ??
    optional(part['mediaType'], `${at}.mediaType`, stringAt)
  );
}

function toolCallProblem(c: unknown, at: string): string | undefined {
  if (!isObject(c)) return want(at, 'a tool call object', c);
  const call = c as { readonly [key: string]: unknown };
  return (
    stringAt(call['id'], `${at}.id`) ??
    stringAt(call['name'], `${at}.name`) ??
    finiteProblem(call['args'], `${at}.args`)
  );
}

function toolProblem(t: unknown, at: string): string | undefined {
  if (!isObject(t)) return want(at, 'a tool definition object', t);
  const tool = t as { readonly [key: string]: unknown };
  return (
    stringAt(tool['name'], `${at}.name`) ??
    optional(tool['description'], `${at}.description`, stringAt) ??
    (isObject(tool['parameters'])
      ? finiteProblem(tool['parameters'], `${at}.parameters`)
      : want(`${at}.parameters`, 'a JSON Schema object', tool['parameters']))
  );
}

function toolChoiceProblem(v: unknown, at: string): string | undefined {
  if (typeof v === 'string')
    return (CHOICES as readonly string[]).includes(v)
      ? undefined
      : want(at, `one of ${CHOICES.join(', ')} or { name }`, v);
  if (isObject(v)) return stringAt((v as { readonly name?: unknown }).name, `${at}.name`);
  return want(at, `one of ${CHOICES.join(', ')} or { name }`, v);
}

function formatProblem(v: unknown, at: string): string | undefined {
  if (!isObject(v)) return want(at, "an object { type: 'json' }", v);
  const format = v as { readonly [key: string]: unknown };
  if (format['type'] !== 'json') return want(`${at}.type`, "'json'", format['type']);
  return (
    optional(format['name'], `${at}.name`, stringAt) ??
    optional(format['schema'], `${at}.schema`, (s, p) =>
      isObject(s) ? finiteProblem(s, p) : want(p, 'a JSON Schema object', s),
    )
  );
}

function hintsProblem(v: unknown, at: string): string | undefined {
  if (!isObject(v)) return want(at, 'an object', v);
  const hints = v as { readonly [key: string]: unknown };
  return (
    optional(hints['maxCost'], `${at}.maxCost`, (n, p) => rangeProblem(n, p, 0, Infinity)) ??
    optional(hints['maxLatencyMs'], `${at}.maxLatencyMs`, (n, p) => rangeProblem(n, p, 0, Infinity)) ??
    optional(hints['minQuality'], `${at}.minQuality`, (n, p) => rangeProblem(n, p, 0, 1))
  );
}

/** A number JSON can carry (NaN and Infinity would go out as `null`) within `[min, max]`. */
function rangeProblem(v: unknown, at: string, min: number, max: number): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return want(at, 'a finite number', v);
  if (v < min || v > max)
    return want(at, max === Infinity ? `a number >= ${min}` : `a number from ${min} to ${max}`, v);
  return undefined;
}

/** The first NaN or Infinity inside a JSON value the caller passes through to the vendor. */
function finiteProblem(v: unknown, at: string, depth = 0): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : want(at, 'a finite number', v);
  if (depth > 32 || !isObject(v)) return undefined;
  if (Array.isArray(v)) return arrayOf(v, at, (item, path) => finiteProblem(item, path, depth + 1));
  for (const key of Object.keys(v)) {
    const problem = finiteProblem((v as { readonly [key: string]: unknown })[key], `${at}.${key}`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function arrayOf(
  v: unknown,
  at: string,
  item: (value: unknown, at: string) => string | undefined,
): string | undefined {
  if (!Array.isArray(v)) return want(at, 'an array', v);
  for (let i = 0; i < v.length; i++) {
    const problem = item(v[i], `${at}[${i}]`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function optional(
  v: unknown,
  at: string,
  check: (value: unknown, at: string) => string | undefined,
): string | undefined {
  return v === undefined ? undefined : check(v, at);
}

function stringAt(v: unknown, at: string): string | undefined {
  return typeof v === 'string' ? undefined : want(at, 'a string', v);
}

function want(at: string, expected: string, got: unknown): string {
  return `${at}: expected ${expected} (got ${show(got)})`;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** The offending value, short: a caller's content may be long or private, so strings are cut. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}
