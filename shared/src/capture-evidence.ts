import { z } from "zod";
import { EpochMs } from "./pack-sample";
import { MAX_CAPTURE_HZ, MAX_CAPTURE_SECONDS } from "./remote-command";

/**
 * Points a case keeps of a capture: the whole of the longest capture at the highest rate
 * (10 Hz × 120 s). A longer series is thinned evenly to this many, so a case's capture stays
 * about 70 kB at most whatever an agent sends.
 */
export const MAX_CAPTURE_EVIDENCE_POINTS = MAX_CAPTURE_HZ * MAX_CAPTURE_SECONDS;

/** The charted quantities a capture keeps, besides `ts`. */
export const CAPTURE_SERIES = ["soc", "packVoltage", "current", "cellVoltageMin", "cellVoltageMax", "temperatureMin", "temperatureMax"] as const;

const Series = z.array(z.number().nullable()).max(MAX_CAPTURE_EVIDENCE_POINTS);

/**
 * A capture (remote diagnosis) on its case: the second freeze frame, recorded at a higher rate on
 * an engineer's request. Per-field series of the charted quantities (the fields of a history point),
 * index i of each being the i-th point: far smaller than the samples themselves (cells, sensors).
 */
export const CaptureEvidence = z
  .object({
    /** The command that recorded it (its record keeps the full samples). */
    commandId: z.string().max(64),
    hz: z.number(),
    seconds: z.number(),
    startedAt: EpochMs,
    endedAt: EpochMs,
    /** Samples the agent took; `ts.length` of them are kept (fewer when thinned). */
    samples: z.number().int().min(0),
    failedReads: z.number().int().min(0),
    ts: z.array(EpochMs).max(MAX_CAPTURE_EVIDENCE_POINTS),
    soc: Series,
    packVoltage: Series,
    current: Series,
    cellVoltageMin: Series,
    cellVoltageMax: Series,
    temperatureMin: Series,
    temperatureMax: Series,
  })
  .refine((c) => CAPTURE_SERIES.every((key) => c[key].length === c.ts.length), { message: "every series has one value per ts" });
export type CaptureEvidence = z.infer<typeof CaptureEvidence>;
