/**
 * An MCP server over a pipeline built from a configuration file: tools `complete_text`, `complete_chat`,
 * `list_providers` and `get_metrics`. `serveMcp.ts` puts it on stdio or Streamable HTTP.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { from } from 'rxjs';
import { z } from 'zod';
import type { Pipeline } from '../config/build.js';
import { LLMError, toLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';
import type { LanguageModel } from '../core/model.js';
import type { ChatRequest, Message } from '../core/request.js';
import { type Completion, collect } from '../helpers/collect.js';
import { metricsFamilies, renderPrometheus } from '../observability/prometheus.js';

const generation = {
  maxTokens: z.number().int().positive().optional().describe('Most output tokens'),
  temperature: z.number().min(0).max(2).optional(),
};

const answerShape = {
  text: z.string(),
  provider: z.string(),
  model: z.string(),
  finishReason: z.string(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).loose(),
  cost: z.number().describe('US dollars'),
  cached: z.boolean(),
  failures: z.array(z.object({ provider: z.string(), model: z.string(), kind: z.string() })),
};

/** Options of {@link createMcpServer}. */
export interface McpServerOptions {
  readonly name?: string;
  readonly version?: string;
  /** What completions stream through. Default `pipeline.model` (a caller's keyed model over HTTP). */
  readonly model?: LanguageModel;
}

/** What a tool call carries besides its arguments: cancellation and a way to report progress. */
type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * An MCP server whose tools stream through `pipeline` (routing, fallback, budgets and all). A cancelled
 * tool call unsubscribes its stream, which aborts the upstream request. Failures are tool errors
 * (`isError`) whose text is the `LLMError` kind and redacted message.
 *
 * ## Example
 * ```ts
 * const server = createMcpServer(await loadPipeline('rxllm.yaml'));
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createMcpServer(pipeline: Pipeline, options: McpServerOptions = {}): McpServer {
  const server = new McpServer({ name: options.name ?? 'rxllm', version: options.version ?? '0.1.0' });
  const model = options.model ?? pipeline.model;

  server.registerTool(
    'complete_text',
    {
      title: 'Complete a prompt',
      description:
        'Answers one prompt (with an optional system instruction) through the configured LLM pipeline.',
      inputSchema: {
        prompt: z.string().min(1),
        system: z.string().optional(),
        ...generation,
      },
      outputSchema: answerShape,
    },
    async ({ prompt, system, maxTokens, temperature }, extra) => {
      const messages: Message[] = [
        ...(system ? [{ role: 'system' as const, content: system }] : []),
        { role: 'user', content: prompt },
      ];
      return answer(model, { messages, ...defined({ maxTokens, temperature }) }, extra);
    },
  );

  server.registerTool(
    'complete_chat',
    {
      title: 'Continue a conversation',
      description: 'Answers the next assistant turn of a conversation through the configured LLM pipeline.',
      inputSchema: {
        messages: z
          .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
          .min(1),
        ...generation,
      },
      outputSchema: answerShape,
    },
    async ({ messages, maxTokens, temperature }, extra) =>
      answer(model, { messages: messages as Message[], ...defined({ maxTokens, temperature }) }, extra),
  );

  server.registerTool(
    'list_providers',
    {
      title: 'List providers',
      description: 'The configured providers with their model, priority, health and circuit state.',
      inputSchema: {},
      outputSchema: {
        strategy: z.string(),
        providers: z.array(
          z
            .object({
              name: z.string(),
              type: z.string(),
              model: z.string(),
              priority: z.number(),
              weight: z.number(),
            })
            .loose(),
        ),
      },
    },
    async () => {
      const status = await pipeline.status();
      const result = { strategy: status.strategy, providers: status.providers };
      return {
        content: [{ type: 'text', text: JSON.stringify(result, null, 2) }],
        structuredContent: result,
      };
    },
  );

  server.registerTool(
    'get_metrics',
    {
      title: 'Get metrics',
      description:
        'Calls, errors, tokens, cost and latency per provider and model (JSON), or Prometheus text.',
      inputSchema: { format: z.enum(['json', 'prometheus']).optional() },
    },
    async ({ format }) => {
      const snapshot = pipeline.handles.metrics.snapshot();
      if (format === 'prometheus') {
        return { content: [{ type: 'text', text: renderPrometheus(metricsFamilies(snapshot)) }] };
      }
      const summary = {
        totals: snapshot.totals,
        series: snapshot.series.map((s) => ({
          provider: s.provider,
          model: s.model,
          calls: s.calls,
          outcomes: s.outcomes,
          errors: s.errors,
          inputTokens: s.inputTokens,
          outputTokens: s.outputTokens,
          cost: s.cost,
          meanDurationMs: s.duration.count > 0 ? s.duration.sum / s.duration.count : undefined,
          meanTimeToFirstTokenMs:
            s.timeToFirstToken.count > 0 ? s.timeToFirstToken.sum / s.timeToFirstToken.count : undefined,
        })),
      };
      return {
        content: [{ type: 'text', text: JSON.stringify(summary, null, 2) }],
        structuredContent: summary,
      };
    },
  );

  return server;
}

/** Streams `request` to the end (or until the call is cancelled) and shapes the tool result. */
async function answer(model: LanguageModel, request: ChatRequest, extra: ToolExtra): Promise<CallToolResult> {
  let done: Completion;
  try {
    done = await run(model, request, extra);
  } catch (error) {
    const e = toLLMError(error);
    return { isError: true, content: [{ type: 'text', text: `${e.kind}: ${e.message}` }] };
  }
  const result = {
    text: done.text,
    provider: done.provider,
    model: done.model,
    finishReason: done.finishReason,
    usage: done.usage,
    cost: done.cost.total,
    cached: done.cached,
    failures: done.failures.map((f) => ({ ...f.from, kind: f.error.kind })),
  };
  return { content: [{ type: 'text', text: done.text }], structuredContent: result };
}

/**
 * Runs the call; when the client asked for progress (a `progressToken`), each piece of text is a progress
 * notification: `progress` counts the pieces so far and `message` is the piece, so a client can show the
 * answer as it streams.
 */
function run(model: LanguageModel, request: ChatRequest, extra: ToolExtra): Promise<Completion> {
  const token = extra._meta?.progressToken;
  let pieces = 0;
  return new Promise((resolve, reject) => {
    if (extra.signal.aborted) return reject(new LLMError('aborted', 'The tool call was cancelled'));
    const events: TokenEvent[] = [];
    const subscription = model.stream(request).subscribe({
      next(event) {
        events.push(event);
        if (token === undefined || event.type !== 'text') return;
        extra
          .sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: ++pieces, message: event.text },
          })
          .catch(() => undefined); // a client gone mid-call: the abort below ends the call
      },
      error: reject,
      complete: () => collect(from(events)).then(resolve, reject),
    });
    extra.signal.addEventListener(
      'abort',
      () => {
        subscription.unsubscribe();
        reject(new LLMError('aborted', 'The tool call was cancelled'));
      },
      { once: true },
    );
  });
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
