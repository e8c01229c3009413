/**
 * Open-circuit voltage of an LFP cell against state of charge: the long flat plateau around
 * 3.3 V with steep knees below ~10 % and above ~97 %. Typical published curve, rested cell, 25 °C.
 */
const LFP_OCV_POINTS: readonly (readonly [socPercent: number, volts: number])[] = [
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

/** Volts at `socPercent` (clamped to 0–100), linear between the table points. */
export function lfpOpenCircuitVoltage(socPercent: number): number {
  const soc = Math.min(100, Math.max(0, socPercent));
  for (let i = 1; i < LFP_OCV_POINTS.length; i++) {
    const upper = LFP_OCV_POINTS[i];
    const lower = LFP_OCV_POINTS[i - 1];
    if (upper === undefined || lower === undefined) break;
    if (soc <= upper[0]) {
      const fraction = (soc - lower[0]) / (upper[0] - lower[0]);
      return lower[1] + fraction * (upper[1] - lower[1]);
    }
  }
  return LFP_OCV_POINTS[LFP_OCV_POINTS.length - 1]?.[1] ?? 3.46;
}
