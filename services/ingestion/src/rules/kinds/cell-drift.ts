import type { CellDriftRule } from "@bms/shared/config/rules-config";
import type { z } from "zod";
import { median, type PackObservation } from "../pack-observation";
import { type RuleStep, round, seconds, type Trigger } from "../rule-step";

type Rule = z.infer<typeof CellDriftRule>;

export interface DriftState {
  /** Voltage part fired. */
  va: boolean;
  /** Temperature part: pending since, samples, fired. */
  tp?: number | undefined;
  tn: number;
  ta: boolean;
}

/** In memory: deviations from the median at rest, thinned to about 60 points per window. */
export interface DriftScratch {
  points: { ts: number; dev: number[] }[];
}

export function newDriftScratch(): DriftScratch {
  return { points: [] };
}

/**
 * One cell drifting from its neighbours at rest. Voltage: the cell furthest below the median is at
 * least minDeviationMv below it and fell at least minDropMv over a rest of windowS, a third of that
 * in each half of the window (self-discharge is steady; the relaxation after a load slows down, and
 * balancing only ever pulls the highest cells down, never one below the rest). Temperature: one
 * sensor at least minDeviationC above the median of the others for holdS (a cell making its own heat).
 */
export function evaluateCellDrift(rule: Rule, obs: PackObservation, state: DriftState, scratch: DriftScratch): RuleStep {
  state.tn ??= 0;
  let hard = false;
  const triggers: Trigger[] = [];
  if (!obs.matches(rule.when) || Math.abs(obs.sample.current) > rule.maxCurrentC * obs.ratedAh) {
    scratch.points = [];
    if (state.tp !== undefined) {
      state.tp = undefined;
      state.tn = 0;
      hard = true;
    }
    return { triggers, active: state.va || state.ta, hard };
  }
  if (rule.voltage && obs.cells.every((c) => c !== null) && obs.cells.length >= 3) {
    const cells = obs.cells as number[];
    const m = median(cells) as number;
    const dev = cells.map((c) => (c - m) * 1000);
    const w = rule.voltage.windowS * 1000;
    const last = scratch.points[scratch.points.length - 1];
    if (!last || obs.ts - last.ts >= w / 60) scratch.points.push({ ts: obs.ts, dev });
    while (scratch.points.length > 1 && (scratch.points[1] as { ts: number }).ts <= obs.ts - w) scratch.points.shift();
    const base = scratch.points[0];
    let worst = 0;
    dev.forEach((d, i) => {
      if (d < (dev[worst] as number)) worst = i;
    });
    const now = dev[worst] as number;
    if (base && base.ts <= obs.ts - w) {
      const drop = now - (base.dev[worst] as number);
      // A short discharges the cell steadily; rest relaxation slows down: both halves must keep falling.
      const mid = scratch.points.reduce((best, p) => (Math.abs(p.ts - (obs.ts - w / 2)) < Math.abs(best.ts - (obs.ts - w / 2)) ? p : best), base);
      const firstHalf = (mid.dev[worst] as number) - (base.dev[worst] as number);
      const secondHalf = now - (mid.dev[worst] as number);
      const steady = firstHalf <= -rule.voltage.minDropMv / 3 && secondHalf <= -rule.voltage.minDropMv / 3;
      if (!state.va && now <= -rule.voltage.minDeviationMv && drop <= -rule.voltage.minDropMv && steady) {
        state.va = true;
        hard = true;
        triggers.push({
          severity: rule.severity,
          since: base.ts,
          at: obs.ts,
          value: round(now, 1),
          threshold: -rule.voltage.minDeviationMv,
          index: worst,
          detail: `At rest, cell ${worst} fell ${round(-drop, 1)} mV against the median of its neighbours in ${seconds(obs.ts - base.ts)}, steadily, and is now ${round(-now, 1)} mV below it: it discharges itself (an internal short?).`,
        });
      }
    }
    if (state.va && now > -rule.voltage.minDeviationMv / 2) {
      state.va = false;
      hard = true;
    }
  }
  if (rule.temperature) {
    const t = rule.temperature;
    let index = -1;
    let deviation = Number.NEGATIVE_INFINITY;
    obs.temps.forEach((v, i) => {
      if (v === null) return;
      const others = obs.temps.filter((o, j): o is number => j !== i && o !== null);
      const m = median(others);
      if (m !== null && v - m > deviation) {
        deviation = v - m;
        index = i;
      }
    });
    if (index >= 0) {
      if (!state.ta) {
        if (deviation >= t.minDeviationC) {
          if (state.tp === undefined) {
            state.tp = obs.ts;
            state.tn = 0;
            hard = true;
          }
          state.tn++;
          if (obs.ts - state.tp >= t.holdS * 1000 && state.tn >= 2) {
            state.ta = true;
            hard = true;
            triggers.push({
              severity: rule.severity,
              since: state.tp,
              at: obs.ts,
              value: round(deviation, 2),
              threshold: t.minDeviationC,
              index,
              detail: `At rest, sensor ${index} reads ${obs.temps[index]} °C, ${round(deviation, 1)} °C above the other sensors, for ${seconds(obs.ts - state.tp)}: a cell making its own heat (an internal short?).`,
            });
          }
        } else if (state.tp !== undefined) {
          state.tp = undefined;
          state.tn = 0;
          hard = true;
        }
      } else if (deviation < t.clearC) {
        state.ta = false;
        state.tp = undefined;
        state.tn = 0;
        hard = true;
      }
    }
  }
  return { triggers: triggers.slice(0, 1), active: state.va || state.ta, hard };
}
