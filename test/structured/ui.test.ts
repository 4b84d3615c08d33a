import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenEvent } from '../../src/core/events.js';
import { createStreamStore } from '../../src/react/streamStore.js';
import { initialProgress, reduceTokenStream } from '../../src/react/tokenStreamState.js';
import { fromSSE } from '../../src/streaming/fromSSE.js';
import { toSSEResponse } from '../../src/streaming/toSSE.js';
import { runTools } from '../../src/structured/runTools.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { tool } from '../../src/structured/tool.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';
import { finish, start, text } from '../operators/support.js';

const City = z.object({ city: z.string() });

/** A two-step loop's events (scripted, synchronous). */
async function loopEvents(): Promise<TokenEvent[]> {
  const model = scriptedModel({
    scripts: (req) =>
      req.messages.some((m) => m.role === 'tool')
        ? { text: 'Sunny.' }
        : { toolCalls: [{ id: 'w', name: 'weather', args: { city: 'Lyon' } }] },
  });
  const tools = { weather: tool({ input: City, needsApproval: true, execute: () => ({ celsius: 21 }) }) };
  return lastValueFrom(
    runTools(
      model,
      { messages: [{ role: 'user', content: 'Weather?' }] },
      { tools, approve: () => of(true) },
    ).pipe(toArray()),
  );
}

describe('structured events in UIs', () => {
  it('the React state carries the growing object, then the complete one', async () => {
    const events = of(start(), text('{"city": "Ly'), text('on"}'), finish(2)).pipe(streamObject(City));
    const views = (await lastValueFrom(events.pipe(toArray()))).reduce(
      (acc, e) => [...acc, reduceTokenStream(acc.at(-1) ?? initialProgress(), e)],
      [] as ReturnType<typeof initialProgress>[],
    );
    const objects = views.map((p) => [p.view.object, p.view.objectDone]);
    expect(objects).toContainEqual([{ city: 'Ly' }, false]);
    expect(objects.at(-1)).toEqual([{ city: 'Lyon' }, true]);
    expect(views.at(-1)?.view.text).toBe('{"city": "Lyon"}');
  });

  it('the React store carries tool steps, approvals and results, and the loop’s cost once', async () => {
    const events = await loopEvents();
    const store = createStreamStore(of(...events));
    const unsubscribe = store.subscribe(() => undefined);
    const view = store.getSnapshot();
    unsubscribe();
    expect(view.status).toBe('done');
    expect(view.steps.map((s) => s.reason)).toEqual(['tool-calls', 'stop']);
    expect(view.toolResults).toEqual([
      { type: 'tool-result', id: 'w', name: 'weather', output: { celsius: 21 }, isError: false },
    ]);
    expect(view.approvals).toEqual([]);
    expect(view.text).toBe('Sunny.');
    const last = events.at(-1);
    expect(last?.type === 'finish' && view.cost).toBe(last?.type === 'finish' && last.cost.total);
    const pending = events.slice(0, events.findIndex((e) => e.type === 'tool-approval') + 1);
    const waiting = pending.reduce((p, e) => reduceTokenStream(p, e), initialProgress());
    expect(waiting.view.approvals.map((a) => a.id)).toEqual(['w']);
  });

  it('object, element and tool events round-trip through SSE', async () => {
    const loop = await loopEvents();
    const object = await lastValueFrom(
      of(start(), text('[{"city": "Lyon"}]'), finish(1)).pipe(
        streamObject(City, { mode: 'elements' }),
        toArray(),
      ),
    );
    for (const events of [loop, object]) {
      const back = await lastValueFrom(
        fromSSE(toSSEResponse(of(...events), { heartbeatMs: 0 })).pipe(toArray()),
      );
      expect(back).toEqual(events);
    }
  });
});
