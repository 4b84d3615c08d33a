import { lastValueFrom, NEVER, Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenEvent } from '../../src/core/events.js';
import type { ChatRequest } from '../../src/core/request.js';
import { runTools } from '../../src/structured/runTools.js';
import { tool } from '../../src/structured/tool.js';
import { ToolExecutionError } from '../../src/structured/ToolExecutionError.js';
import { scriptedModel, type Script } from '../../src/testing/scriptedModel.js';
import type { TestScheduler } from 'rxjs/testing';
import { testScheduler } from '../operators/support.js';

const request: ChatRequest = { messages: [{ role: 'user', content: 'Weather and time in Lyon?' }] };
const City = z.object({ city: z.string() });

/** Step 0 asks for both tools; step 1 (which sees the results) answers. */
function twoStep(extra: Script = {}): ReturnType<typeof scriptedModel> {
  return scriptedModel({
    scripts: (req) =>
      req.messages.some((m) => m.role === 'tool')
        ? { text: 'Sunny, 21 °C, at noon.', ...extra }
        : {
            toolCalls: [
              { id: 'w', name: 'weather', args: { city: 'Lyon' } },
              { id: 't', name: 'time', args: { city: 'Lyon' } },
            ],
          },
  });
}

const types = (events: readonly TokenEvent[]): string[] =>
  events.filter((e) => e.type !== 'tool-call-delta' && e.type !== 'usage').map((e) => e.type);

const LETTER: Partial<Record<TokenEvent['type'], string>> = {
  start: 's',
  text: 't',
  'tool-call': 'c',
  step: 'p',
  'tool-result': 'r',
  'tool-approval': 'a',
  finish: 'f',
};

/**
 * Runs `events` on a TestScheduler and returns `frame:letters` per frame (deltas and usage left out),
 * `|` for completion; unsubscribes at `leaveAt` when given.
 */
function timeline(ts: TestScheduler, events: Observable<TokenEvent>, leaveAt?: number): string[] {
  const frames = new Map<number, string>();
  const mark = (letter: string): void => {
    frames.set(ts.now(), (frames.get(ts.now()) ?? '') + letter);
  };
  const subscription = events.subscribe({
    next: (e) => mark(LETTER[e.type] ?? ''),
    error: () => mark('#'),
    complete: () => mark('|'),
  });
  if (leaveAt !== undefined) ts.schedule(() => subscription.unsubscribe(), leaveAt);
  ts.flush();
  return [...frames].map(([frame, letters]) => `${frame}:${letters}`);
}

describe('runTools (virtual time)', () => {
  it('runs parallel calls at once, results as they complete, then the answering step', () => {
    const ts = testScheduler();
    ts.run(({ cold }) => {
      const tools = {
        weather: tool({ input: City, execute: () => cold('----a|', { a: { celsius: 21 } }) }),
        time: tool({ input: City, execute: () => cold('--b|', { b: '12:00' }) }),
      };
      expect(timeline(ts, runTools(twoStep(), request, { tools }))).toEqual([
        '0:sccp',
        '2:r',
        '4:rstttttpf|',
      ]);
    });
  });

  it('aborts every running execute when the subscriber leaves mid-tool', () => {
    const ts = testScheduler();
    ts.run(({ cold }) => {
      const signals: AbortSignal[] = [];
      const slow = tool({
        input: City,
        execute: (_input, { signal }) => {
          signals.push(signal);
          return cold('------a|', { a: 1 });
        },
      });
      const model = twoStep();
      const marks = timeline(ts, runTools(model, request, { tools: { weather: slow, time: slow } }), 3);
      expect(marks).toEqual(['0:sccp']);
      expect(signals).toHaveLength(2);
      expect(signals.every((s) => s.aborted)).toBe(true);
      expect(model.calls()).toBe(1);
    });
  });

  it('pauses for approval and resumes when the caller answers; the other call runs meanwhile', () => {
    const ts = testScheduler();
    ts.run(({ cold }) => {
      const tools = {
        weather: tool({ input: City, needsApproval: true, execute: () => cold('--a|', { a: 21 }) }),
        time: tool({ input: City, execute: () => cold('-b|', { b: '12:00' }) }),
      };
      const approve = (): Observable<boolean> => cold('---y', { y: true });
      expect(timeline(ts, runTools(twoStep(), request, { tools, approve }))).toEqual([
        '0:sccpa',
        '1:r',
        '5:rstttttpf|',
      ]);
    });
  });
});

