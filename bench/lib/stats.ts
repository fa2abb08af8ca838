/** Small statistics over measured samples: every figure the bench reports carries min / median / max. */

/** One reported figure. `n` is the number of samples; a single measurement has min = median = max. */
export interface Figure {
  unit: string;
  n: number;
  min: number;
  median: number;
  max: number;
  p99?: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted`, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

/** min / median / max (and p99 when `withP99`) of `samples`. */
export function figure(samples: readonly number[], unit: string, withP99 = false): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const out: Figure = {
    unit,
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: quantile(sorted, 0.5),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
  if (withP99) out.p99 = quantile(sorted, 0.99);
  return out;
}

/** A figure measured once. */
export const single = (value: number, unit: string): Figure => figure([value], unit);

export const median = (samples: readonly number[]): number =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );

/** Milliseconds since `start` (a `performance.now()` reading). */
export const since = (start: number): number => performance.now() - start;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rounds for display and JSON (keeps small values readable). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const p = 10 ** digits;
  return Math.round(value * p) / p;
}
