import { OCV_CURVES, type OcvCurve, ocvAt } from "@bms/shared";
import type { Chemistry } from "./chemistry";

// The curves live in shared/src/ocv-curves.ts: the ingestion's state-of-health estimator reads
// rested voltages back with the same tables.
const LFP = OCV_CURVES.LFP as OcvCurve;
const NMC = OCV_CURVES.NMC as OcvCurve;

/** Rested-cell volts at `socPercent`; linear between table points, steep outside 0–100 %. */
export function openCircuitVoltage(chemistry: Chemistry, socPercent: number): number {
  return ocvAt(chemistry === "NMC" ? NMC : LFP, socPercent);
}

/** LFP volts at `socPercent` (kept for callers of the first simulator). */
export function lfpOpenCircuitVoltage(socPercent: number): number {
  return openCircuitVoltage("LFP", Math.min(100, Math.max(0, socPercent)));
}
