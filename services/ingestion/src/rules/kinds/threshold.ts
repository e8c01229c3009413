import { SEVERITY_RANK, Severity } from "@bms/shared";
import type { ThresholdLevel, ThresholdMetric } from "@bms/shared/config/rules-config";
import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { heldLongEnough, holdOff, holdOn, QUIET, type Reading, type RuleStep, round, seconds, type Trigger } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";

type Threshold = RuleOf<"threshold" | "cell-spread">;
type Metric = ThresholdMetric | "cell-voltage-spread" | "temperature-spread";

/**
 * Per level: when it started to hold (`p`), over how many samples (`n`), whether it fired (`a`),
 * and whether it fired on a BMS code alone because the pack does not report the metric (`c`).
 */
const LevelState = z.object({
  p: z.number().optional(),
  n: z.number().int().min(0),
  a: z.boolean(),
  c: z.boolean().optional(),
});
const ThresholdState = z.partialRecord(Severity, LevelState);
type ThresholdState = z.infer<typeof ThresholdState>;

const UNITS: Record<Metric, string> = {
  "cell-voltage-max": "V",
  "cell-voltage-min": "V",
  "pack-voltage-per-cell": "V per cell",
  "pack-voltage-mismatch": "%",
  "charge-current": "A",
  "discharge-current": "A",
  "charge-c-rate": "C",
  "discharge-c-rate": "C",
  "temperature-max": "°C",
  "temperature-min": "°C",
  soc: "%",
  soh: "%",
  "insulation-resistance": "kΩ",
  "cell-voltage-spread": "mV",
  "temperature-spread": "°C",
};

/** "Cell 3 at 3.712 V", "The discharge current of 300 A (3 C)", ...; `index` from 0, written from 1 as on the device label. */
export function describeValue(metric: Metric, value: number, index: number | null, obs: PackObservation): string {
  const v = round(value);
  const n = index === null ? "?" : index + 1;
  switch (metric) {
    case "cell-voltage-max":
    case "cell-voltage-min":
      return `Cell ${n} at ${v} V`;
    case "temperature-max":
    case "temperature-min":
      return `Sensor ${n} at ${v} °C`;
    case "pack-voltage-per-cell":
      return `The pack at ${round(obs.sample.packVoltage, 2)} V (${v} V per cell)`;
    case "pack-voltage-mismatch":
      return `The pack voltage of ${round(obs.sample.packVoltage, 2)} V, ${round(value, 1)} % off the sum of its cells,`;
    case "charge-current":
    case "charge-c-rate":
      return `The charge current of ${round(obs.sample.current, 1)} A (${round(obs.sample.current / obs.ratedAh, 2)} C)`;
    case "discharge-current":
    case "discharge-c-rate":
      return `The discharge current of ${round(-obs.sample.current, 1)} A (${round(-obs.sample.current / obs.ratedAh, 2)} C)`;
    case "soc":
      return `The state of charge at ${v} %`;
    case "soh":
      return `The state of health at ${v} %`;
    case "insulation-resistance":
      return `The insulation resistance at ${v} kΩ`;
    case "cell-voltage-spread":
      return `The cell voltage spread of ${round(value, 1)} mV (cell ${n} furthest from the others)`;
    case "temperature-spread":
      return `The temperature spread of ${round(value, 1)} °C (sensor ${n} furthest from the others)`;
  }
}

function metricOf(rule: Threshold): Metric {
  if (rule.kind === "threshold") return rule.metric;
  return rule.quantity === "voltage" ? "cell-voltage-spread" : "temperature-spread";
}

/** Each rule's levels, sorted once (a rule object lives as long as its rule book). */
const sortedLevels = new WeakMap<Threshold, [Severity, ThresholdLevel][]>();

/** Levels from the mildest to the worst. */
function levelsOf(rule: Threshold): [Severity, ThresholdLevel][] {
  let levels = sortedLevels.get(rule);
  if (!levels) {
    levels = (Object.entries(rule.levels) as [Severity, ThresholdLevel | null | undefined][])
      .filter((entry): entry is [Severity, ThresholdLevel] => entry[1] !== null && entry[1] !== undefined)
      .sort((a, b) => SEVERITY_RANK[a[0]] - SEVERITY_RANK[b[0]]);
    sortedLevels.set(rule, levels);
  }
  return levels;
}

