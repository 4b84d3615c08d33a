import { assertNever } from '../core/events.js';

/** The calendar periods budgets are kept over. */
export type Period = 'day' | 'week' | 'month';

/** One calendar window in a time zone: its key and its bounds in epoch milliseconds. */
export interface CalendarWindow {
  /** The window's period. */
  readonly period: Period;
  /** `2025-11-03` (day), `2025-11-03` (week, keyed by its first day), `2025-11` (month). */
  readonly key: string;
  /** First instant of the window (inclusive). */
  readonly start: number;
  /** First instant of the next window (exclusive). */
  readonly end: number;
}

/** First day of the week: 0 Sunday … 6 Saturday. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: { readonly [name: string]: number } = {
  Sun: 0,
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
};

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function local(at: number, timeZone: string): LocalTime {
  const parts: { [type: string]: string } = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS[parts.weekday ?? 'Sun'] ?? 0,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** Local wall-clock time minus UTC at instant `at`, in ms. */
function offsetAt(at: number, timeZone: string): number {
  const t = local(at, timeZone);
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return wall - (at - (((at % 1000) + 1000) % 1000));
}

/** The first instant of local date `year-month-day` in `timeZone` (month and day may overflow). */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let at = wall - offsetAt(wall, timeZone);
  const corrected = wall - offsetAt(at, timeZone);
  if (corrected !== at) at = corrected;
  // Where midnight does not exist (a DST jump at 00:00), the day starts at the first instant after it.
  return at;
}

function ymd(utcMidnight: number): [number, number, number] {
  const d = new Date(utcMidnight);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * The calendar window of `period` that contains instant `at`, in IANA time zone `timeZone`.
 * Days start at local midnight (DST days are 23 or 25 hours long), weeks on `weekStartsOn`, months on the 1st.
 *
 * ## Example
 * ```ts
 * calendarWindow('month', Date.UTC(2025, 10, 30, 23, 30), 'Europe/Berlin').key; // '2025-12'
 * ```
 *
 * @param period - `day`, `week` or `month`.
 * @param at - An instant, in epoch ms (a scheduler's `now()`).
 * @param timeZone - IANA zone name. Default `UTC`.
 * @param weekStartsOn - First day of the week, 0 Sunday … 6 Saturday. Default 1 (Monday, ISO).
 * @returns The window's key and bounds.
 */
export function calendarWindow(
  period: Period,
  at: number,
  timeZone = 'UTC',
  weekStartsOn: Weekday = 1,
): CalendarWindow {
  // Budgets ask for the same few windows on every call: answer from the last one while it still holds.
  const key = `${period}|${timeZone}|${weekStartsOn}`;
  const last = recent.get(key);
  if (last && at >= last.start && at < last.end) return last;
  const window = compute(period, at, timeZone, weekStartsOn);
  recent.set(key, window);
  return window;
}

const recent = new Map<string, CalendarWindow>();

function compute(period: Period, at: number, timeZone: string, weekStartsOn: Weekday): CalendarWindow {
  const t = local(at, timeZone);
  switch (period) {
    case 'day':
      return {
        period,
        key: `${t.year}-${pad(t.month)}-${pad(t.day)}`,
        start: startOfLocalDay(t.year, t.month, t.day, timeZone),
        end: startOfLocalDay(t.year, t.month, t.day + 1, timeZone),
      };
    case 'week': {
      const back = (t.weekday - weekStartsOn + 7) % 7;
      const [y, m, d] = ymd(Date.UTC(t.year, t.month - 1, t.day - back));
      return {
        period,
        key: `${y}-${pad(m)}-${pad(d)}`,
        start: startOfLocalDay(y, m, d, timeZone),
        end: startOfLocalDay(y, m, d + 7, timeZone),
      };
    }
    case 'month':
      return {
        period,
        key: `${t.year}-${pad(t.month)}`,
        start: startOfLocalDay(t.year, t.month, 1, timeZone),
        end: startOfLocalDay(t.year, t.month + 1, 1, timeZone),
      };
    default:
      return assertNever(period);
  }
}
