import { z } from "zod";
import type { Chemistry } from "./pack-meta";

/**
 * Open-circuit voltage of a rested cell against its state of charge: one table per chemistry,
 * used by the simulator (to make the voltages) and by the ingestion's state-of-health estimator
 * (to read a rested cell's SOC back from its voltage). docs/warranty-analytics.md has the sources.
 */

/** [SOC %, volts] points, SOC rising from 0 to 100, volts rising. */
export const OcvCurve = z
  .array(z.tuple([z.number().min(0).max(100), z.number().min(0).max(5)]))
  .min(2)
  .max(200)
  .refine((points) => points.every((p, i) => i === 0 || (p[0] > (points[i - 1] as [number, number])[0] && p[1] > (points[i - 1] as [number, number])[1])), {
    message: "SOC and volts must both rise from one point to the next",
  });
export type OcvCurve = readonly (readonly [socPercent: number, volts: number])[];

/**
 * LFP: the long flat plateau around 3.3 V with steep knees below ~10 % and above ~97 %.
 * Typical published curve, rested cell, 25 °C.
 */
const LFP: OcvCurve = [
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
const NMC: OcvCurve = [
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

/** The shipped curves; a chemistry without one needs a curve in the rule file (health.ocvCurve). */
export const OCV_CURVES: Readonly<Partial<Record<Chemistry, OcvCurve>>> = { LFP, NMC };

/**
 * Beyond the table (an over-charged or over-discharged cell) the voltage runs away steeply, so a
 * cell the BMS fails to stop does reach its over- or under-voltage threshold.
 */
const RUNAWAY_V_PER_PERCENT = 0.1;

/** Rested-cell volts at `socPercent`: linear between the table's points, steep outside 0–100 %. */
export function ocvAt(curve: OcvCurve, socPercent: number): number {
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!first || !last) return 0;
  if (socPercent <= first[0]) return first[1] - (first[0] - socPercent) * RUNAWAY_V_PER_PERCENT;
  if (socPercent >= last[0]) return last[1] + (socPercent - last[0]) * RUNAWAY_V_PER_PERCENT;
  for (let i = 1; i < curve.length; i++) {
    const upper = curve[i] as readonly [number, number];
    const lower = curve[i - 1] as readonly [number, number];
    if (socPercent <= upper[0]) return lower[1] + ((socPercent - lower[0]) / (upper[0] - lower[0])) * (upper[1] - lower[1]);
  }
  return last[1];
}

/** A rested cell's SOC read from its voltage, and how steep the curve is there (how much a millivolt says). */
export interface OcvReading {
  socPercent: number;
  /** mV per percentage point of SOC at that voltage: on a flat stretch a millivolt of error is many points of SOC. */
  slopeMvPerPct: number;
}

/** The SOC at which a rested cell reads `volts`; null outside the table (no honest answer there). */
export function socFromOcv(curve: OcvCurve, volts: number): OcvReading | null {
  for (let i = 1; i < curve.length; i++) {
    const upper = curve[i] as readonly [number, number];
    const lower = curve[i - 1] as readonly [number, number];
    if (volts < lower[1] || volts > upper[1]) continue;
    const slope = (upper[1] - lower[1]) / (upper[0] - lower[0]);
    return { socPercent: lower[0] + (volts - lower[1]) / slope, slopeMvPerPct: slope * 1000 };
  }
  return null;
}
