/** The median of some numbers (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  // A typed array sorts numerically without a comparator (no boxed difference per comparison).
  return middleOf(Float64Array.from(values).sort(), values.length);
}

/**
 * For each entry, the median of the other entries that are present (null where there are none):
 * what `median` of each entry's others gives, from one sort instead of one per entry.
 */
export function mediansOfOthers(values: readonly (number | null)[]): (number | null)[] {
  const sorted = Float64Array.from(values.filter((v): v is number => v !== null)).sort();
  const all = sorted.length === 0 ? null : middleOf(sorted, sorted.length);
  return values.map((v) => (v === null ? all : middleOf(sorted, sorted.length - 1, lowerBound(sorted, v))));
}

/** The median of the first `count` entries of `sorted` once the entry at `skip` (if any) is taken out. */
function middleOf(sorted: Float64Array, count: number, skip = sorted.length): number | null {
  if (count === 0) return null;
  const mid = count >> 1;
  const upper = sorted[mid < skip ? mid : mid + 1] as number;
  if (count % 2 === 1) return upper;
  const lower = sorted[mid - 1 < skip ? mid - 1 : mid] as number;
  return (lower + upper) / 2;
}

/** The first index of `sorted` whose entry is not below `v`. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
