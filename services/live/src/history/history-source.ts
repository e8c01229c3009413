import type { PackHistoryPoint } from "@bms/shared";

/** Which store a history answer came from. */
export type HistorySourceKind = "influxql" | "victoriametrics" | "live";

/** One pack's history over [from, to] (ms since the epoch, both included). */
export interface HistoryRequest {
  siteId: string;
  packId: string;
  from: number;
  to: number;
  /** The most points the answer may hold: a window with more samples is downsampled. */
  maxPoints: number;
}

export interface HistoryAnswer {
  /** Oldest first. */
  points: PackHistoryPoint[];
  /**
   * null: every point is a sample as written. A number: the samples were aggregated into buckets of
   * this many ms, aligned to multiples of it since the epoch and stamped at their start (see
   * downsampling.ts for what each field is: mean, min or max).
   */
  resolutionMs: number | null;
}

/**
 * Where a pack's history is read from. Every implementation answers the same request the same way
 * and runs the conformance suite in test/history-source.conformance.ts: InfluxQL over `/query`
 * (InfluxDB 1.8+, 2.x through a DBRP mapping, 3.x), VictoriaMetrics' Prometheus query API, and the
 * live service's in-memory buffer when no time-series server is configured.
 */
export interface HistorySource {
  readonly kind: HistorySourceKind;
  read(request: HistoryRequest): Promise<HistoryAnswer>;
}

/** The time-series server did not answer, or answered with an error: the message says which and what it said. */
export class HistoryUnavailableError extends Error {
  override readonly name = "HistoryUnavailableError";
  constructor(
    message: string,
    /** The HTTP status the server answered with, when it answered at all. */
    readonly status?: number,
  ) {
    super(message);
  }
}
