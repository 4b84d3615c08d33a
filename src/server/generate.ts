/**
 * `POST /v1/generate`: rxllm's own dialect. A `ChatRequest` in; Server-Sent Events that `fromSSE` reads
 * back into the same events (`stream: true` or `Accept: text/event-stream`), or one JSON answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LLMError } from '../core/errors.js';
import { encodeError, encodeEvent, END_FRAME } from '../streaming/sseFormat.js';
import { type Caller, generateProviders } from './callers.js';
import type { BodyIssue } from './body.js';
import { parseGenerateBody } from './generateBody.js';
import { readJsonBody, sendJson } from './http.js';
import { restrictTo } from './models.js';
import { type RelayContext, relayCompletion, relayStream, type StreamDialect } from './relay.js';
import { httpStatusOf, retryAfterHeaders } from './status.js';

/** Handles one `/v1/generate` request of `caller` (kept to the providers of the caller's models). */
export async function generate(
  req: IncomingMessage,
  res: ServerResponse,
  caller: Caller,
  context: Omit<RelayContext, 'reject'> & { readonly maxBodyBytes: number },
): Promise<void> {
  const body = await readJsonBody(req, res, context.maxBodyBytes);
  if (!body.ok) return badRequest(res, body.status, body.message);
  const parsed = parseGenerateBody(body.json);
  if (!parsed.ok) return badRequest(res, 400, 'The request body is invalid', parsed.issues);
  const { request, stream } = parsed.call;
  if (res.destroyed) return;
  const relay = { ...context, reject: sendGenerateError };
  const allowed = generateProviders(caller);
  const source = caller.model.stream(allowed ? restrictTo(request, allowed, caller.providers) : request);
  if (stream ?? /text\/event-stream/i.test(req.headers.accept ?? '')) {
    return relayStream(source, res, sseDialect(), relay);
  }
  return relayCompletion(
    source,
    res,
    (done) =>
      sendJson(res, 200, {
        text: done.text,
        ...(done.reasoning && { reasoning: done.reasoning }),
        toolCalls: done.toolCalls.map((c) => ({ id: c.id, name: c.name, args: c.args })),
        finishReason: done.finishReason,
        rawFinishReason: done.rawFinishReason,
        usage: done.usage,
        cost: done.cost,
        provider: done.provider,
        model: done.model,
        cached: done.cached,
        failures: done.failures.map((f) => ({ ...f.from, kind: f.error.kind })),
      }),
    relay,
  );
}

/** rxllm's SSE frames (`toSSE`'s format), numbered from 0. */
function sseDialect(): StreamDialect {
  let id = 0;
  return {
    event: (event) => encodeEvent(event, id++),
    fail: encodeError,
    end: () => END_FRAME,
  };
}

/** A 4xx whose body names each bad field. */
export function badRequest(
  res: ServerResponse,
  status: number,
  message: string,
  issues?: readonly BodyIssue[],
): void {
  sendJson(res, status, { error: { kind: 'invalid_request', message, ...(issues && { issues }) } });
}

/** The error as JSON (`LLMError.toJSON()`: kind, redacted message, retryable, upstream status, causes). */
export function sendGenerateError(res: ServerResponse, error: LLMError): void {
  sendJson(res, httpStatusOf(error), { error: error.toJSON() }, retryAfterHeaders(error));
}
