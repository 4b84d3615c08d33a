import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { LLMErrorKind } from '../core/errors.js';
import { assertNever, type FinishReason } from '../core/events.js';
import type { ModelPolicy } from '../core/model.js';
import { fromNanos, toNanos } from '../budget/money.js';
import { calendarWindow, type CalendarWindow } from '../budget/windows.js';
import { createEstimator, type TokenEstimator } from '../routing/estimate.js';
import { type SpecLookup, type SpecOptions, specLookup } from '../routing/specs.js';
import { memoryStore } from '../state/memoryStore.js';
import { thenMaybe } from '../state/maybePromise.js';
import type { MaybePromise, StateStore } from '../state/store.js';
import { withLedger } from './withLedger.js';

/**
 * How a call ended, for the ledger.
 *
 * - `success`: it finished (any finish reason but `budget`).
 * - `budget`: a budget stopped it mid-stream, or refused it before sending.
 * - `error`: it failed (`errorKind` says how).
 * - `aborted`: the subscriber left before the end.
 */
export type LedgerOutcome = 'success' | 'budget' | 'error' | 'aborted';

/** One call, as recorded. */
export interface LedgerEntry {
  /** When the call ended (scheduler time, epoch ms). */
  readonly at: number;
  /** The provider that answered (or failed). */
  readonly provider: string;
  /** The model. */
  readonly model: string;
  /** Prompt tokens (estimated when `estimated`). */
  readonly inputTokens: number;
  /** Answer tokens (estimated when `estimated`). */
  readonly outputTokens: number;
  /** Prompt tokens read from the vendor's cache. */
  readonly cachedInputTokens?: number;
  /** Dollars. */
  readonly cost: number;
  /** From subscribe to the end, in ms. */
  readonly latencyMs: number;
  /** From subscribe to the first content event, in ms (absent when none came). */
  readonly ttftMs?: number;
  /** How the call ended. */
  readonly outcome: LedgerOutcome;
  /** The finish reason, when the call finished. */
  readonly finishReason?: FinishReason;
  /** The error's kind, when the call failed. */
  readonly errorKind?: LLMErrorKind;
  /** Some of the usage was estimated (no usage reported: a stopped, failed or abandoned call). */
  readonly estimated: boolean;
}

/** What to record: an entry whose time defaults to now. */
export type LedgerRecord = Omit<LedgerEntry, 'at'> & {
  /** When the call ended (epoch ms). Default: the ledger's clock now. */
  readonly at?: number;
};

/** A time range in epoch ms: `since` inclusive, `until` exclusive; either end open when left out. */
export interface LedgerRange {
  /** Entries at or after this time (epoch ms). */
  readonly since?: number;
  /** Entries before this time (epoch ms). */
  readonly until?: number;
}

/** Sums over a group of entries. */
export interface LedgerGroup {
  /** The provider, `provider/model`, or the day (`2025-11-03`, in the ledger's time zone). */
  readonly key: string;
  /** Calls in the group. */
  readonly calls: number;
  /** Dollars. */
  readonly cost: number;
  /** Their prompt tokens. */
  readonly inputTokens: number;
  /** Their answer tokens. */
  readonly outputTokens: number;
  /** Calls that finished. */
  readonly successes: number;
  /** Calls that failed. */
  readonly errors: number;
}

/** A success rate: `successes / (successes + errors)`; calls stopped by a budget or abandoned count for neither. */
export interface SuccessRate {
  /** Calls counted. */
  readonly calls: number;
  /** Calls that finished. */
  readonly successes: number;
  /** Calls that failed. */
  readonly errors: number;
  /** 0..1; 1 when there was nothing to count. */
  readonly rate: number;
}

/** The month's spend projected from recent use. */
export interface MonthProjection {
  /** The current month's window. */
  readonly month: CalendarWindow;
  /** Dollars spent this month so far. */
  readonly spent: number;
  /** Dollars per day over the lookback (or since the first entry in it, at least one day). */
  readonly dailyRate: number;
  /** `spent` plus `dailyRate` for the rest of the month. */
  readonly projected: number;
}

/** Options of {@link createLedger}. */
export interface LedgerOptions extends SpecOptions {
  /** Where entries live. Default `memoryStore()` on `scheduler`'s clock. */
  readonly store?: StateStore;
  /** Prefix of every store key. Default `ledger`. */
  readonly prefix?: string;
  /** Clock for entry times, latencies and projections. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** IANA time zone of days and months in queries. Default `UTC`. */
  readonly timeZone?: string;
  /** Days a day's entries are kept (store TTL). Default: forever. */
  readonly retentionDays?: number;
  /** Estimates usage of calls that reported none. Default: a new heuristic estimator. */
  readonly estimator?: TokenEstimator;
}

