import type { RouteCandidate } from '../types.js';

/** Orders candidates by a numeric key, lower first. */
export type Comparator = (a: RouteCandidate, b: RouteCandidate) => number;

/** Sorts by each comparator in turn, then by pool position (a total, deterministic order). */
export function rankBy(
  candidates: readonly RouteCandidate[],
  ...comparators: readonly Comparator[]
): RouteCandidate[] {
  return [...candidates].sort((a, b) => {
    for (const compare of comparators) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return a.index - b.index;
  });
}

/** Ascending on `key`; `undefined` sorts last. */
export function ascending(key: (c: RouteCandidate) => number | undefined): Comparator {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === y) return 0;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return x - y;
  };
}

/** Descending on `key`; `undefined` sorts last. */
export function descending(key: (c: RouteCandidate) => number | undefined): Comparator {
  return ascending((c) => {
    const value = key(c);
    return value === undefined ? undefined : -value;
  });
}
