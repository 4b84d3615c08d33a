import {
  asyncScheduler,
  BehaviorSubject,
  defer,
  from,
  Observable,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { createCoalescer } from '../cache/coalesce.js';
import { type CacheCodec, compressingCodec, utf8Length } from '../cache/codec.js';
import { requestKey } from '../cache/key.js';
import { type EventRecording, eventRecording, type StoredEvents, storedPieces } from '../cache/recording.js';
import { createLruIndex } from '../cache/lru.js';
import { LLMError, type SerializedLLMError } from '../core/errors.js';
import { type TokenEvent, ZERO_COST } from '../core/events.js';
import { defineModel, type LanguageModel, type ModelPolicy } from '../core/model.js';
import type { ChatRequest } from '../core/request.js';
import { isPromiseLike } from '../state/maybePromise.js';
import { memoryStore } from '../state/memoryStore.js';
import type { MaybePromise, StateStore } from '../state/store.js';
import { followWith } from './internal/followWith.js';
import { relay } from './internal/relay.js';

/** Options of {@link createCache}. Every field has a default. */
export interface CacheOptions {
  /**
   * Where entries live. Default: a `memoryStore()` on the cache's scheduler clock. Pass a shared store
   * (Redis) to share the cache between processes.
   */
  readonly store?: StateStore;
  /** Prefix of the store keys. Default `"rxllm:cache:"`. */
  readonly prefix?: string;
  /** How long an entry answers, in milliseconds. Default one hour; `Infinity` keeps entries until evicted. */
  readonly ttlMs?: number;
  /** Most entries kept (least recently used evicted first). Default 1000. */
  readonly maxEntries?: number;
  /** Most bytes kept, counted as stored (after compression). Default 64 MiB. */
  readonly maxBytes?: number;
  /** Entries at least this large (UTF-8 bytes) are deflated before they are stored. Default 16 KiB. */
  readonly compressAboveBytes?: number;
  /** How entries are written to the store. Default `compressingCodec({ thresholdBytes: compressAboveBytes })`. */
  readonly codec?: CacheCodec;
  /** Key on the request alone, not on which model answers: a provider-independent cache. Default `false`. */
  readonly ignoreModel?: boolean;
  /**
   * Also cache calls whose `temperature` is above zero or unset. Default `false`: only
   * `temperature: 0` calls are cached, because an unset temperature means the vendor's default, which is
   * above zero everywhere (1 for OpenAI and Anthropic, 1 or so for Gemini, 0.8 for Ollama).
   */
  readonly cacheNonDeterministic?: boolean;
  /** Decides which requests are cached and coalesced, replacing the temperature rule. */
  readonly cacheable?: (request: ChatRequest) => boolean;
  /** Share one upstream call between identical concurrent calls. Default `true`. */
  readonly coalesce?: boolean;
  /**
   * How a hit is replayed: `instant` (every event at once, default) or `paced` (each event at its
   * original offset from the start of the call, on the scheduler; for UI tests and demos).
   */
  readonly replay?: 'instant' | 'paced';
  /** Clock for expiry and pacing. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** What the cache has done so far. */
export interface CacheStats {
  /** Calls answered from the store. */
  readonly hits: number;
  /** Cacheable calls that started an upstream call. */
  readonly misses: number;
  /** Calls that joined an identical call already in flight. */
  readonly coalesced: number;
  /** Calls not cacheable (temperature above zero, or `cacheable` said no): passed straight through. */
  readonly bypassed: number;
  /** `(hits + coalesced) / (hits + coalesced + misses)`: the share of cacheable calls that cost nothing. 0 before any. */
  readonly hitRate: number;
  /** Entries this process knows in the store. */
  readonly entries: number;
  /** Their stored size in bytes. */
  readonly bytes: number;
  /** Entries written. */
  readonly writes: number;
  /** Entries evicted to stay within `maxEntries`/`maxBytes`, or found expired. */
  readonly evictions: number;
  /** US dollars not spent: the original cost of every hit, and of every coalesced call but the one that paid. */
  readonly savings: number;
}

/**
 * A response cache shared by every model it wraps: one store, one LRU index, one set of calls in flight,
 * one set of stats.
 *
 * ## Example
 * ```ts
 * const responses = createCache({ ttlMs: 10 * 60_000, ignoreModel: true });
 * const gpt = openai({ model: 'gpt-4o-mini' }).pipe(responses.policy());
 * responses.stats$.subscribe((s) => console.log(`hit rate ${s.hitRate}, saved $${s.savings}`));
 * ```
 */
export interface ResponseCache {
  /** The policy: wraps a model so its cacheable calls go through this cache. */
  policy(): ModelPolicy;
  /** Stats, now and on every change. */
  readonly stats$: Observable<CacheStats>;
  /** Stats now. */
  stats(): CacheStats;
  /** Removes every entry under the cache's prefix from the store. */
  clear(): MaybePromise<void>;
}

/** An entry as stored (JSON, then the codec). */
interface StoredEntry {
  readonly v: 3;
  /** The canonical request, compared on every hit: a hash collision is a miss. */
  readonly key: string;
  /** Scheduler time after which the entry no longer answers; `null` for never. */
  readonly exp: number | null;
  /** The original call's total cost, for the savings stat. */
  readonly cost: number;
  /**
   * Every event; each run of `text` events as its joined text and the pieces' lengths (most of an answer:
   * no quotes per piece to write or compress). Version 2 stored each `text` event as its bare string.
   */
  readonly events: StoredEvents;
  /** Each event's offset in milliseconds from the start of the call; only a `paced` cache records them. */
  readonly offsets?: readonly number[];
}

/** An entry as read back: each `text` event as its bare string. */
interface ReadEntry extends Omit<StoredEntry, 'v' | 'events'> {
  readonly events: readonly (string | TokenEvent)[];
}

const HOUR = 3_600_000;

/**
 * Creates a {@link ResponseCache}: TTL + LRU (entries and bytes) over a `StateStore`, with compression of
 * large entries and in-flight coalescing.
 *
 * Cache entries are whole recorded streams: only calls that complete with a `finish` are stored (never
 * one with reason `budget`, an answer a budget cut short). A hit
 * replays the recorded events (instantly or paced like the original) with every `start` marked
 * `cached: true` and the `finish` cost set to zero (usage kept).
 *
 * Identical concurrent calls share one upstream call. Each subscriber sees the stream from its start
 * (a late joiner gets the events so far, then the live ones); one leaving does not disturb the others;
 * the last one leaving aborts the call. The call's cost is reported once: on the `finish` of the earliest
 * subscriber still attached when it arrives; the others' `finish` carries zero cost. Joiners' `start` is
 * not marked cached (the answer is live).
 *
 * Where each bound is enforced: `ttlMs` by the entry itself (its expiry time is checked on every hit
 * against the scheduler clock) and by the store (written with `ttlMs`, so Redis drops stale keys);
 * `maxEntries` and `maxBytes` by an in-process LRU index in front of the store, which deletes evicted
 * keys from it. With a store shared between processes, each process bounds the entries it wrote or read.
 *
 * Keys: a 64-bit FNV-1a hash of the canonical request (see `requestKey`); the canonical request is
 * stored with the entry and compared on every hit, so a hash collision is a miss.
 *
 * ## Example
 * ```ts
 * const responses = createCache({ maxEntries: 500, replay: 'paced' });
 * const model = openai({ model: 'gpt-4o-mini' }).pipe(withRetry(), responses.policy());
 * await collect(model.stream({ messages, temperature: 0 })); // a miss: calls OpenAI
 * await collect(model.stream({ messages, temperature: 0 })); // a hit: cached === true, cost 0
 * ```
 *
 * @param options - See {@link CacheOptions}.
 * @returns The cache; `policy()` gives the model policy.
 */
export function createCache(options: CacheOptions = {}): ResponseCache {
  const scheduler = options.scheduler ?? asyncScheduler;
  const store = options.store ?? memoryStore({ now: () => scheduler.now() });
  const prefix = options.prefix ?? 'rxllm:cache:';
  const ttlMs = options.ttlMs ?? HOUR;
  const codec =
    options.codec ?? compressingCodec({ thresholdBytes: options.compressAboveBytes ?? 16 * 1024 });
  const replayMode = options.replay ?? 'instant';
  const coalesce = options.coalesce ?? true;
  const cacheable =
    options.cacheable ??
    ((request: ChatRequest) => options.cacheNonDeterministic === true || request.temperature === 0);
  const lru = createLruIndex({
    maxEntries: options.maxEntries ?? 1000,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
  });
  const flights = createCoalescer<TokenEvent>();

  const counts = { hits: 0, misses: 0, coalesced: 0, bypassed: 0, writes: 0, evictions: 0, savings: 0 };
  const snapshot = (): CacheStats => {
    const answered = counts.hits + counts.coalesced;
    const lookups = answered + counts.misses;
    return {
      ...counts,
      hitRate: lookups === 0 ? 0 : answered / lookups,
      entries: lru.size,
      bytes: lru.bytes,
    };
  };
  const stats = new BehaviorSubject<CacheStats>(snapshot());
  // Nobody watching: no snapshot per call, only a note that the last one is stale (`stats$` refreshes it).
  let stale = false;
  const changed = (): void => {
    if (stats.observed) stats.next(snapshot());
    else stale = true;
  };
  const stats$ = defer(() => {
    if (stale) {
      stale = false;
      stats.next(snapshot());
    }
    return stats;
  });

  const quietly = (result: MaybePromise<unknown>): void => {
    if (isPromiseLike(result)) Promise.resolve(result).catch(() => undefined);
  };
  const evict = (keys: readonly string[]): void => {
    for (const key of keys) {
      counts.evictions++;
      quietly(store.delete(key));
    }
  };

  /** The entry a stored text holds for `canonical`, or `undefined` (missing, another request's, expired). */
  const found = (storeKey: string, canonical: string, stored: string | undefined): ReadEntry | undefined => {
    if (stored === undefined) {
      lru.remove(storeKey);
      return undefined;
    }
    const entry = parseEntry(codec.decode(stored));
    if (!entry || entry.key !== canonical) return undefined;
    const now = scheduler.now();
    if (entry.exp !== null && entry.exp <= now) {
      lru.remove(storeKey);
      evict([storeKey]);
      return undefined;
    }
    if (!lru.touch(storeKey)) {
      evict(lru.put(storeKey, utf8Length(stored), entry.exp ?? Infinity, now));
    }
    return entry;
  };
  /** Looks `storeKey` up: synchronously over a synchronous store. A store that cannot answer is a miss. */
  const lookup = (storeKey: string, canonical: string): MaybePromise<ReadEntry | undefined> => {
    const safely = (stored: string | undefined): ReadEntry | undefined => {
      try {
        return found(storeKey, canonical, stored);
      } catch {
        return undefined;
      }
    };
    let stored: MaybePromise<string | undefined>;
    try {
      stored = store.get(storeKey);
    } catch {
      return undefined;
    }
    return isPromiseLike(stored) ? Promise.resolve(stored).then(safely, () => undefined) : safely(stored);
  };

  const write = (
    storeKey: string,
    canonical: string,
    recorded: EventRecording,
    offsets: readonly number[] | undefined,
  ): void => {
    const finish = recorded.last();
    // A `budget` finish is the budget cutting the answer short, not the model's answer: replaying it would
    // serve the truncated text to every later call, long after the budget has room again.
    if (finish?.type !== 'finish' || finish.reason === 'budget') return;
    const now = scheduler.now();
    const entry: StoredEntry = {
      v: 3,
      key: canonical,
      exp: Number.isFinite(ttlMs) ? now + ttlMs : null,
      cost: finish.cost.total,
      events: recorded.stored(),
      ...(offsets && { offsets }),
    };
    const stored = codec.encode(JSON.stringify(entry));
    const evicted = lru.put(storeKey, utf8Length(stored), entry.exp ?? Infinity, now);
    evict(evicted.filter((key) => key !== storeKey));
    if (evicted.includes(storeKey)) return changed();
    counts.writes++;
    try {
      quietly(store.set(storeKey, stored, Number.isFinite(ttlMs) ? { ttlMs } : undefined));
    } catch {
      lru.remove(storeKey);
    }
    changed();
  };

  /** The upstream call, recording its events; a call that ends with `finish` is stored before it completes. */
  const recorded = (inner: LanguageModel, request: ChatRequest, storeKey: string, canonical: string) =>
    defer(() => {
      const startedAt = scheduler.now();
      const events = eventRecording();
      // Offsets matter only to a paced replay: an instant cache stores 0 for every event and reads no clock.
      const offsets: number[] | undefined = replayMode === 'paced' ? [] : undefined;
      // Built from operators, so a subscriber that leaves during a synchronous emission stops the source.
      return inner.stream(request).pipe(
        relay({
          next: (event) => {
            events.push(event);
            offsets?.push(scheduler.now() - startedAt);
          },
          complete: () => write(storeKey, canonical, events, offsets),
        }),
      );
    });

  const live = (inner: LanguageModel, request: ChatRequest, storeKey: string, canonical: string) => {
    if (!coalesce) {
      return defer(() => {
        counts.misses++;
        changed();
        return recorded(inner, request, storeKey, canonical);
      });
    }
    // The flight keeps every event for late joiners: an instant cache writes that, with no recorder.
    const instant = replayMode === 'instant';
    const source = instant
      ? () => inner.stream(request)
      : () => recorded(inner, request, storeKey, canonical);
    return flights.observe(storeKey, source, {
      record: eventRecording,
      ...(instant && {
        completed: (events: EventRecording) => write(storeKey, canonical, events, undefined),
      }),
      onSubscribe: (joined) => {
        if (joined) counts.coalesced++;
        else counts.misses++;
        changed();
      },
      project: (event, { owner }) => {
        if (event.type !== 'finish' || owner) return event;
        counts.savings += event.cost.total;
        changed();
        return { ...event, cost: ZERO_COST };
      },
    });
  };

  const wrap = (inner: LanguageModel): LanguageModel =>
    defineModel({
      provider: inner.provider,
      model: inner.model,
      profile: inner.profile,
      stream: (request) =>
        defer(() => {
          if (!cacheable(request)) {
            counts.bypassed++;
            changed();
            return inner.stream(request);
          }
          const { canonical, hash } = requestKey(request, inner, { ignoreModel: options.ignoreModel });
          const storeKey = prefix + hash;
          if (coalesce && flights.inFlight(storeKey)) return live(inner, request, storeKey, canonical);
          const answer = (entry: ReadEntry | undefined): Observable<TokenEvent> => {
            if (!entry) return live(inner, request, storeKey, canonical);
            counts.hits++;
            counts.savings += entry.cost;
            changed();
            return replay(entry, replayMode, scheduler);
          };
          const entry = lookup(storeKey, canonical);
          // A synchronous store answers in this call; an asynchronous one, with no hop per token after.
          return isPromiseLike(entry) ? followWith(from(entry), answer) : answer(entry);
        }),
    });

  return {
    policy: () => wrap,
    stats$,
    stats: snapshot,
    clear() {
      const known = lru.keys();
      lru.clear();
      changed();
      for (const key of known) quietly(store.delete(key));
      const keys = store.keys(prefix);
      const drop = (list: readonly string[]): MaybePromise<void> => {
        const pending = list.map((key) => store.delete(key)).filter(isPromiseLike);
        if (pending.length > 0) return Promise.all(pending).then(() => undefined);
      };
      return isPromiseLike(keys) ? Promise.resolve(keys).then(drop) : drop(keys);
    },
  };
}

/**
 * The response-cache policy: `model.pipe(cache())` caches with a private cache; pass a
 * {@link ResponseCache} to share one between models (and read its stats).
 *
 * ## Example
 * ```ts
 * const shared = createCache({ ignoreModel: true });
 * const a = openai({ model: 'gpt-4o-mini' }).pipe(cache(shared));
 * const b = anthropic({ model: 'claude-haiku-4-5' }).pipe(cache(shared)); // answers a's calls too
 * const c = gemini({ model: 'gemini-2.5-flash' }).pipe(cache({ ttlMs: 60_000 }));
 * ```
 *
 * @param cacheOrOptions - A cache made by {@link createCache}, or options for a new one.
 * @returns The model policy.
 */
export function cache(cacheOrOptions: ResponseCache | CacheOptions = {}): ModelPolicy {
  return isResponseCache(cacheOrOptions) ? cacheOrOptions.policy() : createCache(cacheOrOptions).policy();
}

function isResponseCache(value: ResponseCache | CacheOptions): value is ResponseCache {
  return typeof (value as { policy?: unknown }).policy === 'function';
}

/** A stored entry's events, as a hit: `start` marked cached, `finish` at zero cost, instantly or paced. */
function replay(
  entry: ReadEntry,
  mode: 'instant' | 'paced',
  scheduler: SchedulerLike,
): Observable<TokenEvent> {
  const { events, offsets } = entry;
  return new Observable<TokenEvent>((subscriber) => {
    const startedAt = scheduler.now();
    let next = 0;
    let pending: Subscription | undefined;
    const emit = (): void => {
      pending = undefined;
      while (next < events.length && !subscriber.closed) {
        const wait = mode === 'paced' ? startedAt + (offsets?.[next] ?? 0) - scheduler.now() : 0;
        if (wait > 0) {
          pending = scheduler.schedule(emit, wait);
          return;
        }
        subscriber.next(asCached(events[next++] as string | TokenEvent));
      }
      subscriber.complete();
    };
    emit();
    return () => pending?.unsubscribe();
  });
}

function asCached(event: string | TokenEvent): TokenEvent {
  if (typeof event === 'string') return { type: 'text', text: event };
  if (event.type === 'start') return { ...event, cached: true };
  if (event.type === 'finish') return { ...event, cost: ZERO_COST };
  return event;
}

/** Reads a stored entry; `undefined` for anything that is not one (another version, corrupt text). */
function parseEntry(text: string | undefined): ReadEntry | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { v?: unknown; key?: unknown; events?: unknown } | null;
    if (typeof value?.key !== 'string' || !Array.isArray(value.events)) return undefined;
    // Version 2 (each text event a bare string) is still read: entries outlive the process that wrote them.
    const pieces =
      value.v === 3
        ? storedPieces(value.events)
        : value.v === 2
          ? (value.events as (string | TokenEvent)[])
          : undefined;
    if (!pieces) return undefined;
    const { exp, cost, offsets } = value as unknown as StoredEntry;
    return { key: value.key, exp, cost, events: pieces.map(revive), ...(offsets && { offsets }) };
  } catch {
    return undefined;
  }
}

/** JSON turns an `LLMError` into its `toJSON()` form; fallback and reset events get the error back. */
function revive(event: string | TokenEvent): string | TokenEvent {
  if (typeof event === 'string') return event;
  if (event.type === 'fallback' || event.type === 'reset') {
    const error = event.error as LLMError | SerializedLLMError;
    return LLMError.isInstance(error) ? event : { ...event, error: LLMError.fromJSON(error) };
  }
  return event;
}