/**
 * A record of every call (provider, model, tokens, cost, latency, outcome) in a {@link StateStore}, with
 * analytics over it. Entries are appended to one list per day, so processes sharing a store share the ledger.
 * Query answers are `MaybePromise`s: `await` them (they are plain values over the memory store).
 */
export interface Ledger {
  /** Appends an entry. */
  record(entry: LedgerRecord): MaybePromise<void>;
  /** The policy that records every call of a model (see {@link withLedger}). */
  policy(): ModelPolicy;
  /** The entries in `range` (default: all), oldest first. */
  entries(range?: LedgerRange): MaybePromise<LedgerEntry[]>;
  /** Every entry summed into one group (key `total`). */
  totals(range?: LedgerRange): MaybePromise<LedgerGroup>;
  /** Cost, calls and tokens by provider, by `provider/model`, or by day; most expensive first (days in order). */
  costBy(dimension: 'provider' | 'model' | 'day', range?: LedgerRange): MaybePromise<LedgerGroup[]>;
  /** The models with the highest cost (or most calls, or most tokens). Default 5 by cost. */
  topModels(options?: {
    readonly limit?: number;
    readonly by?: 'cost' | 'calls' | 'tokens';
    readonly range?: LedgerRange;
  }): MaybePromise<LedgerGroup[]>;
  /** The share of calls that finished, overall or for one provider or model. */
  successRate(options?: {
    readonly range?: LedgerRange;
    readonly provider?: string;
    readonly model?: string;
  }): MaybePromise<SuccessRate>;
  /** This month's spend so far plus the recent daily rate for the days left. Default lookback 7 days. */
  projectMonth(options?: { readonly lookbackDays?: number }): MaybePromise<MonthProjection>;
  /** How the ledger prices calls that reported no usage, and its clock (what {@link withLedger} uses). */
  readonly context: {
    /** Estimates tokens of calls that reported no usage. */
    readonly estimator: TokenEstimator;
    /** Prices calls by provider and model. */
    readonly specOf: SpecLookup;
    /** The ledger's clock. */
    readonly scheduler: SchedulerLike;
  };
}

interface StoredEntry extends Omit<LedgerEntry, 'cost'> {
  /** Cost in integer nano-dollars (sums without float drift). */
  readonly costNanos: number;
}

const DAY_MS = 86_400_000;

/**
 * Creates a {@link Ledger}.
 *
 * ## Example
 * ```ts
 * const ledger = createLedger({ timeZone: 'Europe/Berlin' });
 * const model = pipe(route({ strategy: 'cost' }), withFallback(), budget(spend), withLedger(ledger))(pool);
 * await collect(model.stream(request));
 * console.log(await ledger.costBy('model'), await ledger.projectMonth());
 * ```
 *
 * @param options - See {@link LedgerOptions}; every field has a default.
 * @returns The ledger.
 */
