import type { Chemistry } from "./chemistry";

type Curve = readonly (readonly [socPercent: number, volts: number])[];

/**
 * LFP: the long flat plateau around 3.3 V with steep knees below ~10 % and above ~97 %.
 * Typical published curve, rested cell, 25 °C.
 */
const LFP_OCV: Curve = [
  [0, 2.5],
  [2, 2.9],
  [5, 3.05],
  [10, 3.2],
  [15, 3.24],
  [20, 3.26],
  [30, 3.28],
  [40, 3.29],
  [50, 3.3],
  [60, 3.31],
  [70, 3.32],
  [80, 3.33],
  [90, 3.34],
  [95, 3.35],
  [98, 3.38],
  [99, 3.41],
  [100, 3.46],
];

/** NMC: a sloped curve, 3.0 V empty to ~4.15 V rested after a full charge. Typical published curve, 25 °C. */
const NMC_OCV: Curve = [
  [0, 3.0],
  [2, 3.3],
  [5, 3.45],
  [10, 3.55],
  [20, 3.62],
  [30, 3.67],
  [40, 3.73],
  [50, 3.79],
  [60, 3.86],
  [70, 3.93],
  [80, 3.99],
  [90, 4.05],
  [95, 4.09],
  [98, 4.12],
  [100, 4.15],
];

/**
 * Beyond the table (an over-charged or over-discharged cell) the voltage runs away steeply, so a
 * cell the BMS fails to stop does reach its over- or under-voltage threshold.
 */
const RUNAWAY_V_PER_PERCENT = 0.1;

function interpolate(curve: Curve, socPercent: number): number {
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!first || !last) return 0;
  if (socPercent <= first[0]) return first[1] - (first[0] - socPercent) * RUNAWAY_V_PER_PERCENT;
  if (socPercent >= last[0]) return last[1] + (socPercent - last[0]) * RUNAWAY_V_PER_PERCENT;
  for (let i = 1; i < curve.length; i++) {
    const upper = curve[i];
    const lower = curve[i - 1];
    if (!upper || !lower) break;
    if (socPercent <= upper[0]) return lower[1] + ((socPercent - lower[0]) / (upper[0] - lower[0])) * (upper[1] - lower[1]);
  }
  return last[1];
}

/** Rested-cell volts at `socPercent`; linear between table points, steep outside 0–100 %. */
export function openCircuitVoltage(chemistry: Chemistry, socPercent: number): number {
  return interpolate(chemistry === "NMC" ? NMC_OCV : LFP_OCV, socPercent);
}

/** LFP volts at `socPercent` (kept for callers of the first simulator). */
export function lfpOpenCircuitVoltage(socPercent: number): number {
  return openCircuitVoltage("LFP", Math.min(100, Math.max(0, socPercent)));
}
