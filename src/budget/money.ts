/**
 * Budgets keep dollars in the store as integer nano-dollars (1e-9 USD): increments of integers never
 * drift the way sums of floats do, and every backend (Redis `INCRBY`) adds integers exactly. The
 * largest safe integer is about 9 million dollars, far above any budget window.
 */
export const NANOS_PER_USD = 1_000_000_000;

/** Dollars to nano-dollars, rounded up (a charge or reservation never rounds below its cost). */
export function toNanos(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.ceil(usd * NANOS_PER_USD - 1e-6);
}

/** A limit in dollars to nano-dollars, rounded down (a limit never rounds above itself). */
export function limitNanos(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.floor(usd * NANOS_PER_USD + 1e-6);
}

/** Nano-dollars to dollars. */
export function fromNanos(nanos: number): number {
  return nanos / NANOS_PER_USD;
}
