import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { type RuleStep, round, steady } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";

type Rule = RuleOf<"rate-of-change">;

const RateState = z.object({ a: z.boolean() });
type RateState = z.infer<typeof RateState>;

/** Kept in memory only: per sensor, recent (ts, °C) points. */
interface RateScratch {
  sensors: { ts: number[]; v: number[] }[];
  lastEval: number;
}

/** Least-squares slope, °C per minute; null with fewer than `min` points. */
function slopePerMin(ts: readonly number[], v: readonly number[], from: number, to: number, min: number): number | null {
  let n = 0;
  let st = 0;
  let sv = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (t < from || t > to) continue;
    n++;
    st += t;
    sv += v[i] as number;
  }
  if (n < min) return null;
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (t < from || t > to) continue;
    num += (t - mt) * ((v[i] as number) - mv);
    den += (t - mt) ** 2;
  }
  return den === 0 ? null : (num / den) * 60_000;
}

/**
 * dT/dt of each sensor over `windows` consecutive windows: fires when it started at
 * minStartRatePerMin or more, ends at minRatePerMin or more and grew by accelerationFactor from
 * each window to the next. Evaluated at most every windowS/6 of sample time. The windows are kept in
 * memory: after a restart the rule needs windows × windowS of samples before it can fire again.
 */
function evaluateRateOfChange(rule: Rule, obs: PackObservation, state: RateState, scratch: RateScratch): RuleStep {
  const w = rule.windowS * 1000;
  const horizon = obs.ts - rule.windows * w - w;
  obs.temps.forEach((value, i) => {
    let s = scratch.sensors[i];
    if (!s) {
      s = { ts: [], v: [] };
      scratch.sensors[i] = s;
    }
    if (value === null) return;
    s.ts.push(obs.ts);
    s.v.push(value);
    let drop = 0;
    while (drop < s.ts.length && (s.ts[drop] as number) < horizon) drop++;
    if (drop > 0) {
      s.ts.splice(0, drop);
      s.v.splice(0, drop);
    }
  });
  if (obs.ts - scratch.lastEval < Math.min(5000, w / 6)) return steady(state.a, false);
  scratch.lastEval = obs.ts;
  let latestMax = Number.NEGATIVE_INFINITY;
  let found: { index: number; slopes: number[] } | null = null;
  scratch.sensors.forEach((s, index) => {
    const slopes: number[] = [];
    for (let k = 0; k < rule.windows; k++) {
      const from = obs.ts - (rule.windows - k) * w;
      const slope = slopePerMin(s.ts, s.v, from, from + w, rule.minSamplesPerWindow);
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
