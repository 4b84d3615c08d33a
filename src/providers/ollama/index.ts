import type * as OllamaSdk from 'ollama';
import { importPeer } from '../../core/peer.js';
import { defer, type Observable } from 'rxjs';
import type { TokenEvent } from '../../core/events.js';
import { defineModel, type LanguageModel } from '../../core/model.js';
import { registerSecret } from '../../core/redact.js';
import type { ChatRequest } from '../../core/request.js';
import { directStream, jsonFrame, sdkStream, type MapperContext } from '../shared/run.js';
import { joinUrl, readEnv, resolvePricing, type ProviderOptions, profileOf } from '../shared/options.js';
import type { OllamaChatBody, OllamaChatChunk, OllamaThink } from './chunks.js';
import { mapOllamaSdkError, type SdkResponseInfo } from './errors.js';
import { createOllamaMapper } from './map.js';
import { toOllamaRequest } from './request.js';
import { guardedFetch } from './sdkFetch.js';

/** Where Ollama listens unless told otherwise. */
export const OLLAMA_DEFAULT_HOST = 'http://127.0.0.1:11434';

/**
 * The part of the `ollama` SDK's client that rxllm uses: a streaming `chat` whose iterator can be
 * aborted. An `Ollama` instance from the `ollama` package fits.
 */
export interface OllamaChatClient {
  /** Starts a streamed chat; called with the request body rxllm builds (the `/api/chat` JSON body). */
  chat(request: {
    /** The model to run. */
    readonly model: string;
    /** Always `true`: rxllm streams. */
    readonly stream: true;
  }): Promise<
    AsyncIterable<unknown> & {
      /** Stops the stream (the subscriber left). */
      abort(): void;
    }
  >;
}

/** Options of {@link ollama}. */
export interface OllamaOptions extends ProviderOptions {
  /**
   * The Ollama server's root URL (an alias of `baseURL`, as the SDK names it). Default: the `OLLAMA_HOST`
   * environment variable, else `http://127.0.0.1:11434`. Like the Ollama CLI, `host:port`, `:port` and a
   * host without a port (port 11434) are accepted.
   */
  readonly host?: string;
  /**
   * An `ollama` SDK client to call; implies the `sdk` transport. Its own host, headers and `fetch` are
   * used (rxllm's `host`, `headers`, `apiKey` and `fetch` are not). Without it, the `sdk` transport creates a
   * client per call.
   */
  readonly client?: OllamaChatClient;
  /** How long the server keeps the model loaded after a call (`'5m'`, seconds, `-1` forever). Server default: 5 minutes. */
  readonly keepAlive?: string | number;
  /** Ask thinking models to think (`true`, or `'low' | 'medium' | 'high'`); their thinking streams as `reasoning`. */
  readonly think?: OllamaThink;
}

/**
 * A {@link LanguageModel} for a model served by Ollama (`POST /api/chat`, streamed as NDJSON).
 *
 * Intuition: a local model with the same events as every hosted one; no key needed, zero cost unless
 * you give it pricing.
 *
 * - Transport `direct` (default): `fetch` + NDJSON lines. `sdk`, or a `client`: the official `ollama`
 *   package (loaded lazily), driving the same mapper, so both give identical events.
 * - `apiKey` (for hosted Ollama) is sent as `authorization: Bearer …` and registered for redaction. The
 *   `OLLAMA_API_KEY` environment variable is read only for `https://ollama.com`, as the SDK does.
 * - Cost uses the catalog's pricing (the built-in Ollama entries are free); an unknown model costs 0.
 * - Unsubscribing aborts the request. With a user `client`, an abort before the response headers
 *   arrived closes the socket only once they do (the SDK takes no per-request signal).
 *
 * ## Example
 * ```ts
 * const llama = ollama({ model: 'llama3.2' });
 * llama
 *   .stream({ messages: [{ role: 'user', content: 'Why is the sky blue?' }] })
 *   .subscribe((event) => event.type === 'text' && process.stdout.write(event.text));
 * ```
 *
 * @see toOllamaRequest for how a request is translated.
 * @see streamFault for how in-stream errors are classified.
 * @param options The model, the server, the transport and server-side settings.
 * @returns A cold `LanguageModel`: nothing is sent until a stream is subscribed.
 */
