import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ChatRequest } from '../../src/core/request.js';
import { type BudgetLineStatus, createBudget } from '../../src/operators/budget.js';
import { withFallback } from '../../src/operators/withFallback.js';
import { runTools } from '../../src/structured/runTools.js';
import { tool } from '../../src/structured/tool.js';
import { scriptedModel, type Script } from '../../src/testing/scriptedModel.js';
import { A, B, wordEstimator } from '../budget/support.js';

const request: ChatRequest = { messages: [{ role: 'user', content: 'Weather in Lyon?' }], maxTokens: 20 };
const answering = (req: ChatRequest): Script =>
  req.messages.some((m) => m.role === 'tool')
    ? { text: 'Sunny.', usage: { inputTokens: 8, outputTokens: 1 } }
    : {
        toolCalls: [{ id: 'w', name: 'weather', args: { city: 'Lyon' } }],
        usage: { inputTokens: 8, outputTokens: 4 },
      };

describe('runTools with policies', () => {
  it('a fallback repeats the failed step’s model call on the next candidate, never the tool that ran', async () => {
    let runs = 0;
    const tools = { weather: tool({ input: z.object({ city: z.string() }), execute: () => ++runs }) };
    // The primary answers step 0, then fails step 1 before content: the fallback answers step 1.
    const primary = scriptedModel({
      provider: 'p',
      model: 'a',
      scripts: (req) =>
        req.messages.some((m) => m.role === 'tool') ? { fail: 'overloaded' } : answering(req),
    });
    const secondary = scriptedModel({ provider: 's', model: 'b', scripts: answering });
    const events = await lastValueFrom(
      runTools(primary.pipe(withFallback({ candidates: [secondary] })), request, { tools }).pipe(toArray()),
    );
    expect(runs).toBe(1);
    expect(events.filter((e) => e.type === 'fallback')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(secondary.requests[0]?.messages.filter((m) => m.role === 'tool')).toEqual([
      { role: 'tool', toolCallId: 'w', name: 'weather', content: '1' },
    ]);
  });

  it('one budget meters every step of the loop', async () => {
    const spend = createBudget({ specs: [A, B], estimator: wordEstimator(), limits: { day: 1 } });
    const model = scriptedModel({
      provider: A.provider,
      model: A.model,
      pricing: A.pricing,
      scripts: answering,
    });
    const tools = { weather: tool({ input: z.object({ city: z.string() }), execute: () => 21 }) };
    const events = await lastValueFrom(
      runTools(model.pipe(spend.policy()), request, { tools }).pipe(toArray()),
    );
    const finish = events.at(-1);
    expect(finish?.type).toBe('finish');
    const day = (spend.status() as readonly BudgetLineStatus[]).find((l) => l.period === 'day');
    expect(finish?.type === 'finish' && finish.cost.total).toBeGreaterThan(0);
    expect(day?.spent).toBeCloseTo(finish?.type === 'finish' ? finish.cost.total : NaN, 9);
    expect(model.calls()).toBe(2);
  });
});
