import { CAPTURE_SERIES, type CaptureEvidence, type CaptureSummary, MAX_CAPTURE_EVIDENCE_POINTS, type PackSample } from "@bms/shared";

/** Decimals each quantity keeps: finer than any BMS reports it, coarse enough to keep the series small. */
const DECIMALS: Readonly<Record<(typeof CAPTURE_SERIES)[number], number>> = {
  soc: 2,
  packVoltage: 3,
  current: 3,
  cellVoltageMin: 4,
  cellVoltageMax: 4,
  temperatureMin: 2,
  temperatureMax: 2,
};

const round = (value: number | null, decimals: number) => (value === null ? null : Math.round(value * 10 ** decimals) / 10 ** decimals);
const minOf = (values: readonly number[]) => (values.length > 0 ? Math.min(...values) : null);
const maxOf = (values: readonly number[]) => (values.length > 0 ? Math.max(...values) : null);

/** At most `limit` items, evenly spread over `items`, the first and last kept. */
function thinned<T>(items: readonly T[], limit: number): readonly T[] {
  if (items.length <= limit) return items;
  if (limit === 1) return [items[items.length - 1] as T];
  const step = (items.length - 1) / (limit - 1);
  return Array.from({ length: limit }, (_, i) => items[Math.round(i * step)] as T);
}

/**
 * A capture's samples as its case keeps them (the second freeze frame): in time order, one point a
 * sample, per-field series of the charted quantities, thinned evenly to MAX_CAPTURE_EVIDENCE_POINTS.
 */
export function captureEvidenceOf(commandId: string, summary: CaptureSummary, samples: readonly PackSample[]): CaptureEvidence {
  const kept = thinned(
    [...samples].sort((a, b) => a.ts - b.ts),
    MAX_CAPTURE_EVIDENCE_POINTS,
  );
  const points = kept.map((s) => ({
    soc: s.soc,
    packVoltage: s.packVoltage,
    current: s.current,
    cellVoltageMin: minOf(s.cellVoltages),
    cellVoltageMax: maxOf(s.cellVoltages),
    temperatureMin: minOf(s.cellTemperatures),
    temperatureMax: maxOf(s.cellTemperatures),
  }));
  const series = Object.fromEntries(CAPTURE_SERIES.map((key) => [key, points.map((p) => round(p[key], DECIMALS[key]))])) as Record<
    (typeof CAPTURE_SERIES)[number],
    (number | null)[]
  >;
  return {
    commandId,
    hz: summary.hz,
    seconds: summary.seconds,
    startedAt: summary.startedAt,
    endedAt: summary.endedAt,
    samples: samples.length,
    failedReads: summary.failedReads,
    ts: kept.map((s) => s.ts),
    ...series,
  };
}

/** The case's capture after a new one: the newer recording wins (a late result of an older capture changes nothing). */
export function mergeCapture(before: CaptureEvidence | undefined, capture: CaptureEvidence): CaptureEvidence {
  return before && before.commandId !== capture.commandId && before.startedAt > capture.startedAt ? before : capture;
}
