import {
  concat,
  concatMap,
  defaultIfEmpty,
  defer,
  EMPTY,
  from,
  isObservable,
  merge,
  Observable,
  of,
  take,
  type ObservableInput,
} from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import { addCost, addUsage } from '../core/usage.js';
import type {
  Cost,
  FinishEvent,
  StepEvent,
  TokenEvent,
  ToolApprovalEvent,
  ToolCallEvent,
  ToolResultEvent,
  Usage,
} from '../core/events.js';
import type { LanguageModel } from '../core/model.js';
import { subscribeHeld } from '../operators/internal/subscribeHeld.js';
import type { ChatRequest, Message, ToolDefinition } from '../core/request.js';
import { jsonSchemaOf } from './objectRequest.js';
import { issuePath, type StandardResult } from './standardSchema.js';
import type { Tool } from './tool.js';
import { ToolExecutionError } from './ToolExecutionError.js';

/** What a stop condition sees: every step so far, the last one last. */
export interface LoopStep {
  /** The step's position in the loop, from 0. */
  readonly index: number;
  /** The text the model answered in this step. */
  readonly text: string;
  /** The tool calls the model asked for in this step, in order. */
  readonly toolCalls: readonly ToolCallEvent[];
  /** The results of those calls, in the order of the calls (empty when none ran). */
  readonly toolResults: readonly ToolResultEvent[];
  /** The step's `step` event: why the call ended, its usage and cost. */
  readonly step: StepEvent;
}

/** Options of {@link runTools}. */
export interface RunToolsOptions {
  /** The tools, by the name the model calls them. */
  readonly tools: Readonly<Record<string, Tool>>;
  /** Most model calls in one loop. Default 8. */
  readonly maxSteps?: number;
  /** Called after each step's tools ran; true ends the loop there. Default: never. */
  readonly stopWhen?: (steps: readonly LoopStep[]) => boolean;
  /**
   * A tool that throws: `result` (default) sends the error to the model as the tool's result, so it can
   * correct itself; `fail` ends the loop with a {@link ToolExecutionError}.
   */
  readonly onToolError?: 'result' | 'fail';
  /**
   * Answers a `tool-approval` event: true runs the call, false sends the model a declined result. Default:
   * every call that needs approval is declined.
   */
  readonly approve?: (request: ToolApprovalEvent) => ObservableInput<boolean>;
}

/**
 * Runs a model with tools until it answers: streams each step (its `start`, text, tool calls), runs the
 * calls a step asks for (in parallel), emits their `tool-result`s, sends the results back, and calls the
 * model again, until it stops asking, `maxSteps`, or `stopWhen`. Each step's `finish` becomes a `step`
 * event; the loop ends with one `finish` whose usage and cost are the sum of its steps.
 *
 * Think `expand` over a conversation. Each step is one call of `model`, so a pipeline's policies apply per
 * step: a fallback or retry repeats the model call, never a tool that already ran (its result is in the
 * conversation); a `budget()` in the pipeline meters every step against the same limits. Unsubscribing
 * aborts the model call and every running `execute` (their `signal`).
 *
 * ## Example
 * ```ts
 * import { z } from 'zod';
 * const weather = tool({ input: z.object({ city: z.string() }), execute: ({ city }) => ({ city, celsius: 21 }) });
 * runTools(pipeline, { messages: [{ role: 'user', content: 'Weather in Lyon?' }] }, { tools: { weather } })
 *   .subscribe((e) => e.type === 'text' && process.stdout.write(e.text));
 * ```
 *
 * @see {@link tool} declares a tool with its input type inferred.
 * @param model The model or pipeline each step calls.
 * @param request The conversation so far (its `tools` are replaced by `options.tools`).
 * @param options The tools, limits, error and approval handling.
 * @returns A cold stream of the whole loop's events.
 */
export function runTools(
  model: LanguageModel,
  request: ChatRequest,
  options: RunToolsOptions,
): Observable<TokenEvent> {
  return defer(() => {
    const maxSteps = options.maxSteps ?? 8;
    const definitions = Object.entries(options.tools).map(([name, t]) => definitionOf(name, t));
    const steps: LoopStep[] = [];
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let cost: Cost = { input: 0, output: 0, total: 0 };

    const step = (messages: readonly Message[], index: number): Observable<TokenEvent> =>
      new Observable<TokenEvent>((subscriber) => {
        let text = '';
        let calls: ToolCallEvent[] = [];
        let ended: StepEvent | undefined;
        // Held: a synchronous model stops as soon as the subscriber leaves, not at its end.
        subscribeHeld(
          model.stream({ ...request, messages, tools: definitions }),
          {
            next: (event) => {
              switch (event.type) {
                case 'text':
                  text += event.text;
                  break;
                case 'tool-call':
                  calls.push(event);
                  break;
                case 'reset':
                  ({ text, calls } = { text: '', calls: [] });
                  break;
                case 'finish':
                  ended = stepOf(event, index);
                  usage = addUsage(usage, event.usage);
                  cost = addCost(cost, event.cost);
                  return subscriber.next(ended);
                default:
                  break;
              }
              subscriber.next(event);
            },
            error: (error: unknown) => subscriber.error(toLLMError(error)),
            complete: () => {
              if (ended === undefined) {
                const source = { provider: model.provider, model: model.model };
                return subscriber.error(
                  new LLMError('incomplete', `Step ${index} ended without a finish`, source),
                );
              }
              const results: ToolResultEvent[] = [];
              const run =
                ended.reason === 'tool-calls' && calls.length > 0 ? runCalls(calls, options) : EMPTY;
              const more = defer(() => {
                steps.push({ index, text, toolCalls: calls, toolResults: results, step: ended! });
                const asked = calls.length > 0 && ended!.reason === 'tool-calls';
                if (!asked || index + 1 >= maxSteps || options.stopWhen?.(steps)) return of(finishOf(ended!));
                return step([...messages, ...turnOf(text, calls, results)], index + 1);
              });
              subscriber.add(
                concat(run, more).subscribe({
                  next: (event) => {
                    if (event.type === 'tool-result') results.push(event);
                    subscriber.next(event);
                  },
                  error: (error: unknown) => subscriber.error(toLLMError(error)),
                  complete: () => subscriber.complete(),
                }),
              );
            },
          },
          (held) => subscriber.add(held),
        );
      });

    const finishOf = (last: StepEvent): FinishEvent => ({
      type: 'finish',
      reason: last.reason,
      ...(last.raw !== undefined && { raw: last.raw }),
      usage,
      cost,
    });
    return step(request.messages, 0);
  });
}

