/**
 * rxllm in a browser: one model called from the page, and a stream from your own server over SSE.
 *
 * The page reads two addresses from its query string: `model` (an OpenAI-compatible endpoint, here the
 * simulator from `rxllm/testing`) and `sse` (a server route that streams a pipeline with `pipeSSE`).
 * In production keep keys on the server: a key in a page is visible to everyone, so call your own
 * server with `fromSSE` and let it hold the keys and the policies.
 *
 * Bundle it with any bundler, no configuration needed (see README, "In the browser"):
 *   esbuild app.ts --bundle --platform=browser --format=esm --minify --outfile=app.js
 */
import { collect, fromSSE, LLMError, openai, textDeltas } from 'rxllm';

const params = new URLSearchParams(location.search);
const request = { messages: [{ role: 'user' as const, content: 'Why is the sky blue?' }] };

const show = (id: string, text: string): void => {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
};

async function main(): Promise<void> {
  // 1. A provider called from the page: the same cold Observable as on a server.
  const model = openai({
    apiKey: 'browser-demo',
    baseURL: params.get('model') ?? '/v1',
    model: 'gpt-4o-mini',
  });
  const done = await collect(model.stream(request));
  show('direct', done.text);
  show('usage', `${done.usage.inputTokens} in / ${done.usage.outputTokens} out, finish ${done.finishReason}`);

  // 2. Your server's pipeline over Server-Sent Events, rendered as it arrives.
  let streamed = '';
  await new Promise<void>((resolve, reject) => {
    fromSSE(params.get('sse') ?? '/api/generate', { body: request })
      .pipe(textDeltas())
      .subscribe({
        next: (delta) => {
          streamed = delta === null ? '' : streamed + delta; // null: a fallback restarted, clear the text
          show('streamed', streamed);
        },
        error: reject,
        complete: resolve,
      });
  });
}

main().then(
  () => (document.body.dataset.status = 'done'),
  (error: unknown) => {
    document.body.dataset.status = 'failed';
    show('error', LLMError.isInstance(error) ? `${error.kind}: ${error.message}` : String(error));
  },
);