/**
 * Threshold with hysteresis and a hold, one state machine per severity level (and the spread of
 * cell statistics, on the same machine). A value the rule cannot see (no such sensor, the pack not
 * in the `when` state) neither advances a pending level nor clears an active one.
 */
function evaluateThreshold(rule: Threshold, obs: PackObservation, state: ThresholdState): RuleStep {
  const metric = metricOf(rule);
  const above = rule.kind === "cell-spread" || rule.direction === "above";
  const looking = obs.matches(rule.when);
  const seen = looking ? obs.metric(metric) : null;
  const triggers: Trigger[] = [];
  let hard = false;
  const levels = levelsOf(rule);
  for (const [severity, level] of levels) {
    let st = state[severity];
    if (!st) {
      st = { n: 0, a: false };
      state[severity] = st;
    }
    if (seen === null) {
      // The pack does not report this value (SunSpec 802 has no insulation point): the BMS's own
      // code for the condition stands in for the measurement, and its going away clears it.
      const code = looking ? level.confirmedBy.find((c) => obs.alarms.has(c)) : undefined;
      if (!st.a && code !== undefined) {
        st.a = true;
        st.c = true;
        hard = true;
        triggers.push({
          severity,
          since: obs.ts,
          at: obs.ts,
          value: null,
          threshold: level.threshold,
          index: null,
          detail: `The BMS reports ${code}; the pack does not report the ${metric} the ${severity} level (${level.threshold} ${UNITS[metric]}) watches.`,
        });
      } else if (st.a && st.c && looking && code === undefined) {
        st.a = false;
        st.c = undefined;
        hard = true;
      } else if (!st.a) {
        hard = holdOff(st) || hard;
      }
      continue;
    }
    st.c = undefined;
    const v = seen.value;
    if (st.a) {
      if (above ? v < level.clear : v > level.clear) {
        st.a = false;
        holdOff(st);
        hard = true;
      }
      continue;
    }
    if (!(above ? v > level.threshold : v < level.threshold)) {
      hard = holdOff(st) || hard;
      continue;
    }
    hard = holdOn(st, obs.ts) || hard;
    const since = st.p ?? obs.ts;
    const confirmedBy = level.confirmedBy.find((code) => obs.alarms.has(code));
    if (confirmedBy === undefined && !heldLongEnough(st, obs.ts, level.holdS * 1000, level.minSamples)) continue;
    st.a = true;
    hard = true;
    const how = confirmedBy ? `; the BMS reports ${confirmedBy}` : ` for ${seconds(obs.ts - since)} (${st.n} samples)`;
    triggers.push({
      severity,
      since,
      at: obs.ts,
      value: round(v, 4),
      threshold: level.threshold,
      index: seen.index,
      detail: `${describeValue(metric, v, seen.index, obs)} is ${above ? "above" : "below"} the ${level.threshold} ${UNITS[metric]} ${severity} level${how}.`,
    });
  }
  let active = false;
  for (const [severity] of levels) active ||= state[severity]?.a === true;
  // Only an active condition's reading is followed into its case's evidence.
  const reading: Reading | undefined =
    seen === null || !active
      ? undefined
      : { value: round(seen.value, 4), index: seen.index, detail: describeValue(metric, seen.value, seen.index, obs), direction: above ? "above" : "below" };
  if (!reading && !hard && !active && triggers.length === 0) return QUIET;
  return reading ? { triggers, active, hard, reading } : { triggers, active, hard };
}

/** `threshold` and `cell-spread` rules: one machine per severity level, with hysteresis and a hold. */
export const thresholdKind = defineKind({
  kinds: ["threshold", "cell-spread"],
  state: ThresholdState,
  newState: (): ThresholdState => ({}),
  newScratch: () => undefined,
  instance: (rule, state) => ({ sample: (obs) => evaluateThreshold(rule, obs, state) }),
});
