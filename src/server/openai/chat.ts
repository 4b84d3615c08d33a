/** OpenAI's `POST /v1/chat/completions` and `GET /v1/models` in front of the pipeline. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProviderHandle } from '../../config/build.js';
import type { LanguageModel } from '../../core/model.js';
import { readJsonBody, sendJson } from '../http.js';
import { modelEntries, restrictTo } from '../models.js';
import { type RelayContext, relayCompletion, relayStream } from '../relay.js';
import { parseChatBody } from './chatBody.js';
import { chunkWriter, completionOf } from './chunks.js';
import { type OpenAIErrorAnswer, openaiError, openaiRequestError } from './errors.js';

/** Who calls and through what: the pipeline (wrapped in the caller's own policies) and its model names. */
export interface OpenAICaller {
  readonly model: LanguageModel;
  readonly providers: readonly ProviderHandle[];
  /** The model names this caller may use (all when absent). */
  readonly models?: readonly string[];
}

/** Handles one chat completions request. */
export async function chatCompletions(
  req: IncomingMessage,
  res: ServerResponse,
  caller: OpenAICaller,
  context: Omit<RelayContext, 'reject'> & { readonly maxBodyBytes: number },
): Promise<void> {
  const body = await readJsonBody(req, res, context.maxBodyBytes);
  if (!body.ok) return sendOpenAIError(res, openaiRequestError(body.status, body.message));
  const parsed = parseChatBody(body.json);
  if (!parsed.ok) {
    const first = parsed.issues[0];
    const message = parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return sendOpenAIError(res, openaiRequestError(400, message, 'invalid_request', first?.path ?? null));
  }
  const call = parsed.call;
  const entry = modelEntries(caller.providers, caller.models).find((e) => e.id === call.model);
  if (!entry) {
    const message = `The model \`${call.model}\` does not exist or you do not have access to it (GET /v1/models lists them)`;
    return sendOpenAIError(res, openaiRequestError(404, message, 'model_not_found', 'model'));
  }
  if (res.destroyed) return;
  const identity = {
    id: `chatcmpl-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: call.model,
  };
  const relay = {
    ...context,
    reject: (r: ServerResponse, e: Parameters<typeof openaiError>[0]) => sendOpenAIError(r, openaiError(e)),
  };
  const source = caller.model.stream(restrictTo(call.request, entry.providers, caller.providers));
  if (call.stream) return relayStream(source, res, chunkWriter(identity, call.includeUsage), relay);
  return relayCompletion(source, res, (done) => sendJson(res, 200, completionOf(identity, done)), relay);
}

/** `GET /v1/models`: the names of {@link modelEntries}, in OpenAI's list shape. */
export function listModels(res: ServerResponse, caller: OpenAICaller): void {
  sendJson(res, 200, {
    object: 'list',
    data: modelEntries(caller.providers, caller.models).map((e) => ({
      id: e.id,
      object: 'model',
      created: 0,
      owned_by: e.ownedBy,
    })),
  });
}

/** Answers an OpenAI-shaped error. */
export function sendOpenAIError(res: ServerResponse, answer: OpenAIErrorAnswer): void {
  sendJson(res, answer.status, answer.body, answer.headers);
}
