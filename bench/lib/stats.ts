/** Median, min and max of a sample. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, n: sorted.length };
}

/** `combine(values[i], base[i])` for the runs both have, where it gives a number. */
function pairwise(
  values: readonly (number | undefined)[],
  base: readonly (number | undefined)[],
  combine: (value: number, base: number) => number | undefined,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const b = base[i];
    const c = v !== undefined && b !== undefined ? combine(v, b) : undefined;
    if (c !== undefined) out.push(c);
  }
  return out;
}

/** Ratios of `values[i] / base[i]` for the runs both have (paired run by run). */
export function paired(
  values: readonly (number | undefined)[],
  base: readonly (number | undefined)[],
): number[] {
  return pairwise(values, base, (v, b) => (b > 0 ? v / b : undefined));
}

/** Differences `values[i] - base[i]` for the runs both have. */
export function pairedDiff(
  values: readonly (number | undefined)[],
  base: readonly (number | undefined)[],
): number[] {
  return pairwise(values, base, (v, b) => v - b);
}
