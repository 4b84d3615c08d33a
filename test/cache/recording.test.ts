import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventRecording, storedPieces } from '../../src/cache/recording.js';
import type { TokenEvent } from '../../src/core/events.js';
import { finish as finishOf } from '../operators/support.js';

const finish = finishOf(2, 1);

const event: fc.Arbitrary<TokenEvent> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map((text) => ({ type: 'text', text }) as const),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }).map((text) => ({ type: 'reasoning', text }) as const) },
  { weight: 1, arbitrary: fc.constant(finish) },
);

describe('eventRecording', () => {
  it('gives back the events pushed, and a stored form whose pieces are them (property)', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), fc.nat(300), (events, readAt) => {
        const recording = eventRecording();
        events.forEach((e, i) => {
          recording.push(e);
          // Reading midway (a late joiner) changes nothing that follows.
          if (i === readAt) expect(recording.values()).toEqual(events.slice(0, i + 1));
        });
        expect(recording.values()).toEqual(events);
        expect(recording.last()).toEqual(events[events.length - 1]);
        const stored = JSON.parse(JSON.stringify(recording.stored())) as unknown[];
        expect(storedPieces(stored)).toEqual(events.map((e) => (e.type === 'text' ? e.text : e)));
      }),
      { numRuns: 200 },
    );
  });

  it('stores a run of text as its joined text and the lengths of its pieces', () => {
    const recording = eventRecording();
    for (const text of ['Hel', 'lo', '', ' wörld']) recording.push({ type: 'text', text });
    recording.push(finish);
    recording.push({ type: 'text', text: '!' });
    expect(recording.stored()).toEqual([['Hello wörld', [3, 2, 0, 6]], finish, ['!', [1]]]);
  });
});

describe('storedPieces', () => {
  it('refuses a run whose lengths do not add up to its text (a corrupt entry)', () => {
    expect(storedPieces([['Hello', [3, 1]]])).toBeUndefined();
    expect(storedPieces([['Hello', [3, 3]]])).toBeUndefined();
    expect(storedPieces([['Hello', [-1, 6]]])).toBeUndefined();
    expect(storedPieces([[5, [1]]])).toBeUndefined();
    expect(storedPieces([['Hi', ['2']]])).toBeUndefined();
    expect(storedPieces([['Hi', [2]], finish])).toEqual(['Hi', finish]);
  });
});