describe('runTools', () => {
  it('sends the assistant turn and the results back, and sums usage over the steps', async () => {
    const model = twoStep();
    const tools = {
      weather: tool({ input: City, execute: async ({ city }) => ({ city, celsius: 21 }) }),
      time: tool({ input: City, execute: () => '12:00' }),
    };
    const events = await lastValueFrom(runTools(model, request, { tools }).pipe(toArray()));
    expect(types(events).join(' ')).toMatch(
      /^start tool-call tool-call step tool-result tool-result start (text )+step finish$/,
    );
    const second = model.requests[1]!;
    expect(second.tools?.map((t) => t.name)).toEqual(['weather', 'time']);
    expect(second.tools?.[0]?.parameters).toMatchObject({ type: 'object', required: ['city'] });
    expect(second.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'w', name: 'weather', args: { city: 'Lyon' } },
          { id: 't', name: 'time', args: { city: 'Lyon' } },
        ],
      },
      { role: 'tool', toolCallId: 'w', name: 'weather', content: '{"city":"Lyon","celsius":21}' },
      { role: 'tool', toolCallId: 't', name: 'time', content: '12:00' },
    ]);
    const steps = events.filter((e) => e.type === 'step');
    const finish = events.at(-1);
    expect(finish?.type).toBe('finish');
    if (finish?.type !== 'finish') return;
    expect(finish.reason).toBe('stop');
    expect(finish.usage.outputTokens).toBe(
      steps.reduce((n, s) => n + (s.type === 'step' ? s.usage.outputTokens : 0), 0),
    );
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1);
  });

  it('aborts a promise-returning execute (its signal) on unsubscribe, and the model is closed', async () => {
    const model = twoStep();
    const aborted: string[] = [];
    const started: string[] = [];
    const hang = (name: string) =>
      tool({
        input: City,
        execute: (_input, { signal }) =>
          new Promise<never>(() => {
            started.push(name);
            signal.addEventListener('abort', () => aborted.push(name));
          }),
      });
    const subscription = runTools(model, request, {
      tools: { weather: hang('weather'), time: hang('time') },
    }).subscribe();
    await new Promise((r) => setTimeout(r, 5));
    expect(started.sort()).toEqual(['time', 'weather']);
    subscription.unsubscribe();
    expect(aborted.sort()).toEqual(['time', 'weather']);
    expect(model.active()).toBe(0);
  });

  it('a throwing tool becomes an error result the model sees, or ends the loop with onToolError fail', async () => {
    const broken = {
      weather: tool({
        input: City,
        execute: (): never => {
          throw new Error('station offline');
        },
      }),
      time: tool({ input: City, execute: () => '12:00' }),
    };
    const model = twoStep();
    const events = await lastValueFrom(runTools(model, request, { tools: broken }).pipe(toArray()));
    expect(events).toContainEqual({
      type: 'tool-result',
      id: 'w',
      name: 'weather',
      output: 'Error: station offline',
      isError: true,
    });
    expect(model.requests[1]?.messages).toContainEqual(
      expect.objectContaining({ role: 'tool', content: 'Error: station offline' }),
    );

    const failing = runTools(twoStep(), request, { tools: broken, onToolError: 'fail' });
    const error = await lastValueFrom(failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolExecutionError);
    expect(error).toMatchObject({ kind: 'unknown', toolName: 'weather', toolCallId: 'w' });
  });

  it('answers invalid arguments, unknown tools and declined approvals with error results', async () => {
    const model = scriptedModel({
      scripts: (req) =>
        req.messages.some((m) => m.role === 'tool')
          ? { text: 'ok' }
          : {
              toolCalls: [
                { id: 'a', name: 'weather', args: { town: 'Lyon' } },
                { id: 'b', name: 'nope', args: {} },
                { id: 'c', name: 'secret', args: { city: 'x' } },
              ],
            },
    });
    const tools = {
      weather: tool({ input: City, execute: () => 1 }),
      secret: tool({ input: City, needsApproval: () => true, execute: () => 2 }),
    };
    const events = await lastValueFrom(runTools(model, request, { tools }).pipe(toArray()));
    const results = events.filter((e) => e.type === 'tool-result');
    expect(results.map((r) => [r.id, r.isError])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
    ]);
    expect(JSON.stringify(results)).toMatch(/invalid arguments: city/);
    expect(JSON.stringify(results)).toMatch(/no tool named nope/);
    expect(JSON.stringify(results)).toMatch(/declined/);
    expect(events.filter((e) => e.type === 'tool-approval')).toEqual([
      { type: 'tool-approval', id: 'c', name: 'secret', args: { city: 'x' } },
    ]);
  });

  it('stops at maxSteps and at a stop condition', async () => {
    const loops = scriptedModel({ scripts: [{ toolCalls: [{ name: 'weather', args: { city: 'x' } }] }] });
    const tools = { weather: tool({ input: City, execute: () => 1 }) };
    const capped = await lastValueFrom(runTools(loops, request, { tools, maxSteps: 3 }).pipe(toArray()));
    expect(capped.filter((e) => e.type === 'step')).toHaveLength(3);
    expect(capped.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' });
    expect(loops.calls()).toBe(3);

    const stopped = await lastValueFrom(
      runTools(loops, request, { tools, stopWhen: (steps) => steps.length === 2 }).pipe(toArray()),
    );
    expect(stopped.filter((e) => e.type === 'step')).toHaveLength(2);
  });

  it('a model failure ends the loop with its LLMError; a tool that already ran is not repeated', async () => {
    let runs = 0;
    const tools = {
      weather: tool({ input: City, execute: () => ++runs }),
      time: tool({ input: City, execute: () => ++runs }),
    };
    const model = twoStep({ fail: 'overloaded' });
    const error = await lastValueFrom(runTools(model, request, { tools })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'LLMError', kind: 'overloaded' });
    expect(runs).toBe(2);
    // A stream that completes without a finish is a failure, not an answer.
    const silent = runTools(
      { ...model, stream: () => NEVER.pipe(() => new Observable<TokenEvent>((o) => o.complete())) },
      request,
      { tools },
    );
    await expect(lastValueFrom(silent)).rejects.toMatchObject({ kind: 'incomplete' });
  });
});
