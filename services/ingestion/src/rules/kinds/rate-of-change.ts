import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { PointWindow } from "../point-window";
import { type RuleStep, round, steady } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";

type Rule = RuleOf<"rate-of-change">;

const RateState = z.object({ a: z.boolean() });
type RateState = z.infer<typeof RateState>;

/**
 * Points a window keeps at most (or twice the rule's minSamplesPerWindow): a slope over minutes needs
 * no more, and at 10 Hz all of them took half a megabyte a pack, most of it allocated anew each time
 * a window grew.
 */
const POINTS_PER_WINDOW = 120;

/** Kept in memory only: per sensor, recent (ts, °C) points, thinned. */
interface RateScratch {
  sensors: PointWindow[];
  lastEval: number;
}

/**
 * Least-squares slope of the points from `from` to `to` (inclusive), °C per minute; null with fewer
 * than `min` points. Only that stretch of the window is read (found by its times): the window holds
 * all the rule's windows and one more, and a scan of all of it for each cost the most of any kind.
 */
function slopePerMin(points: PointWindow, from: number, to: number, min: number): number | null {
  const start = points.firstAtOrAfter(from);
  const end = points.firstAfter(to);
  const n = end - start;
  if (n < min || n <= 0) return null;
  let st = 0;
  let sv = 0;
  for (let i = start; i < end; i++) {
    st += points.tsAt(i);
    sv += points.valueAt(i);
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (let i = start; i < end; i++) {
    const t = points.tsAt(i);
    num += (t - mt) * (points.valueAt(i) - mv);
    den += (t - mt) ** 2;
  }
  return den === 0 ? null : (num / den) * 60_000;
}

/**
 * dT/dt of each sensor over `windows` consecutive windows: fires when it started at
 * minStartRatePerMin or more, ends at minRatePerMin or more and grew by accelerationFactor from
 * each window to the next. Evaluated at most every windowS/6 of sample time, on points thinned to
 * one per windowS/120 (POINTS_PER_WINDOW). The windows are kept in memory: after a restart the rule
 * needs windows × windowS of samples before it can fire again.
 */
function evaluateRateOfChange(rule: Rule, obs: PackObservation, state: RateState, scratch: RateScratch): RuleStep {
  const w = rule.windowS * 1000;
  const horizon = obs.ts - rule.windows * w - w;
  const spacing = w / Math.max(POINTS_PER_WINDOW, 2 * rule.minSamplesPerWindow);
  obs.temps.forEach((value, i) => {
    let points = scratch.sensors[i];
    if (!points) {
      points = new PointWindow();
      scratch.sensors[i] = points;
    }
    if (value === null) return;
    if (points.length > 0 && obs.ts - points.tsAt(points.length - 1) < spacing) return;
    points.push(obs.ts, value);
    points.dropBefore(horizon);
  });
  if (obs.ts - scratch.lastEval < Math.min(5000, w / 6)) return steady(state.a, false);
  scratch.lastEval = obs.ts;
  let latestMax = Number.NEGATIVE_INFINITY;
  let found: { index: number; slopes: number[] } | null = null;
  scratch.sensors.forEach((points, index) => {
    const slopes: number[] = [];
    for (let k = 0; k < rule.windows; k++) {
      const from = obs.ts - (rule.windows - k) * w;
      const slope = slopePerMin(points, from, from + w, rule.minSamplesPerWindow);
      if (slope === null) return;
      slopes.push(slope);
    }
    const last = slopes[slopes.length - 1] as number;
    latestMax = Math.max(latestMax, last);
    const accelerating = slopes.every((slope, k) => k === 0 || slope >= rule.accelerationFactor * (slopes[k - 1] as number));
    if ((slopes[0] as number) >= rule.minStartRatePerMin && last >= rule.minRatePerMin && accelerating && found === null) found = { index, slopes };
  });
  if (!state.a && found !== null) {
    const { index, slopes } = found as { index: number; slopes: number[] };
    state.a = true;
    const rates = slopes.map((s) => round(s, 2)).join(" → ");
    return {
      triggers: [
        {
          severity: rule.severity,
          since: obs.ts - rule.windows * w,
          at: obs.ts,
          value: round(slopes[slopes.length - 1] as number, 3),
          threshold: rule.minRatePerMin,
          index,
          detail: `Sensor ${index + 1} is heating faster and faster: ${rates} °C/min over ${rule.windows} windows of ${rule.windowS} s (now ${obs.temps[index]} °C).`,
        },
      ],
      active: true,
      hard: true,
    };
  }
  if (state.a && latestMax < rule.minRatePerMin / 2) {
    state.a = false;
    return steady(false, true);
  }
  return steady(state.a, false);
}

export const rateOfChangeKind = defineKind({
  kinds: ["rate-of-change"],
  state: RateState,
  newState: (): RateState => ({ a: false }),
  newScratch: (): RateScratch => ({ sensors: [], lastEval: 0 }),
  instance: (rule, state, scratch) => ({ sample: (obs) => evaluateRateOfChange(rule, obs, state, scratch) }),
});
