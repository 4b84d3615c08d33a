import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { costOf, type Pricing } from '../core/catalog.js';
import { LLMError, type LLMErrorKind } from '../core/errors.js';
import type { FinishReason, StartEvent, TokenEvent, Usage } from '../core/events.js';
import { defineModel, type LanguageModel } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { splitTokens } from './simulator/scenario.js';

/** One scripted answer of a {@link scriptedModel}. */
export interface Script {
  /** The answer: a string (split into word tokens) or the exact chunks. Default `"ok"`. */
  readonly text?: string | readonly string[];
  /** Tool calls to emit after the text. */
  readonly toolCalls?: readonly {
    /** The call id. Default: generated. */
    readonly id?: string;
    /** The tool's name. */
    readonly name: string;
    /** The arguments. */
    readonly args: unknown;
  }[];
  /** The finish reason. Default `stop` (`tool-calls` with tool calls). */
  readonly finish?: FinishReason;
  /** Default: input 10, output = number of chunks. */
  readonly usage?: Usage;
  /** Fail with this error kind (or error) after `failAfter` content chunks (default 0: before any). */
  readonly fail?: LLMErrorKind | LLMError;
  /** Content chunks emitted before `fail`. Default 0. */
  readonly failAfter?: number;
  /** Complete without a finish after `truncateAfter` chunks (a stream cut short). */
  readonly truncateAfter?: number;
  /** Never emit anything after `stallAfter` chunks (and never complete). */
  readonly stallAfter?: number;
  /** Delay before the first chunk, on the model's scheduler. Default 0 (synchronous). */
  readonly firstTokenDelayMs?: number;
  /** Delay between chunks. Default 0. */
  readonly tokenDelayMs?: number;
}

/** Options of {@link scriptedModel}. */
export interface ScriptedModelOptions {
  /** The provider name in events. Default `scripted`. */
  readonly provider?: string;
  /** The model name in events. Default `scripted-1`. */
  readonly model?: string;
  /**
   * Answers in order, one per subscription; the last one repeats. A function is called with the request
   * and the zero-based call number.
   */
  readonly scripts?: readonly Script[] | ((request: ChatRequest, call: number) => Script);
  /** Prices for the `finish` cost. Default: free. */
  readonly pricing?: Pricing;
  /** Scheduler for delays; pass a `TestScheduler` for marble tests. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** A {@link LanguageModel} that follows a script, with counters for tests. */
export interface ScriptedModel extends LanguageModel {
  /** How many times `stream()` was subscribed. */
  readonly calls: () => number;
  /** Subscriptions currently open (not completed, failed or unsubscribed). */
  readonly active: () => number;
  /** The requests each call received. */
  readonly requests: readonly ChatRequest[];
}

/**
 * An in-memory model that answers from a script, on any scheduler: the unit-test double for policies.
 * It emits exactly what a provider would (`start`, content, `usage`, `finish` with cost) and fails with
 * real `LLMError`s, so operators are tested against the event model, not against a mock's quirks.
 *
 * @example
 * const flaky = scriptedModel({ scripts: [{ fail: 'overloaded' }, { text: 'Hello there' }] });
 * await collect(flaky.pipe(withRetry()).stream(request)); // text: 'Hello there', flaky.calls() === 2
 *
 * @param options The scripts, names, pricing and scheduler.
 * @returns The model, with `calls()`, `active()` and `requests` to inspect.
 */
export function scriptedModel(options: ScriptedModelOptions = {}): ScriptedModel {
  const provider = options.provider ?? 'scripted';
  const modelName = options.model ?? 'scripted-1';
  const scheduler = options.scheduler ?? asyncScheduler;
  const requests: ChatRequest[] = [];
  let calls = 0;
  let active = 0;

  const pick = (request: ChatRequest, call: number): Script => {
    const scripts = options.scripts;
    if (typeof scripts === 'function') return scripts(request, call);
    if (!scripts || scripts.length === 0) return {};
    return scripts[Math.min(call, scripts.length - 1)] as Script;
  };

  const base = defineModel({
    provider,
    model: modelName,
    stream: (request) =>
      new Observable<TokenEvent>((subscriber) => {
        const call = calls++;
        requests.push(request);
        active++;
        const script = pick(request, call);
        const { head, content, tail } = render(script, provider, modelName, options.pricing);
        const cut = cutPoint(script, head[0] as StartEvent);
        let pending: Subscription | undefined;
        for (const event of head) subscriber.next(event);
        const emitFrom = (i: number): void => {
          for (; i < content.length; i++) {
            if (subscriber.closed) return;
            if (i === cut.at) return cut.act(subscriber);
            const delay = i === 0 ? (script.firstTokenDelayMs ?? 0) : (script.tokenDelayMs ?? 0);
            if (delay > 0 && !waited.has(i)) {
              waited.add(i);
              const next = i;
              pending = scheduler.schedule(() => emitFrom(next), delay);
              return;
            }
            subscriber.next(content[i] as TokenEvent);
          }
          if (cut.at !== Infinity) return cut.act(subscriber);
          for (const event of tail) subscriber.next(event);
          subscriber.complete();
        };
        const waited = new Set<number>();
        emitFrom(0);
        return () => {
          active--;
          pending?.unsubscribe();
        };
      }),
  });
  return Object.assign(base, { calls: () => calls, active: () => active, requests });
}

function render(
  script: Script,
  provider: string,
  model: string,
  pricing: Pricing | undefined,
): { head: TokenEvent[]; content: TokenEvent[]; tail: TokenEvent[] } {
  const chunks =
    script.text === undefined
      ? script.toolCalls
        ? []
        : ['ok']
      : typeof script.text === 'string'
        ? splitTokens(script.text)
        : [...script.text];
  const content: TokenEvent[] = chunks.map((text) => ({ type: 'text', text }));
  const tail: TokenEvent[] = [];
  (script.toolCalls ?? []).forEach((call, index) => {
    const rawArgs = JSON.stringify(call.args);
    const id = call.id ?? `call_${index}`;
    content.push({ type: 'tool-call-delta', index, id, name: call.name, argsDelta: rawArgs });
    tail.push({ type: 'tool-call', index, id, name: call.name, args: call.args, rawArgs });
  });
  const usage = script.usage ?? { inputTokens: 10, outputTokens: content.length };
  tail.push({ type: 'usage', usage });
  tail.push({
    type: 'finish',
    reason: script.finish ?? (script.toolCalls?.length ? 'tool-calls' : 'stop'),
    usage,
    cost: costOf(usage, pricing),
  });
  return { head: [{ type: 'start', provider, model }], content, tail };
}

interface CutPoint {
  /** The content index at which the script stops (Infinity: it runs to its finish). */
  readonly at: number;
  act(subscriber: { error(e: unknown): void }): void;
}

function cutPoint(script: Script, start: StartEvent): CutPoint {
  const source = { provider: start.provider, model: start.model };
  if (script.fail !== undefined) {
    const error = LLMError.isInstance(script.fail)
      ? script.fail
      : new LLMError(script.fail, `${start.provider}: scripted ${script.fail}`, source);
    return { at: script.failAfter ?? 0, act: (s) => s.error(error) };
  }
  if (script.truncateAfter !== undefined) {
    const error = new LLMError('incomplete', `${start.provider}: the stream ended before its finish`, source);
    return { at: script.truncateAfter, act: (s) => s.error(error) };
  }
  if (script.stallAfter !== undefined) return { at: script.stallAfter, act: () => undefined };
  return { at: Infinity, act: () => undefined };
}
