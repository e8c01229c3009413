import { type CellsHealth, median } from "@bms/shared";
import type { HealthSettings } from "@bms/shared/config/rules-config";
import type { BalanceState } from "./health-state";

/**
 * Weak cell or imbalance (Orion BMS's rule): a cell that is highest at full charge and lowest at
 * empty has less capacity than the others (weak: replace it); one that is off the others at both
 * ends on the same side holds the same capacity at another SOC (imbalanced: rebalance remotely).
 * Judged on rests at the top and at the bottom: each cell's SOC read from its rested voltage,
 * against the median cell's, as a moving average per end. A cell's excess swing is
 * (top − bottom) of that difference; its offset is their mean. On LFP's flat plateau a reading is
 * coarse, but the differences that matter here are many points of SOC.
 */

/** Moving average weight of a new rest (the first ones are a running mean). */
const WEIGHT = 0.3;

/** Adds one read rest (cell SOCs from their OCVs, null where unreadable) at pack SOC `soc`. */
export function addRestToBalance(balance: BalanceState, socs: readonly (number | null)[], soc: number, settings: HealthSettings): void {
  const end = soc >= settings.topSocPct ? "top" : soc <= settings.bottomSocPct ? "bottom" : null;
  if (end === null) return;
  const m = median(socs.filter((s): s is number => s !== null));
  if (m === null || socs.length < 2) return;
  const n = end === "top" ? ++balance.topRests : ++balance.bottomRests;
  const devs = balance[end];
  socs.forEach((s, i) => {
    while (devs.length <= i) devs.push(null);
    if (s === null) return;
    const before = devs[i] ?? null;
    devs[i] = before === null ? s - m : before + Math.max(WEIGHT, 1 / n) * (s - m - before);
  });
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The verdict on the pack's cells, with the cells behind it. */
export function cellVerdict(balance: BalanceState, cellCapacityAh: readonly (number | null)[], settings: HealthSettings): CellsHealth {
  const base = { topRests: balance.topRests, bottomRests: balance.bottomRests, weak: [], imbalanced: [] };
  if (balance.topRests < settings.minEndRests || balance.bottomRests < settings.minEndRests) {
    return {
      ...base,
      verdict: "unknown",
      reason: `not enough data: ${balance.topRests} rests at the top (SOC ≥ ${settings.topSocPct} %) and ${balance.bottomRests} at the bottom (SOC ≤ ${settings.bottomSocPct} %); ${settings.minEndRests} of each needed`,
    };
  }
  const weak: CellsHealth["weak"] = [];
  const imbalanced: CellsHealth["imbalanced"] = [];
  balance.top.forEach((top, i) => {
    const bottom = balance.bottom[i] ?? null;
    if (top === null || bottom === null) return;
    const excess = top - bottom;
    const offset = (top + bottom) / 2;
    if (excess >= settings.weakCellSwingPct) weak.push({ cell: i, excessSwingPct: round1(excess), capacityAh: cellCapacityAh[i] ?? null });
    else if (Math.abs(offset) >= settings.imbalanceOffsetPct) imbalanced.push({ cell: i, offsetPct: round1(offset) });
  });
  if (weak.length > 0) {
    const names = weak.map((w) => `cell ${w.cell} (${w.excessSwingPct} points more swing)`).join(", ");
    return {
      ...base,
      weak,
      imbalanced,
      verdict: "weak-cell",
      reason: `highest at the top and lowest at the bottom: ${names}; it has lost capacity: replace it`,
    };
  }
  if (imbalanced.length > 0) {
    const names = imbalanced.map((c) => `cell ${c.cell} (${c.offsetPct > 0 ? "+" : ""}${c.offsetPct} points)`).join(", ");
    return { ...base, weak, imbalanced, verdict: "imbalanced", reason: `off the others at both ends: ${names}; rebalance (remotely, by balancing at the top)` };
  }
  return { ...base, weak, imbalanced, verdict: "balanced", reason: "every cell within the limits at both ends" };
}
