/**
 * One step of a backoff schedule: how long to wait before the next attempt, and the step after it.
 *
 * A value, not a timer: `next()` returns the following step (always the same one; it is computed once),
 * so a schedule can be inspected, tested and shared without side effects.
 *
 * ## Example
 * ```ts
 * const first = exponentialBackoff({ initialDelayMs: 100, jitter: 'none' })();
 * [first.duration, first.next().duration, first.next().next().duration]; // [100, 200, 400]
 * ```
 */
export interface Backoff {
  /** Zero-based step: 0 is the wait before the first retry. */
  readonly attempt: number;
  /** Milliseconds to wait before the next attempt. */
  readonly duration: number;
  /** The most this step may wait: the un-jittered delay, capped by `maxDelayMs`. */
  readonly ceiling: number;
  /** The following step (computed once, so a `Backoff` is an immutable value). */
  next(): Backoff;
}

/** Makes the first step of a fresh schedule. Each call draws new jitter, so each call gets its own. */
export type BackoffFactory = () => Backoff;

/**
 * How a step's delay is spread below its ceiling (see the AWS architecture blog, "Exponential Backoff
 * And Jitter"):
 *
 * - `none`: exactly the ceiling.
 * - `full`: uniform in `[0, ceiling]` (best at spreading a crowd of clients).
 * - `equal`: uniform in `[ceiling / 2, ceiling]` (never retries at once).
 * - `decorrelated`: uniform in `[initialDelayMs, 3 × previous delay]`, capped by `maxDelayMs`; grows by itself,
 *   so the schedule's own growth is ignored.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options every schedule shares. */
export interface BackoffOptions {
  /** The first delay (and the floor of `decorrelated`). Default 500 ms. */
  readonly initialDelayMs?: number;
  /** No delay exceeds this. Default 30 000 ms. */
  readonly maxDelayMs?: number;
  /** Default `full` for exponential, `none` for linear and fixed. */
  readonly jitter?: Jitter;
  /** Source of randomness in `[0, 1)`. Default `Math.random`; tests pass a fixed one. */
  readonly random?: () => number;
}

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions extends BackoffOptions {
  /** Each ceiling is the previous times this. Default 2. */
  readonly factor?: number;
}

/** Options of {@link linearBackoff}. */
export interface LinearBackoffOptions extends BackoffOptions {
  /** Each ceiling is the previous plus this. Default `initialDelayMs`. */
  readonly stepMs?: number;
}

/** Options of {@link fixedBackoff}. */
export interface FixedBackoffOptions extends Omit<BackoffOptions, 'initialDelayMs'> {
  /** The delay of every step. Default 1 000 ms. */
  readonly delayMs?: number;
}

/**
 * No jitter: the ceiling itself.
 *
 * ## Example
 * ```ts
 * noJitter(400); // 400
 * ```
 *
 * @param ceiling The un-jittered delay.
 * @returns The ceiling itself.
 */
export function noJitter(ceiling: number): number {
  return ceiling;
}

/**
 * Full jitter: `random × ceiling`, in `[0, ceiling]`. `random` is in `[0, 1)`.
 *
 * ## Example
 * ```ts
 * fullJitter(400, 0.25); // 100
 * ```
 *
 * @param ceiling The un-jittered delay.
 * @param random A uniform number in `[0, 1)`.
 * @returns A delay between 0 and the ceiling.
 */
export function fullJitter(ceiling: number, random: number): number {
  return random * ceiling;
}

/**
 * Equal jitter: half the ceiling, plus up to half again at random; in `[ceiling / 2, ceiling]`.
 *
 * ## Example
 * ```ts
 * equalJitter(400, 0.5); // 300
 * ```
 *
 * @param ceiling The un-jittered delay.
 * @param random A uniform number in `[0, 1)`.
 * @returns A delay between half the ceiling and the ceiling.
 */
export function equalJitter(ceiling: number, random: number): number {
  return ceiling / 2 + (random * ceiling) / 2;
}

/**
 * Decorrelated jitter: uniform between `base` and three times the previous delay, capped by `cap`;
 * in `[min(base, cap), cap]`.
 *
 * ## Example
 * ```ts
 * decorrelatedJitter(100, 50, 10_000, 0.5); // 175: halfway between 50 and 300
 * ```
 *
 * @param previous The previous delay.
 * @param base The first delay.
 * @param cap The longest delay.
 * @param random A uniform number in `[0, 1)`.
 * @returns The next delay.
 */
export function decorrelatedJitter(previous: number, base: number, cap: number, random: number): number {
  const high = Math.max(base, previous * 3);
  return Math.min(cap, base + random * (high - base));
}