export function createLedger(options: LedgerOptions = {}): Ledger {
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = (): number => scheduler.now();
  const store = options.store ?? memoryStore({ now });
  const prefix = options.prefix ?? 'ledger';
  const timeZone = options.timeZone ?? 'UTC';
  const dayPrefix = `${prefix}:day:`;
  const estimator = options.estimator ?? createEstimator();
  const specOf = specLookup(options);

  const dayOf = (at: number): CalendarWindow => calendarWindow('day', at, timeZone);

  const entries = (range: LedgerRange = {}): MaybePromise<LedgerEntry[]> =>
    thenMaybe(store.keys(dayPrefix), (keys) => {
      const days = [...keys].sort().filter((key) => {
        const [y, m, d] = key.slice(dayPrefix.length).split('-').map(Number) as [number, number, number];
        // A day key's window: its local midnight to the next; a day overlapping the range is read.
        const start = calendarWindow('day', Date.UTC(y, m - 1, d, 12), timeZone);
        return (
          (range.since === undefined || start.end > range.since) &&
          (range.until === undefined || start.start < range.until)
        );
      });
      const lists = days.map((key) => store.list(key));
      const collect = (i: number, out: LedgerEntry[]): MaybePromise<LedgerEntry[]> => {
        if (i === lists.length) return out;
        return thenMaybe(lists[i] as MaybePromise<readonly string[]>, (values) => {
          for (const raw of values) {
            const stored = JSON.parse(raw) as StoredEntry;
            if (range.since !== undefined && stored.at < range.since) continue;
            if (range.until !== undefined && stored.at >= range.until) continue;
            const { costNanos, ...rest } = stored;
            out.push({ ...rest, cost: fromNanos(costNanos) });
          }
          return collect(i + 1, out);
        });
      };
      return thenMaybe(collect(0, []), (out) => out.sort((a, b) => a.at - b.at));
    });

  const group = (list: readonly LedgerEntry[], keyOf: (e: LedgerEntry) => string): LedgerGroup[] => {
    const groups = new Map<
      string,
      { calls: number; nanos: number; input: number; output: number; ok: number; bad: number }
    >();
    for (const e of list) {
      const key = keyOf(e);
      const g = groups.get(key) ?? { calls: 0, nanos: 0, input: 0, output: 0, ok: 0, bad: 0 };
      g.calls++;
      g.nanos += toNanos(e.cost);
      g.input += e.inputTokens;
      g.output += e.outputTokens;
      if (e.outcome === 'success') g.ok++;
      if (e.outcome === 'error') g.bad++;
      groups.set(key, g);
    }
    return [...groups].map(([key, g]) => ({
      key,
      calls: g.calls,
      cost: fromNanos(g.nanos),
      inputTokens: g.input,
      outputTokens: g.output,
      successes: g.ok,
      errors: g.bad,
    }));
  };

  const ledger: Ledger = {
    record(entry) {
      const at = entry.at ?? now();
      const { cost, ...rest } = entry;
      const stored: StoredEntry = { ...rest, at, costNanos: toNanos(cost) };
      return store.append(`${dayPrefix}${dayOf(at).key}`, JSON.stringify(stored), {
        ...(options.retentionDays !== undefined && { ttlMs: options.retentionDays * DAY_MS }),
      });
    },
    policy: () => withLedger(ledger),
    entries,
    totals: (range) =>
      thenMaybe(entries(range), (list) => {
        const [all] = group(list, () => 'total');
        return (
          all ?? { key: 'total', calls: 0, cost: 0, inputTokens: 0, outputTokens: 0, successes: 0, errors: 0 }
        );
      }),
    costBy: (dimension, range) =>
      thenMaybe(entries(range), (list) => {
        switch (dimension) {
          case 'provider':
            return group(list, (e) => e.provider).sort((a, b) => b.cost - a.cost);
          case 'model':
            return group(list, (e) => `${e.provider}/${e.model}`).sort((a, b) => b.cost - a.cost);
          case 'day':
            return group(list, (e) => dayOf(e.at).key).sort((a, b) => (a.key < b.key ? -1 : 1));
          default:
            return assertNever(dimension);
        }
      }),
    topModels: ({ limit = 5, by = 'cost', range } = {}) =>
      thenMaybe(entries(range), (list) => {
        const metric = (g: LedgerGroup): number =>
          by === 'cost' ? g.cost : by === 'calls' ? g.calls : g.inputTokens + g.outputTokens;
        return group(list, (e) => `${e.provider}/${e.model}`)
          .sort((a, b) => metric(b) - metric(a))
          .slice(0, limit);
      }),
    successRate: ({ range, provider, model } = {}) =>
      thenMaybe(entries(range), (list) => {
        const chosen = list.filter(
          (e) =>
            (provider === undefined || e.provider === provider) && (model === undefined || e.model === model),
        );
        const successes = chosen.filter((e) => e.outcome === 'success').length;
        const errors = chosen.filter((e) => e.outcome === 'error').length;
        return {
          calls: chosen.length,
          successes,
          errors,
          rate: successes + errors === 0 ? 1 : successes / (successes + errors),
        };
      }),
    projectMonth: ({ lookbackDays = 7 } = {}) => {
      const at = now();
      const month = calendarWindow('month', at, timeZone);
      const since = Math.min(month.start, at - lookbackDays * DAY_MS);
      return thenMaybe(entries({ since, until: at + 1 }), (list) => {
        let spentNanos = 0;
        let recentNanos = 0;
        let earliest = at;
        for (const e of list) {
          if (e.at >= month.start) spentNanos += toNanos(e.cost);
          if (e.at >= at - lookbackDays * DAY_MS) {
            recentNanos += toNanos(e.cost);
            earliest = Math.min(earliest, e.at);
          }
        }
        const days = Math.min(lookbackDays, Math.max(1, (at - earliest) / DAY_MS));
        const dailyRate = fromNanos(recentNanos) / days;
        const spent = fromNanos(spentNanos);
        return { month, spent, dailyRate, projected: spent + (dailyRate * (month.end - at)) / DAY_MS };
      });
    },
    context: { estimator, specOf, scheduler },
  };
  return ledger;
}
