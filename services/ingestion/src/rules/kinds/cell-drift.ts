import { median, mediansOfOthers } from "@bms/shared";
import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { heldLongEnough, holdOff, holdOn, type RuleStep, round, seconds, stepOf, type Trigger } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";

type Rule = RuleOf<"cell-drift">;

const DriftState = z.object({
  /** Voltage part fired. */
  va: z.boolean(),
  /** Temperature part: one sensor above the others since (`p`), over samples (`n`). */
  t: z.object({ p: z.number().optional(), n: z.number().int().min(0) }),
  /** Temperature part fired. */
  ta: z.boolean(),
});
type DriftState = z.infer<typeof DriftState>;

/** In memory: deviations from the median at rest, thinned to about 60 points per window. */
interface DriftScratch {
  points: { ts: number; dev: number[] }[];
}

/**
 * One cell drifting from its neighbours at rest. Voltage: the cell furthest below the median is at
 * least minDeviationMv below it and fell at least minDropMv over a rest of windowS, a third of that
 * in each half of the window (self-discharge is steady; the relaxation after a load slows down, and
 * balancing only ever pulls the highest cells down, never one below the rest). Temperature: one
 * sensor at least minDeviationC above the median of the others for holdS (a cell making its own heat).
 */
function evaluateCellDrift(rule: Rule, obs: PackObservation, state: DriftState, scratch: DriftScratch): RuleStep {
  let hard = false;
  const triggers: Trigger[] = [];
  if (!obs.matches(rule.when) || Math.abs(obs.sample.current) > rule.maxCurrentC * obs.ratedAh) {
    scratch.points = [];
    hard = holdOff(state.t);
    return stepOf(triggers, state.va || state.ta, hard);
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
          detail: `At rest, cell ${worst + 1} fell ${round(-drop, 1)} mV against the median of its neighbours in ${seconds(obs.ts - base.ts)}, steadily, and is now ${round(-now, 1)} mV below it: it discharges itself (an internal short?).`,
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
    const others = mediansOfOthers(obs.temps);
    obs.temps.forEach((v, i) => {
      const m = others[i] ?? null;
      if (v !== null && m !== null && v - m > deviation) {
        deviation = v - m;
        index = i;
      }
    });
    if (index >= 0) {
      if (!state.ta) {
        if (deviation >= t.minDeviationC) {
          hard = holdOn(state.t, obs.ts) || hard;
          const since = state.t.p ?? obs.ts;
          if (heldLongEnough(state.t, obs.ts, t.holdS * 1000, 2)) {
            state.ta = true;
            hard = true;
            triggers.push({
              severity: rule.severity,
              since,
              at: obs.ts,
              value: round(deviation, 2),
              threshold: t.minDeviationC,
              index,
              detail: `At rest, sensor ${index + 1} reads ${obs.temps[index]} °C, ${round(deviation, 1)} °C above the other sensors, for ${seconds(obs.ts - since)}: a cell making its own heat (an internal short?).`,
            });
          }
        } else {
          hard = holdOff(state.t) || hard;
        }
      } else if (deviation < t.clearC) {
        state.ta = false;
        holdOff(state.t);
        hard = true;
      }
    }
  }
  return stepOf(triggers.length > 1 ? triggers.slice(0, 1) : triggers, state.va || state.ta, hard);
}

export const cellDriftKind = defineKind({
  kinds: ["cell-drift"],
  state: DriftState,
  newState: (): DriftState => ({ va: false, t: { n: 0 }, ta: false }),
  newScratch: (): DriftScratch => ({ points: [] }),
  instance: (rule, state, scratch) => ({ sample: (obs) => evaluateCellDrift(rule, obs, state, scratch) }),
});