function schedule(
  ceilingAt: (attempt: number) => number,
  initialDelayMs: number,
  options: BackoffOptions,
  defaultJitter: Jitter,
): BackoffFactory {
  const cap = Math.max(0, options.maxDelayMs ?? 30_000);
  const jitter = options.jitter ?? defaultJitter;
  const random = options.random ?? Math.random;
  const base = Math.min(cap, Math.max(0, initialDelayMs));

  const step = (attempt: number, previous: number): Backoff => {
    let ceiling: number;
    let duration: number;
    switch (jitter) {
      case 'none':
        ceiling = Math.min(cap, Math.max(0, ceilingAt(attempt)));
        duration = noJitter(ceiling);
        break;
      case 'full':
        ceiling = Math.min(cap, Math.max(0, ceilingAt(attempt)));
        duration = fullJitter(ceiling, random());
        break;
      case 'equal':
        ceiling = Math.min(cap, Math.max(0, ceilingAt(attempt)));
        duration = equalJitter(ceiling, random());
        break;
      case 'decorrelated':
        ceiling = Math.min(cap, Math.max(base, previous * 3));
        duration = decorrelatedJitter(previous, base, cap, random());
        break;
      default:
        return assertNeverJitter(jitter);
    }
    let following: Backoff | undefined;
    return Object.freeze({
      attempt,
      duration,
      ceiling,
      next: () => (following ??= step(attempt + 1, duration)),
    });
  };
  return () => step(0, base);
}

function assertNeverJitter(value: never): never {
  throw new Error(`Unknown jitter: ${String(value)}`);
}

/**
 * Exponential backoff: ceilings `initialDelayMs × factor^n`, capped by `maxDelayMs`, with `full` jitter
 * unless told otherwise.
 *
 * The default for {@link withRetry}: 500 ms, 1 s, 2 s, … (each drawn below its ceiling), at most 30 s.
 *
 * ## Example
 * ```ts
 * const schedule = exponentialBackoff({ initialDelayMs: 200, maxDelayMs: 5_000, jitter: 'equal' });
 * gpt.pipe(withRetry({ backoff: schedule, maxAttempts: 4 }));
 * ```
 *
 * @see {@link withRetry}
 * @param options Initial delay, factor, cap, jitter and randomness.
 * @returns A factory of fresh schedules.
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): BackoffFactory {
  const initial = options.initialDelayMs ?? 500;
  const factor = options.factor ?? 2;
  return schedule((n) => initial * factor ** n, initial, options, 'full');
}

/**
 * Linear backoff: ceilings `initialDelayMs + n × stepMs`, capped by `maxDelayMs`, without jitter unless
 * told otherwise.
 *
 * ## Example
 * ```ts
 * const first = linearBackoff({ initialDelayMs: 100, stepMs: 50 })();
 * [first.duration, first.next().duration]; // [100, 150]
 * ```
 *
 * @param options Initial delay, step, cap, jitter and randomness.
 * @returns A factory of fresh schedules.
 */
export function linearBackoff(options: LinearBackoffOptions = {}): BackoffFactory {
  const initial = options.initialDelayMs ?? 500;
  const stepMs = options.stepMs ?? initial;
  return schedule((n) => initial + n * stepMs, initial, options, 'none');
}

/**
 * Fixed backoff: every step waits `delayMs` (without jitter unless told otherwise).
 *
 * ## Example
 * ```ts
 * gpt.pipe(withRetry({ backoff: fixedBackoff({ delayMs: 250 }) }));
 * ```
 *
 * @param options The delay, cap, jitter and randomness.
 * @returns A factory of fresh schedules.
 */
export function fixedBackoff(options: FixedBackoffOptions = {}): BackoffFactory {
  const delay = options.delayMs ?? 1_000;
  return schedule(() => delay, delay, options, 'none');
}

/**
 * The wait before a retry: the server's hint (`retryAfterMs` from the error) when there is one, capped by
 * `maxRetryAfterMs`, otherwise the schedule's delay. A server knows its own recovery better than any
 * schedule, so its hint wins, within the cap.
 *
 * ## Example
 * ```ts
 * retryDelay(1_000, 5_000, 60_000); // 5000: the server asked for 5 s
 * retryDelay(1_000, 600_000, 60_000); // 60000: capped
 * retryDelay(1_000, undefined, 60_000); // 1000: the schedule's own
 * ```
 *
 * @param scheduled The schedule's delay for this step.
 * @param retryAfterMs The server's hint, if any.
 * @param maxRetryAfterMs The most a hint may make us wait.
 * @returns Milliseconds to wait.
 */
export function retryDelay(
  scheduled: number,
  retryAfterMs: number | undefined,
  maxRetryAfterMs: number,
): number {
  if (retryAfterMs === undefined || Number.isNaN(retryAfterMs) || retryAfterMs < 0) return scheduled;
  return Math.min(retryAfterMs, maxRetryAfterMs);
}
