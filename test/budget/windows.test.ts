import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calendarWindow, type Period } from '../../src/budget/windows.js';

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

describe('calendarWindow', () => {
  it('days start at local midnight, and DST days are 23 or 25 hours long', () => {
    const spring = calendarWindow('day', Date.UTC(2025, 2, 30, 12), 'Europe/Berlin');
    expect([spring.key, iso(spring.start), iso(spring.end)]).toEqual([
      '2025-03-30',
      '2025-03-29T23:00:00.000Z',
      '2025-03-30T22:00:00.000Z',
    ]);
    const autumn = calendarWindow('day', Date.UTC(2025, 10, 2, 12), 'America/New_York');
    expect((autumn.end - autumn.start) / HOUR).toBe(25);
    const kolkata = calendarWindow('day', Date.UTC(2025, 9, 25, 18, 29), 'Asia/Kolkata');
    expect(kolkata.key).toBe('2025-10-25');
    expect(calendarWindow('day', Date.UTC(2025, 9, 25, 18, 30), 'Asia/Kolkata').key).toBe('2025-10-26');
  });

  it('weeks start on the configured weekday; months on the 1st in the zone', () => {
    const wednesday = Date.UTC(2025, 10, 5, 12);
    expect(calendarWindow('week', wednesday, 'UTC').key).toBe('2025-11-03');
    expect(calendarWindow('week', wednesday, 'UTC', 0).key).toBe('2025-11-02');
    expect(calendarWindow('week', wednesday, 'UTC', 3).key).toBe('2025-11-05');
    const lateNovemberUtc = Date.UTC(2025, 10, 30, 23, 30);
    expect(calendarWindow('month', lateNovemberUtc, 'UTC').key).toBe('2025-11');
    expect(calendarWindow('month', lateNovemberUtc, 'Europe/Berlin').key).toBe('2025-12');
    const newYear = calendarWindow('month', Date.UTC(2025, 11, 31, 12), 'Pacific/Auckland');
    expect([newYear.key, iso(newYear.start)]).toEqual(['2026-01', '2025-12-31T11:00:00.000Z']);
  });

  it('property: every instant lies in its window, windows tile time, and lengths are calendar lengths', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'America/Sao_Paulo',
    ];
    const bounds: Record<Period, [number, number]> = { day: [23, 25], week: [167, 169], month: [671, 745] };
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.constantFrom(...zones),
        fc.constantFrom<Period>('day', 'week', 'month'),
        (at, zone, period) => {
          const w = calendarWindow(period, at, zone);
          expect(w.start).toBeLessThanOrEqual(at);
          expect(w.end).toBeGreaterThan(at);
          expect(calendarWindow(period, w.end, zone).start).toBe(w.end);
          expect(calendarWindow(period, w.end - 1, zone).key).toBe(w.key);
          const hours = (w.end - w.start) / HOUR;
          expect(hours).toBeGreaterThanOrEqual(bounds[period][0]);
          expect(hours).toBeLessThanOrEqual(bounds[period][1]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