function definitionOf(name: string, t: Tool): ToolDefinition {
  return {
    name,
    ...(t.description !== undefined && { description: t.description }),
    parameters: t.parameters ?? jsonSchemaOf(t.input, `tool ${name}`),
  };
}

function stepOf(finish: FinishEvent, index: number): StepEvent {
  return {
    type: 'step',
    index,
    reason: finish.reason,
    ...(finish.raw !== undefined && { raw: finish.raw }),
    usage: finish.usage,
    cost: finish.cost,
  };
}

/** The assistant's turn with its calls, then one tool message per call, in the order of the calls. */
function turnOf(
  text: string,
  calls: readonly ToolCallEvent[],
  results: readonly ToolResultEvent[],
): Message[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return [
    {
      role: 'assistant',
      content: text,
      toolCalls: calls.map((c) => ({ id: c.id, name: c.name, args: c.args })),
    },
    ...calls.map((c): Message => {
      const output = byId.get(c.id)?.output ?? 'The tool did not run.';
      return {
        role: 'tool',
        toolCallId: c.id,
        name: c.name,
        content: typeof output === 'string' ? output : JSON.stringify(output),
      };
    }),
  ];
}

/** Every call at once: each validated, approved when it must be, executed; results as they come. */
function runCalls(calls: readonly ToolCallEvent[], options: RunToolsOptions): Observable<TokenEvent> {
  return merge(...calls.map((call) => runCall(call, options)));
}

function runCall(call: ToolCallEvent, options: RunToolsOptions): Observable<TokenEvent> {
  const result = (output: unknown, isError: boolean): ToolResultEvent => ({
    type: 'tool-result',
    id: call.id,
    name: call.name,
    output,
    isError,
  });
  const failed = (error: unknown): Observable<ToolResultEvent> => {
    if (options.onToolError === 'fail') throw new ToolExecutionError(call.name, call.id, error);
    return of(result(`Error: ${toLLMError(error).message}`, true));
  };
  const t = Object.hasOwn(options.tools, call.name) ? options.tools[call.name] : undefined;
  if (t === undefined) return defer(() => failed(new Error(`no tool named ${call.name}`)));
  return defer(() => from(settled(t.input['~standard'].validate(call.args)))).pipe(
    take(1),
    concatMap((outcome): Observable<TokenEvent> => {
      if (outcome.issues) {
        const why = outcome.issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; ');
        return failed(new Error(`invalid arguments: ${why}`));
      }
      const input = outcome.value;
      const execute = executeOf(t, input, call, failed, result);
      const gated =
        t.needsApproval === true || (typeof t.needsApproval === 'function' && t.needsApproval(input));
      if (!gated) return execute;
      const ask: ToolApprovalEvent = { type: 'tool-approval', id: call.id, name: call.name, args: input };
      const answer = options.approve
        ? from(options.approve(ask)).pipe(take(1), defaultIfEmpty(false))
        : of(false);
      const declined = of(result('The user declined this tool call.', true));
      return concat(of(ask), answer.pipe(concatMap((ok) => (ok ? execute : declined))));
    }),
  );
}

function executeOf(
  t: Tool,
  input: unknown,
  call: ToolCallEvent,
  failed: (error: unknown) => Observable<ToolResultEvent>,
  result: (output: unknown, isError: boolean) => ToolResultEvent,
): Observable<ToolResultEvent> {
  return new Observable<ToolResultEvent>((subscriber) => {
    const controller = new AbortController();
    let settledOutput = false;
    const done = (events: Observable<ToolResultEvent>): void => {
      settledOutput = true;
      try {
        events.subscribe(subscriber);
      } catch (error) {
        subscriber.error(error);
      }
    };
    let output: unknown;
    try {
      output = t.execute(input, { signal: controller.signal, toolCallId: call.id });
    } catch (error) {
      done(defer(() => failed(error)));
      return;
    }
    const source: Observable<unknown> = isObservable(output)
      ? output.pipe(take(1))
      : isThenable(output)
        ? from(output)
        : of(output);
    const inner = source.subscribe({
      next: (value) => done(of(result(value === undefined ? null : value, false))),
      error: (error: unknown) => done(defer(() => failed(error))),
      complete: () => {
        if (!settledOutput) done(of(result(null, false)));
      },
    });
    return () => {
      inner.unsubscribe();
      if (!settledOutput) controller.abort(new LLMError('aborted', 'The tool loop was unsubscribed'));
    };
  });
}

function settled<T>(
  value: StandardResult<T> | Promise<StandardResult<T>>,
): ObservableInput<StandardResult<T>> {
  return value instanceof Promise ? value : [value];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
