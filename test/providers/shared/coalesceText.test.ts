import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../../src/core/events.js';
import { coalesceText } from '../../../src/providers/shared/coalesceText.js';

type Step = { readonly kind: 'event'; readonly event: TokenEvent } | { readonly kind: 'flush' };

const piece = fc.oneof(
  fc.record({ type: fc.constant('text' as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ type: fc.constant('reasoning' as const), text: fc.string({ maxLength: 12 }) }),
);
const other = fc.oneof(
  fc.constant<TokenEvent>({ type: 'start', provider: 'p', model: 'm' }),
  fc.record({
    type: fc.constant('tool-call-delta' as const),
    index: fc.nat(3),
    argsDelta: fc.string({ maxLength: 6 }),
  }),
);
const steps = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: piece.map((event): Step => ({ kind: 'event', event })) },
    { weight: 1, arbitrary: other.map((event): Step => ({ kind: 'event', event })) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'flush' }) },
  ),
  { maxLength: 60 },
);

/** Adjacent pieces of the same kind joined: what must survive any merging. */
function joined(events: readonly TokenEvent[]): TokenEvent[] {
  const out: TokenEvent[] = [];
  for (const event of events) {
    const last = out.at(-1);
    if ((event.type === 'text' || event.type === 'reasoning') && last?.type === event.type)
      out[out.length - 1] = { type: event.type, text: last.text + event.text };
    else out.push(event);
  }
  return out;
}

describe('coalesceText', () => {
  it('the documented example', () => {
    const out: TokenEvent[] = [];
    const { emit, flush } = coalesceText((event) => out.push(event));
    emit({ type: 'text', text: 'Hel' });
    expect(out).toEqual([{ type: 'text', text: 'Hel' }]);
    emit({ type: 'text', text: 'lo' });
    emit({ type: 'text', text: ', world' });
    expect(out).toHaveLength(1);
    flush();
    expect(out).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo, world' },
    ]);
  });

  it('a piece held alone passes as the same object; a merge is a new one', () => {
    const out: TokenEvent[] = [];
    const { emit, flush } = coalesceText((event) => out.push(event));
    emit({ type: 'text', text: 'a' });
    const alone: TokenEvent = { type: 'text', text: 'b' };
    emit(alone);
    flush();
    expect(out[1]).toBe(alone);
  });

  it('keeps every event, in order, and all text; holds nothing after a flush (property)', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 1, max: 40 }), (script, maxChars) => {
        const out: TokenEvent[] = [];
        const { emit, flush } = coalesceText((event) => out.push(event), maxChars);
        const input: TokenEvent[] = [];
        let sawText = false;
        let sawReasoning = false;
        for (const step of script) {
          if (step.kind === 'flush') {
            flush();
            // Everything given so far has been delivered.
            expect(joined(out)).toEqual(joined(input));
            continue;
          }
          const { event } = step;
          input.push(event);
          const before = out.length;
          emit(event);
          // The first piece of each kind passes at once, as the same object.
          if (event.type === 'text' && !sawText) {
            sawText = true;
            expect(out.at(-1)).toBe(event);
          } else if (event.type === 'reasoning' && !sawReasoning) {
            sawReasoning = true;
            expect(out.at(-1)).toBe(event);
          } else if (event.type !== 'text' && event.type !== 'reasoning') {
            expect(out.at(-1)).toBe(event);
          }
          expect(out.length).toBeGreaterThanOrEqual(before);
        }
        flush();
        expect(joined(out)).toEqual(joined(input));
        // A merged event stops growing once it reaches the bound: it is shorter than bound + one piece.
        for (const event of out)
          if (event.type === 'text' || event.type === 'reasoning')
            expect(event.text.length).toBeLessThan(maxChars + 12);
      }),
      { numRuns: 500 },
    );
  });
});
