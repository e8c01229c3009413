import type { PackHistoryPoint } from "@bms/shared";

/**
 * How a window too long to send sample by sample is cut into buckets, the same way by every
 * history source (the time-series servers do the work, the live buffer does it here):
 * - the bucket size is the first of BUCKET_SIZES_MS that gives at most `maxPoints` buckets;
 * - buckets are aligned to multiples of their size since the epoch (as InfluxQL's GROUP BY time),
 *   the window widened to whole buckets, and each point is stamped at its bucket's start;
 * - per bucket, SOC, pack voltage and current are the mean of the samples; the lowest cell voltage
 *   and temperature the minimum, the highest the maximum (so a spike never averages away);
 * - a bucket without samples gives no point (gaps stay gaps).
 */
export const BUCKET_SIZES_MS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000, 604_800_000,
] as const;

const LARGEST_BUCKET_MS = 604_800_000;

/** Buckets of `sizeMs` that [from, to] touches. */
export function bucketCount(from: number, to: number, sizeMs: number): number {
  return Math.floor(to / sizeMs) - Math.floor(from / sizeMs) + 1;
}

/** The bucket size for a window and a point budget (the largest size when even it gives too many). */
export function bucketSizeFor(from: number, to: number, maxPoints: number): number {
  for (const size of BUCKET_SIZES_MS) if (bucketCount(from, to, size) <= maxPoints) return size;
  return LARGEST_BUCKET_MS;
}

/** [start, end): the window widened to whole buckets. */
export function bucketWindow(from: number, to: number, sizeMs: number): { start: number; end: number } {
  return { start: Math.floor(from / sizeMs) * sizeMs, end: (Math.floor(to / sizeMs) + 1) * sizeMs };
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Aggregates samples (oldest first) into buckets of `sizeMs`, as the time-series servers do. */
export function downsample(points: readonly PackHistoryPoint[], sizeMs: number): PackHistoryPoint[] {
  const out: PackHistoryPoint[] = [];
  let bucket: PackHistoryPoint | null = null;
  let n = 0;
  const close = () => {
    if (bucket === null) return;
    bucket.soc /= n;
    bucket.packVoltage /= n;
    bucket.current /= n;
    out.push(bucket);
  };
  for (const p of points) {
    const start = Math.floor(p.ts / sizeMs) * sizeMs;
    if (bucket === null || bucket.ts !== start) {
      close();
      bucket = { ...p, ts: start };
      n = 1;
      continue;
    }
    n++;
    bucket.soc += p.soc;
    bucket.packVoltage += p.packVoltage;
    bucket.current += p.current;
    bucket.cellVoltageMin = minOf(bucket.cellVoltageMin, p.cellVoltageMin);
    bucket.cellVoltageMax = maxOf(bucket.cellVoltageMax, p.cellVoltageMax);
    bucket.temperatureMin = minOf(bucket.temperatureMin, p.temperatureMin);
    bucket.temperatureMax = maxOf(bucket.temperatureMax, p.temperatureMax);
  }
  close();
  return out;
}

/** The pack line's fields behind each point field (docs/time-series.md), with how a bucket aggregates it. */
export const HISTORY_FIELDS = [
  { point: "soc", field: "soc", aggregate: "mean" },
  { point: "packVoltage", field: "voltage", aggregate: "mean" },
  { point: "current", field: "current", aggregate: "mean" },
  { point: "cellVoltageMin", field: "cell_voltage_min", aggregate: "min" },
  { point: "cellVoltageMax", field: "cell_voltage_max", aggregate: "max" },
  { point: "temperatureMin", field: "temperature_min", aggregate: "min" },
  { point: "temperatureMax", field: "temperature_max", aggregate: "max" },
] as const satisfies ReadonlyArray<{ point: keyof PackHistoryPoint; field: string; aggregate: "mean" | "min" | "max" }>;

export type HistoryField = (typeof HISTORY_FIELDS)[number]["point"];

/**
 * Builds points from per-field values keyed by timestamp (what both servers answer: a column or a
 * series per field). A timestamp without SOC, voltage or current is not a pack sample and is left out.
 */
export function pointsFromFields(values: ReadonlyMap<number, Partial<Record<HistoryField, number>>>): PackHistoryPoint[] {
  const out: PackHistoryPoint[] = [];
  for (const [ts, v] of [...values].sort((a, b) => a[0] - b[0])) {
    if (v.soc === undefined || v.packVoltage === undefined || v.current === undefined) continue;
    out.push({
      ts,
      soc: v.soc,
      packVoltage: v.packVoltage,
      current: v.current,
      cellVoltageMin: v.cellVoltageMin ?? null,
      cellVoltageMax: v.cellVoltageMax ?? null,
      temperatureMin: v.temperatureMin ?? null,
      temperatureMax: v.temperatureMax ?? null,
    });
  }
  return out;
}
