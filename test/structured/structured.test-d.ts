import { type Observable, of } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { DeepPartial, TokenEvent } from '../../src/core/events.js';
import { runTools } from '../../src/structured/runTools.js';
import { streamObject } from '../../src/structured/streamObject.js';
import { tool } from '../../src/structured/tool.js';
import { scriptedModel } from '../../src/testing/scriptedModel.js';

const City = z.object({ name: z.string(), tags: z.array(z.string()) });
type City = z.infer<typeof City>;

describe('structured types', () => {
  it('streamObject types the object events from the schema, and stays a TokenEvent stream', () => {
    const events = of<TokenEvent>().pipe(streamObject(City));
    events.subscribe((e) => {
      if (e.type === 'object' && e.partial) expectTypeOf(e.value).toEqualTypeOf<DeepPartial<City>>();
      if (e.type === 'object' && !e.partial) expectTypeOf(e.value).toEqualTypeOf<City>();
    });
    expectTypeOf(events).toMatchTypeOf<Observable<TokenEvent>>();
    of<TokenEvent>()
      .pipe(streamObject(City, { mode: 'elements' }))
      .subscribe((e) => {
        if (e.type === 'element') expectTypeOf(e.value).toEqualTypeOf<City>();
        if (e.type === 'object' && !e.partial) expectTypeOf(e.value).toEqualTypeOf<City[]>();
      });
  });

  it('tool infers its input from the schema; typed tools fit runTools', () => {
    const t = tool({
      input: City,
      execute: (input, { signal }) => {
        expectTypeOf(input).toEqualTypeOf<City>();
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
        return input.tags.length;
      },
    });
    runTools(
      scriptedModel(),
      { messages: [] },
      { tools: { t, other: tool({ input: z.number(), execute: (n) => n * 2 }) } },
    );
  });
});
