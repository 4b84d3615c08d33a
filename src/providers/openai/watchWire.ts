/**
 * What the `openai` SDK does not tell: whether the body had its `data: [DONE]` frame (the SDK swallows it,
 * and ends its iteration the same way when the body is cut) and, for an HTTP error whose body is not
 * OpenAI-shaped (Mistral's 422), what the body said (the SDK drops it). A `fetch` wrapper sees the bytes.
 *
 * @module
 */

/** What the wrapped `fetch` saw of one request. */
export interface WireWatch {
  /** Called once when a `data: [DONE]` frame went by. */
  readonly onDone: () => void;
  /** The body of an HTTP error response, as text. */
  errorText?: string;
}

// JSON escapes line breaks inside strings, so a line break before `data:` starts a frame.
const DONE_FRAME = /[\r\n]data: ?\[DONE\]/;
// Latin-1 maps bytes to characters one to one: enough to find an ASCII frame, and no UTF-8 state.
const latin1 = new TextDecoder('latin1');

/**
 * A byte stream that passes every chunk on unchanged and calls `onDone` when `data: [DONE]` passes.
 *
 * ## Example
 * ```ts
 * const body = response.body.pipeThrough(doneWatcher(() => map.sawDone()));
 * ```
 *
 * @param onDone - called once, when the frame went by
 * @returns the transform
 */
export function doneWatcher(onDone: () => void): TransformStream<Uint8Array, Uint8Array> {
  // The end of the previous read, so a frame split across reads is still seen; a body starts a line.
  let carry: string | undefined = '\n';
  return new TransformStream({
    transform(bytes, controller) {
      if (carry !== undefined) {
        const text = carry + latin1.decode(bytes);
        if (DONE_FRAME.test(text)) {
          carry = undefined;
          onDone();
        } else {
          carry = text.slice(-14);
        }
      }
      controller.enqueue(bytes);
    },
  });
}

/**
 * Wraps `fetch`: a successful body is watched for `[DONE]`, an error body is read into `watch.errorText`
 * and handed on as it came.
 *
 * ## Example
 * ```ts
 * const client = sdk.withOptions({ fetch: watchedFetch(baseFetch, { onDone: () => map.sawDone() }) });
 * ```
 *
 * @param base - the `fetch` the client used
 * @param watch - where to report
 * @returns the wrapping `fetch`
 */
export function watchedFetch(base: typeof fetch, watch: WireWatch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    const { status, statusText, headers } = response;
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      watch.errorText = text;
      return new Response(text, { status, statusText, headers });
    }
    if (response.body === null) return response;
    return new Response(response.body.pipeThrough(doneWatcher(watch.onDone)), {
      status,
      statusText,
      headers,
    });
  };
}
