import type { MaybePromise, StateStore } from '../state/store.js';
import { isPromiseLike, thenMaybe } from '../state/maybePromise.js';
import { fromNanos } from './money.js';
import { calendarWindow, type CalendarWindow, type Period, type Weekday } from './windows.js';

/** Spending limits in dollars per calendar window; a period left out has no limit. */
export interface BudgetLimits {
  /** Dollars per calendar day. */
  readonly day?: number;
  /** Dollars per calendar week. */
  readonly week?: number;
  /** Dollars per calendar month. */
  readonly month?: number;
}

/** A threshold of a limit crossed by actual spend, emitted once per threshold per window. */
export interface BudgetAlert {
  /** `global`, or the provider whose limit it is. */
  readonly scope: string;
  /** The limit's period. */
  readonly period: Period;
  /** The calendar window the spend is in. */
  readonly window: CalendarWindow;
  /** The fraction crossed (0.5, 0.8, …). */
  readonly threshold: number;
  /** Dollars actually spent in the window so far. */
  readonly spent: number;
  /** The window's limit in dollars. */
  readonly limit: number;
}

/** One limit's state in its current window, in dollars. */
export interface BudgetLineStatus {
  /** `global`, or the provider whose limit it is. */
  readonly scope: string;
  /** The limit's period. */
  readonly period: Period;
  /** The current calendar window. */
  readonly window: CalendarWindow;
  /** The window's limit in dollars. */
  readonly limit: number;
  /** Actually spent (settled calls). */
  readonly spent: number;
  /** Held by calls in flight. */
  readonly reserved: number;
  /** `limit - spent - reserved`. */
  readonly remaining: number;
}

/** One limit in one window, and its store keys. */
export interface Line {
  readonly scope: string;
  readonly period: Period;
  /** Nano-dollars. */
  readonly limit: number;
  readonly window: CalendarWindow;
  /** Key of reservations plus actual spend: what the limit is checked against. */
  readonly used: string;
  /** Key of actual spend only: what alerts and status report. */
  readonly spent: string;
}

/** Money held for one call, against every limit that applies to its provider. */
export interface Reservation {
  readonly id: string;
  provider: string;
  /** Nano-dollars held on each line. */
  nanos: number;
  lines: readonly Line[];
  /**
   * Settlement steps already applied (each one atomic store write), so a settlement the store failed
   * part-way resumes where it stopped instead of applying a step twice.
   */
  settledSteps?: number;
}

/** What {@link createAccounts} needs. */
export interface AccountsOptions {
  readonly store: StateStore;
  readonly prefix: string;
  readonly timeZone: string;
  readonly weekStartsOn: Weekday;
  /** Nano-dollars per period. */
  readonly global: Partial<Record<Period, number>>;
  readonly providers: { readonly [provider: string]: Partial<Record<Period, number>> };
  readonly thresholds: readonly number[];
  readonly now: () => number;
  readonly alert: (alert: BudgetAlert) => void;
}

/** The budget's ledger of limits over a {@link StateStore}: reserve, move, settle, read. */
export interface Accounts {
  lines(provider: string | undefined, at: number): Line[];
  /** Nano-dollars still available to `provider` (the smallest over its lines); `held` counts as available. */
  available(provider: string, held?: Reservation): number;
  /**
   * Reserves what `want(available)` asks (nano-dollars), atomically per line with `increment(limit)`;
   * `want` answers `undefined` when the call cannot be afforded. Resolves `undefined` when it could not.
   */
  reserve(
    provider: string,
    want: (available: number) => number | undefined,
  ): MaybePromise<Reservation | undefined>;
  /**
   * Grows a reservation toward `target` nano-dollars, by as much as every line has left (all of it with
   * `whole`). False (and nothing added) when it cannot reach at least `least`.
   */
  extend(reservation: Reservation, target: number, least: number, whole: boolean): MaybePromise<boolean>;
  /** Moves a reservation's provider lines to `provider`. False (and nothing moved) when its limits cannot hold it. */
  transfer(reservation: Reservation, provider: string): MaybePromise<boolean>;
  /**
   * Replaces the reservation by the actual charge (nano-dollars) and checks alert thresholds. After a
   * store failure, settling the same reservation with the same charge again resumes where it stopped.
   */
  settle(reservation: Reservation, actual: number): MaybePromise<void>;
  outstanding(): MaybePromise<number>;
  status(): MaybePromise<BudgetLineStatus[]>;
}

const PERIODS: readonly Period[] = ['day', 'week', 'month'];
const GRACE_MS = 86_400_000;
const RECORD_TTL_MS = 86_400_000;
const MAX_TRIES = 3;

/** Runs `steps` one after another, staying synchronous while every answer is. */
function series<T>(steps: readonly (() => MaybePromise<T>)[]): MaybePromise<T[]> {
  const out: T[] = [];
  const run = (i: number): MaybePromise<T[]> => {
    if (i === steps.length) return out;
    return thenMaybe((steps[i] as () => MaybePromise<T>)(), (value) => {
      out.push(value);
      return run(i + 1);
    });
  };
  return run(0);
}

