import { mediansOfOthers } from "@bms/shared";
import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { heldLongEnough, holdOff, holdOn, type RuleStep, round, seconds, stepOf, type Trigger } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";

type Rule = RuleOf<"sensor-fault">;

const SensorFaultState = z.object({
  /** Implausible readings since (`p`), over how many samples (`n`). */
  p: z.number().optional(),
  n: z.number().int().min(0),
  /** The implausible-reading part fired. */
  ra: z.boolean(),
  /** A stuck sensor fired. */
  sa: z.boolean(),
});
type SensorFaultState = z.infer<typeof SensorFaultState>;

/** In memory: plausible temperatures, thinned to about 30 points per stuck window. */
interface SensorFaultScratch {
  points: { ts: number; temps: (number | null)[] }[];
}

/**
 * The readings the plausibility filter kept out (obs.implausible) for holdS over 2 samples or more,
 * or a sensor that stays within maxOwnChangeC over windowS while the median of the others moves
 * minNeighbourChangeC or more (stuck). One sample of nonsense fires nothing.
 */
function evaluateSensorFault(rule: Rule, obs: PackObservation, state: SensorFaultState, scratch: SensorFaultScratch): RuleStep {
  let hard = false;
  const triggers: Trigger[] = [];
  if (obs.implausible.length > 0) {
    if (!state.ra) {
      hard = holdOn(state, obs.ts);
      const since = state.p ?? obs.ts;
      if (heldLongEnough(state, obs.ts, rule.holdS * 1000, 2)) {
        state.ra = true;
        hard = true;
        const [first, ...more] = obs.implausible;
        triggers.push({
          severity: rule.severity,
          since,
          at: obs.ts,
          value: first?.value ?? null,
          threshold: null,
          index: first?.index ?? null,
          detail: `${capital(first?.reason ?? "implausible readings")}, for ${seconds(obs.ts - since)}${more.length ? ` (and ${more.length} more reading${more.length > 1 ? "s" : ""})` : ""}; kept out of the other rules.`,
        });
      }
    }
  } else {
    hard = holdOff(state);
    if (state.ra) {
      state.ra = false;
      hard = true;
    }
  }

  if (rule.stuck) {
    const stuck = rule.stuck;
    const w = stuck.windowS * 1000;
    const last = scratch.points[scratch.points.length - 1];
    if (!last || obs.ts - last.ts >= w / 30) scratch.points.push({ ts: obs.ts, temps: [...obs.temps] });
    while (scratch.points.length > 1 && (scratch.points[1] as { ts: number }).ts <= obs.ts - w) scratch.points.shift();
    const base = scratch.points[0];
    let hit: { index: number; own: number; neighbours: number } | null = null;
    if (base && base.ts <= obs.ts - w) {
      const before = mediansOfOthers(base.temps);
      const after = mediansOfOthers(obs.temps);
      obs.temps.forEach((now, i) => {
        if (hit !== null || now === null) return;
        const series = scratch.points.map((p) => p.temps[i]).filter((v): v is number => v !== null && v !== undefined);
        if (series.length < scratch.points.length) return;
        const own = Math.max(...series, now) - Math.min(...series, now);
        const neighboursBefore = before[i] ?? null;
        const neighboursNow = after[i] ?? null;
        if (neighboursBefore === null || neighboursNow === null) return;
        const neighbours = Math.abs(neighboursNow - neighboursBefore);
        if (own <= stuck.maxOwnChangeC && neighbours >= stuck.minNeighbourChangeC) hit = { index: i, own, neighbours };
      });
    }
    if (!state.sa && hit !== null) {
      const { index, neighbours } = hit as { index: number; own: number; neighbours: number };
      state.sa = true;
      hard = true;
      triggers.push({
        severity: stuck.severity,
        since: base?.ts ?? obs.ts,
        at: obs.ts,
        value: obs.temps[index] ?? null,
        threshold: stuck.minNeighbourChangeC,
        index,
        detail: `Sensor ${index + 1} has read ${obs.temps[index]} °C for ${seconds(obs.ts - (base?.ts ?? obs.ts))} while the other sensors moved ${round(neighbours, 2)} °C: a stuck sensor.`,
      });
    } else if (state.sa && hit === null && base && base.ts <= obs.ts - w) {
      state.sa = false;
      hard = true;
    }
  }
  return stepOf(triggers, state.ra || state.sa, hard);
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const sensorFaultKind = defineKind({
  kinds: ["sensor-fault"],
  state: SensorFaultState,
  newState: (): SensorFaultState => ({ n: 0, ra: false, sa: false }),
  newScratch: (): SensorFaultScratch => ({ points: [] }),
  instance: (rule, state, scratch) => ({ sample: (obs) => evaluateSensorFault(rule, obs, state, scratch) }),
});
