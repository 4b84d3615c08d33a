import type { IncomingMessage, ServerResponse } from 'node:http';

/** A body read as JSON, or why it could not be (with the HTTP status to answer). */
export type JsonBody =
  | { readonly ok: true; readonly json: unknown }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };

/**
 * Reads a JSON request body of at most `limit` bytes. Reading stops at the limit (the rest is drained, the
 * connection closed after the answer), so an oversized body costs no memory.
 */
export async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<JsonBody> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return { ok: false, status: 415, message: 'The body must be JSON (content-type: application/json)' };
  }
  const raw = await readBody(req, limit);
  if (raw === undefined) {
    res.setHeader('connection', 'close');
    return { ok: false, status: 413, message: `The body is larger than ${limit} bytes` };
  }
  try {
    return { ok: true, json: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, status: 400, message: 'The body is not valid JSON' };
  }
}

/** The body, or `undefined` when it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers `body` as JSON, unless an answer has already started or the client left. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