/** Creates the {@link Accounts} of a budget. */
export function createAccounts(options: AccountsOptions): Accounts {
  const { store, prefix } = options;
  const cache = new Map<string, number>();
  const alerted = new Set<string>();
  let counter = 0;

  const ttl = (line: Line): number => Math.max(1, line.window.end + GRACE_MS - options.now());
  const remember = (key: string, value: number): number => {
    cache.set(key, value);
    return value;
  };
  const peek = (key: string): number => {
    const value = store.get(key);
    if (isPromiseLike(value)) {
      value.then(
        (v) => remember(key, Number(v ?? 0)),
        () => undefined,
      );
      return cache.get(key) ?? 0;
    }
    return remember(key, Number(value ?? 0));
  };
  const read = (key: string): MaybePromise<number> =>
    thenMaybe(store.get(key), (v) => remember(key, Number(v ?? 0)));
  const add = (line: Line, key: string, delta: number, limit?: number): MaybePromise<boolean> =>
    thenMaybe(
      store.increment(key, delta, { ttlMs: ttl(line), ...(limit !== undefined && { limit }) }),
      (result) => {
        if (key === line.used) remember(key, result.value);
        return result.ok;
      },
    );

  const buildLines = (scope: string, limits: Partial<Record<Period, number>>, at: number): Line[] =>
    PERIODS.filter((period) => limits[period] !== undefined).map((period) => {
      const window = calendarWindow(period, at, options.timeZone, options.weekStartsOn);
      const base = `${scope}:${period}:${window.key}`;
      return {
        scope,
        period,
        limit: limits[period] as number,
        window,
        used: `${prefix}:used:${base}`,
        spent: `${prefix}:spent:${base}`,
      };
    });
  // A scope's lines change only when one of its windows ends: keep them (and each provider's full list)
  // while `at` is inside every window, so a call builds no keys. Nothing mutates a returned list.
  const scopeLines = new Map<string, Line[]>();
  const current = (list: readonly Line[], at: number): boolean =>
    list.every((line) => at >= line.window.start && at < line.window.end);
  const linesFor = (scope: string, limits: Partial<Record<Period, number>>, at: number): Line[] => {
    const known = scopeLines.get(scope);
    if (known && current(known, at)) return known;
    const built = buildLines(scope, limits, at);
    if (scopeLines.size >= 256) scopeLines.clear();
    scopeLines.set(scope, built);
    return built;
  };
  const providerLines = new Map<string, { global: Line[]; own: Line[]; all: Line[] }>();
  const lines = (provider: string | undefined, at: number): Line[] => {
    const global = linesFor('global', options.global, at);
    if (provider === undefined || !options.providers[provider]) return global;
    const own = linesFor(`provider:${provider}`, options.providers[provider], at);
    const known = providerLines.get(provider);
    if (known && known.global === global && known.own === own) return known.all;
    const all = [...global, ...own];
    if (providerLines.size >= 256) providerLines.clear();
    providerLines.set(provider, { global, own, all });
    return all;
  };

  const hold = (targets: readonly Line[], nanos: number): MaybePromise<boolean> => {
    if (nanos <= 0) return true;
    const done: Line[] = [];
    const step = (i: number): MaybePromise<boolean> => {
      if (i === targets.length) return true;
      const line = targets[i] as Line;
      return thenMaybe(add(line, line.used, nanos, line.limit), (ok) => {
        if (ok) {
          done.push(line);
          return step(i + 1);
        }
        return thenMaybe(series(done.map((l) => () => add(l, l.used, -nanos))), () => false);
      });
    };
    return step(0);
  };
  const recordKey = (id: string): string => `${prefix}:reservation:${id}`;
  const writeRecord = (r: Reservation): MaybePromise<void> =>
    store.set(
      recordKey(r.id),
      JSON.stringify({ provider: r.provider, nanos: r.nanos, keys: r.lines.map((l) => l.used) }),
      { ttlMs: RECORD_TTL_MS },
    );

  const checkAlerts = (line: Line, spent: number): MaybePromise<unknown> => {
    if (line.limit <= 0) return undefined;
    const crossed = options.thresholds.filter((t) => spent >= t * line.limit);
    return series(
      crossed.map((threshold) => () => {
        const key = `${prefix}:alert:${line.scope}:${line.period}:${line.window.key}:${threshold}`;
        if (alerted.has(key)) return undefined;
        return thenMaybe(store.compareAndSet(key, undefined, '1', { ttlMs: ttl(line) }), (first) => {
          alerted.add(key);
          if (first) {
            options.alert({
              scope: line.scope === 'global' ? 'global' : line.scope.slice('provider:'.length),
              period: line.period,
              window: line.window,
              threshold,
              spent: fromNanos(spent),
              limit: fromNanos(line.limit),
            });
          }
          return undefined;
        });
      }),
    );
  };

  return {
    lines,
    available(provider, held) {
      let least = Infinity;
      for (const line of lines(provider, options.now())) {
        const mine = held?.lines.some((l) => l.used === line.used) ? held.nanos : 0;
        least = Math.min(least, line.limit - peek(line.used) + mine);
      }
      return least;
    },
    reserve(provider, want) {
      const attempt = (tries: number): MaybePromise<Reservation | undefined> => {
        const targets = lines(provider, options.now());
        return thenMaybe(series(targets.map((l) => () => read(l.used))), (used) => {
          const available = targets.reduce(
            (least, l, i) => Math.min(least, l.limit - (used[i] ?? 0)),
            Infinity,
          );
          const nanos = want(available);
          if (nanos === undefined) return undefined;
          return thenMaybe(hold(targets, nanos), (ok) => {
            if (!ok) return tries + 1 < MAX_TRIES ? attempt(tries + 1) : undefined;
            const reservation: Reservation = {
              id: `${options.now()}-${counter++}-${Math.random().toString(36).slice(2, 10)}`,
              provider,
              nanos,
              lines: targets,
            };
            return thenMaybe(writeRecord(reservation), () => reservation);
          });
        });
      };
      return attempt(0);
    },
    extend(reservation, target, least, whole) {
      const attempt = (tries: number): MaybePromise<boolean> => {
        const lines = reservation.lines;
        return thenMaybe(series(lines.map((l) => () => read(l.used))), (used) => {
          const available = lines.reduce((low, l, i) => Math.min(low, l.limit - (used[i] ?? 0)), Infinity);
          const extra = target - reservation.nanos;
          const grant = whole ? extra : Math.min(extra, Math.max(0, available));
          if (grant > available || reservation.nanos + grant < least) return false;
          return thenMaybe(hold(lines, grant), (ok) => {
            if (!ok) return tries + 1 < MAX_TRIES ? attempt(tries + 1) : false;
            reservation.nanos += grant;
            return thenMaybe(writeRecord(reservation), () => true);
          });
        });
      };
      return target <= reservation.nanos ? true : attempt(0);
    },
    transfer(reservation, provider) {
      if (provider === reservation.provider) return true;
      const kept = reservation.lines.filter((l) => l.scope === 'global');
      const leaving = reservation.lines.filter((l) => l.scope !== 'global');
      const arriving = lines(provider, options.now()).filter((l) => l.scope !== 'global');
      return thenMaybe(hold(arriving, reservation.nanos), (ok) => {
        if (!ok) return false;
        return thenMaybe(series(leaving.map((l) => () => add(l, l.used, -reservation.nanos))), () => {
          reservation.provider = provider;
          reservation.lines = [...kept, ...arriving];
          return thenMaybe(writeRecord(reservation), () => true);
        });
      });
    },
    settle(reservation, actual) {
      const delta = actual - reservation.nanos;
      const steps: (() => MaybePromise<unknown>)[] = [];
      for (const line of reservation.lines) {
        if (delta !== 0) steps.push(() => add(line, line.used, delta));
        if (actual !== 0) {
          steps.push(() =>
            thenMaybe(store.increment(line.spent, actual, { ttlMs: ttl(line) }), (result) =>
              checkAlerts(line, result.value),
            ),
          );
        }
      }
      steps.push(() => store.delete(recordKey(reservation.id)));
      // Resumable: each step is counted once it is applied, so a retry after a store failure starts at
      // the step that failed.
      const from = reservation.settledSteps ?? 0;
      return thenMaybe(
        series(
          steps.slice(from).map(
            (step) => () =>
              thenMaybe(step(), () => {
                reservation.settledSteps = (reservation.settledSteps ?? 0) + 1;
              }),
          ),
        ),
        () => undefined,
      );
    },
    outstanding: () => thenMaybe(store.keys(`${prefix}:reservation:`), (keys) => keys.length),
    status() {
      const at = options.now();
      const all = [
        ...linesFor('global', options.global, at),
        ...Object.keys(options.providers).flatMap((p) =>
          linesFor(`provider:${p}`, options.providers[p] ?? {}, at),
        ),
      ];
      return series(
        all.map(
          (line) => () =>
            thenMaybe(read(line.used), (used) =>
              thenMaybe(store.get(line.spent), (raw) => {
                const spent = Number(raw ?? 0);
                return {
                  scope: line.scope === 'global' ? 'global' : line.scope.slice('provider:'.length),
                  period: line.period,
                  window: line.window,
                  limit: fromNanos(line.limit),
                  spent: fromNanos(spent),
                  reserved: fromNanos(used - spent),
                  remaining: fromNanos(line.limit - used),
                };
              }),
            ),
        ),
      );
    },
  };
}