export function ollama(options: OllamaOptions): LanguageModel {
  const provider = options.name ?? 'ollama';
  const host = normalizeOllamaHost(
    options.host ?? options.baseURL ?? readEnv('OLLAMA_HOST') ?? OLLAMA_DEFAULT_HOST,
  );
  const apiKey =
    options.apiKey ?? (host.startsWith('https://ollama.com') ? readEnv('OLLAMA_API_KEY') : undefined);
  registerSecret(apiKey);
  const headers: { readonly [name: string]: string } = {
    ...(apiKey !== undefined && { authorization: `Bearer ${apiKey}` }),
    ...options.headers,
  };
  const useSdk = options.client !== undefined || options.transport === 'sdk';

  function stream(request: ChatRequest): Observable<TokenEvent> {
    const model = request.model ?? options.model;
    const context: MapperContext = {
      provider,
      model,
      pricing: resolvePricing(options, 'ollama', model),
      request,
    };
    const body = (): OllamaChatBody =>
      toOllamaRequest(request, {
        provider,
        model,
        ...(options.keepAlive !== undefined && { keepAlive: options.keepAlive }),
        ...(options.think !== undefined && { think: options.think }),
      });
    const mapper = () => createOllamaMapper(context);
    if (!useSdk) {
      return directStream(
        () => ({
          url: joinUrl(host, '/api/chat'),
          headers,
          body: body(),
          framing: 'ndjson',
          ...(options.fetch !== undefined && { fetch: options.fetch }),
          provider,
          model,
        }),
        jsonFrame<OllamaChatChunk>(provider, model),
        mapper,
        options,
      );
    }
    return defer(() => {
      const seen: SdkResponseInfo = {};
      const open = async (signal: AbortSignal): Promise<AsyncIterable<OllamaChatChunk>> => {
        const payload = body();
        const client = options.client ?? (await createClient(signal, seen));
        const iterator = await client.chat(payload);
        if (signal.aborted) iterator.abort();
        else signal.addEventListener('abort', () => iterator.abort(), { once: true });
        return iterator as AsyncIterable<OllamaChatChunk>;
      };
      return sdkStream(open, mapper, (error) => mapOllamaSdkError(error, context, seen));
    });

    async function createClient(signal: AbortSignal, seen: SdkResponseInfo): Promise<OllamaChatClient> {
      const { Ollama } = await importPeer<typeof OllamaSdk>('ollama');
      return new Ollama({
        host,
        headers: { ...headers },
        fetch: guardedFetch(options.fetch ?? fetch, signal, seen, context),
      });
    }
  }

  return defineModel({ provider, model: options.model, profile: profileOf(options), stream });
}

/**
 * An Ollama host as the CLI accepts it → a URL root: `:11434` → `http://127.0.0.1:11434`, `gpu-box` →
 * `http://gpu-box:11434`, `https://ollama.com` stays. Trailing slashes and a trailing `/api` are dropped.
 *
 * ## Example
 * ```ts
 * normalizeOllamaHost('0.0.0.0:11434'); // 'http://0.0.0.0:11434'
 * ```
 *
 * @param raw The host as given (option or `OLLAMA_HOST`).
 * @returns The root URL, without a trailing slash.
 */
export function normalizeOllamaHost(raw: string): string {
  let host = raw.trim();
  if (host.startsWith(':')) host = `127.0.0.1${host}`;
  const explicit = host.includes('://');
  const url = new URL(explicit ? host : `http://${host}`);
  if (!explicit && url.port === '') url.port = '11434';
  return url.href.replace(/\/+$/, '').replace(/\/api$/, '');
}
