import { z } from "zod";
import { BmsAlarmCode } from "./bms-alarms";
import { Id } from "./ids";

/** 2000-01-01 and 2100-01-01 in ms: a timestamp outside is a unit mistake (seconds, µs) or a broken clock. */
const MIN_TS = 946_684_800_000;
const MAX_TS = 4_102_444_800_000;

export const EpochMs = z.number().int().min(MIN_TS).max(MAX_TS);

/**
 * One pack sample, as published on `bms/{siteId}/{packId}/telemetry`.
 * Units: V, A (+ = charging), °C, %, Ah, ms since the Unix epoch.
 * The bounds are physical plausibility limits: a value outside is a decoding or sensor fault, never a reading.
 */
export const PackSample = z.object({
  v: z.literal(1),
  /** When the registers were read, at the edge. */
  ts: EpochMs,
  /** Per-agent sequence number, +1 per sample. */
  seq: z.number().int().min(0),
  packVoltage: z.number().min(0).max(1500),
  /** A, positive while charging. */
  current: z.number().min(-10_000).max(10_000),
  soc: z.number().min(0).max(100),
  soh: z.number().min(0).max(100).optional(),
  /** V, index = cell position; empty when the BMS reports no cells (the Pylontech CAN frames carry none). */
  cellVoltages: z.array(z.number().min(0).max(5)).max(1024),
  /** °C, one per sensor. */
  cellTemperatures: z.array(z.number().min(-50).max(150)).max(1024),
  bmsAlarms: z.array(BmsAlarmCode).max(64).optional(),
  /** Ah. */
  remainingCapacity: z.number().min(0).max(100_000).optional(),
  cycleCount: z.number().int().min(0).max(1_000_000).optional(),
  /** A, as the BMS allows now (both positive). */
  chargeCurrentLimit: z.number().min(0).max(10_000).optional(),
  dischargeCurrentLimit: z.number().min(0).max(10_000).optional(),
  /** V. */
  chargeVoltageLimit: z.number().min(0).max(1500).optional(),
  dischargeVoltageLimit: z.number().min(0).max(1500).optional(),
  /** kΩ, where the device measures it. */
  insulationResistance: z.number().min(0).max(1_000_000).optional(),
});
export type PackSample = z.infer<typeof PackSample>;

/** A sample with where it came from: what the live feed emits and what rules see. */
export const SitePackSample = PackSample.extend({ siteId: Id, packId: Id });
export type SitePackSample = z.infer<typeof SitePackSample>;
