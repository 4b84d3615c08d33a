import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { LLMError, toLLMError } from '../core/errors.js';
import type { TokenEvent } from '../core/events.js';
import type { ModelPolicy } from '../core/model.js';
import { redactSecrets } from '../core/redact.js';
import { observedModel, trackCall } from './track.js';

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A field value after sanitizing: JSON data only, every string redacted. */
export type LogValue =
  string | number | boolean | null | readonly LogValue[] | { readonly [key: string]: LogValue };

/** What a {@link LogHook} receives. Every string in it went through `redactSecrets`. */
export interface LogRecord {
  /** The line's level. */
  readonly level: LogLevel;
  /** What happened, redacted. */
  readonly message: string;
  /** Scheduler time of the line. */
  readonly at: number;
  /** Structured fields, sanitized (errors summarized, secrets redacted). */
  readonly fields: { readonly [key: string]: LogValue };
}

/** Where log lines go: a function you write (to pino, winston, console, a test array). */
export type LogHook = (record: LogRecord) => void;

/** A logger whose every line is sanitized before its hook sees it. */
export interface Logger {
  /** Logs a detail (dropped unless the level is `debug`). */
  debug(message: string, fields?: { readonly [key: string]: unknown }): void;
  /** Logs an event. */
  info(message: string, fields?: { readonly [key: string]: unknown }): void;
  /** Logs something that went wrong but was handled. */
  warn(message: string, fields?: { readonly [key: string]: unknown }): void;
  /** Logs a failure. */
  error(message: string, fields?: { readonly [key: string]: unknown }): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  readonly level?: LogLevel;
  /** Clock of `at`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values are dropped whatever they hold. */
const SECRET_KEY =
  /^(api[-_]?key|authorization|x-api-key|x-goog-api-key|password|secret|token|access[-_]?token)$/i;

/**
 * A {@link Logger} over a hook that never receives secrets: the message and every string field pass
 * through `redactSecrets` (registered keys and credential-shaped strings), fields named like credentials
 * (`apiKey`, `authorization`, `password`, …) are replaced by `[REDACTED]`, errors become their
 * serialized `LLMError` (kind, status, redacted message; no stack, no cause chain), and anything that is
 * not JSON data (functions, class instances, cycles) is dropped or summarized. A throwing hook is ignored.
 *
 * ## Example
 * ```ts
 * const log = createLogger((r) => console.log(JSON.stringify(r)), { level: 'debug' });
 * log.warn('provider failed', { provider: 'openai', error: toLLMError(new Error('socket hang up')) }); // error → { kind, message, status, … }
 * ```
 *
 * @param hook Where the sanitized lines go.
 * @param options Minimum level and clock.
 * @returns The logger.
 */
export function createLogger(hook: LogHook, options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const scheduler = options.scheduler ?? asyncScheduler;
  const write =
    (level: LogLevel) =>
    (message: string, fields: { readonly [key: string]: unknown } = {}): void => {
      if (RANK[level] < min) return;
      let record: LogRecord;
      try {
        record = {
          level,
          message: redactSecrets(String(message)),
          at: scheduler.now(),
          fields: sanitizeFields(fields),
        };
      } catch {
        return;
      }
      try {
        hook(record);
      } catch {
        // A broken log sink must not break the caller.
      }
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/**
 * `fields` made safe to log: see {@link createLogger}. Exposed for hooks that log through other paths.
 *
 * ## Example
 * ```ts
 * sanitizeFields({ apiKey: 'sk-…', status: 401 }); // { apiKey: '[REDACTED]', status: 401 }
 * ```
 *
 * @param fields Anything keyed by name.
 * @returns JSON data with every string redacted.
 */
export function sanitizeFields(fields: { readonly [key: string]: unknown }): {
  readonly [key: string]: LogValue;
} {
  const seen = new WeakSet<object>();
  const out: { [key: string]: LogValue } = {};
  for (const [key, value] of Object.entries(fields)) {
    const clean = sanitize(key, value, seen, 0);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

function sanitize(key: string, value: unknown, seen: WeakSet<object>, depth: number): LogValue | undefined {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null) return '[REDACTED]';
  switch (typeof value) {
    case 'string':
      return redactSecrets(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      break;
  }
  if (value === null) return null;
  if (value instanceof Error || LLMError.isInstance(value)) {
    return sanitize(key, toLLMError(value).toJSON(), seen, depth);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  const object = value as object;
  if (seen.has(object) || depth >= 6) return '[…]';
  seen.add(object);
  if (Array.isArray(object)) {
    return object.map((v) => sanitize('', v, seen, depth + 1) ?? null);
  }
  const proto = Object.getPrototypeOf(object) as unknown;
  if (proto !== Object.prototype && proto !== null) return `[${object.constructor?.name ?? 'object'}]`;
  const out: { [key: string]: LogValue } = {};
  for (const [k, v] of Object.entries(object)) {
    const clean = sanitize(k, v, seen, depth + 1);
    if (clean !== undefined) out[k] = clean;
  }
  return out;
}

/** Options of {@link withLogging}. */
export interface LoggingOptions {
  /** Clock of durations. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Logs every call of a model: `debug` when it starts, `warn` for each candidate that failed over
 * (`fallback`) or was voided (`reset`), `info` when it finishes (provider, model, tokens, cost, time to
 * first token, duration), `warn` when it is abandoned, `error` when it fails (the error's kind, status
 * and redacted message). Nothing of the prompt or the answer is logged.
 *
 * ## Example
 * ```ts
 * const log = createLogger((r) => console.log(r.level, r.message, r.fields));
 * const model = pipeline.pipe(withLogging(log));
 * ```
 *
 * @param logger The logger (see {@link createLogger}).
 * @param options The clock.
 * @returns The policy.
 */
export function withLogging(logger: Logger, options: LoggingOptions = {}): ModelPolicy {
  const scheduler = options.scheduler ?? asyncScheduler;
  return (model) =>
    observedModel(model, (request) => {
      const requestModel = request.model ?? model.model;
      return trackCall(
        new Observable<TokenEvent>((subscriber) => {
          logger.debug('llm call started', { provider: model.provider, model: requestModel });
          return model.stream(request).subscribe(subscriber);
        }),
        {
          source: { provider: model.provider, model: model.model },
          requestModel,
          explicitModel: request.model !== undefined,
          scheduler,
        },
        {
          event: (event) => {
            if (event.type === 'fallback' || event.type === 'reset') {
              logger.warn(
                event.type === 'fallback' ? 'llm candidate failed, falling back' : 'llm answer reset',
                {
                  provider: event.from.provider,
                  model: event.from.model,
                  error: event.error,
                },
              );
            }
          },
          end: (record, error) => {
            const fields = { ...record };
            if (record.outcome === 'success') logger.info('llm call finished', fields);
            else if (record.outcome === 'aborted')
              logger.warn('llm call abandoned by its subscriber', fields);
            else logger.error('llm call failed', { ...fields, error });
          },
        },
      );
    });
}
