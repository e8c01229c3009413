import { type PackMeta, type WarrantyAssessment, type WarrantyExclusion, WarrantyExclusionKind } from "@bms/shared";
import type { WarrantyTerms } from "@bms/shared/config/rules-config";
import { z } from "zod";
import type { PackObservation } from "../rules/pack-observation";

/** One excluded condition, accumulated over the pack's history. */
const ConditionTally = z.object({
  seconds: z.number().min(0),
  events: z.number().int().min(0),
  worst: z.number().nullable(),
  firstAt: z.number().nullable(),
  lastAt: z.number().nullable(),
  /** The condition held at the last sample (a new event starts when it begins again). */
  holding: z.boolean(),
});
type ConditionTally = z.infer<typeof ConditionTally>;

/** What is saved across restarts. */
export const UsageHistoryState = z.object({
  since: z.number().nullable(),
  lastTs: z.number().nullable(),
  conditions: z.partialRecord(WarrantyExclusionKind, ConditionTally),
});
export type UsageHistoryState = z.infer<typeof UsageHistoryState>;

export function newUsageHistoryState(): UsageHistoryState {
  return { since: null, lastTs: null, conditions: {} };
}

/** A gap longer than this between samples is not counted as time in a condition. */
const MAX_COUNTED_GAP_S = 300;

const KINDS: readonly WarrantyExclusionKind[] = ["over-temperature", "charging-below-zero", "over-discharge", "over-current"];

/** What the live lane counted for one sample: kept with a gap it stepped over, so that the gap can be back-filled exactly. */
export const UsageStep = z.object({
  ts: z.number(),
  /** Seconds counted for each condition that held at the sample (its time since the sample before). */
  seconds: z.number().min(0),
  /** The conditions that held at the sample: true where it began an episode. */
  held: z.partialRecord(WarrantyExclusionKind, z.boolean()),
  /** The conditions that held at the sample before it. */
  before: z.array(WarrantyExclusionKind),
});
export type UsageStep = z.infer<typeof UsageStep>;

/** A gap being back-filled (late samples, in order): the conditions at its last sample, and the live sample after it. */
export const UsageFill = z.object({
  holding: z.array(WarrantyExclusionKind),
  next: UsageStep,
});
export type UsageFill = z.infer<typeof UsageFill>;

/** The gap a live step stepped over, before any of it is back-filled. */
export function newUsageFill(step: UsageStep): UsageFill {
  return { holding: [...step.before], next: step };
}

interface Reading {
  holds: boolean;
  value: number | null;
  worse: (a: number, b: number) => number;
}

function newTally(): ConditionTally {
  return { seconds: 0, events: 0, worst: null, firstAt: null, lastAt: null, holding: false };
}

/**
 * The conditions a warranty excludes, tallied from every sample of a pack the ingestion sees: time
 * above the maximum temperature, charging below 0 °C, discharge below the cut-off voltage and
 * over-current (seconds and separate episodes, the worst value, first and last time).
 *
 * Each sample counts the time since the sample before it. Live samples come in order (`add`); the
 * samples of a gap the live lane stepped over (an agent's outbox backlog) come later, in order, and
 * are put in their place (`fill`): the live sample after the gap is re-counted from the newest
 * back-filled one, so every sample is counted once, in whichever lane it came.
 */
export class UsageHistory {
  constructor(private readonly state: UsageHistoryState = newUsageHistoryState()) {}

  get saved(): UsageHistoryState {
    return this.state;
  }

  /**
   * Adds one live sample; the time since the previous one (capped) is counted for every condition
   * that holds now. Returns what it counted (null for a sample counted already).
   */
  add(obs: PackObservation, terms: WarrantyTerms): UsageStep | null {
    const ts = obs.ts;
    const s = this.state;
    if (s.lastTs !== null && ts <= s.lastTs) return null; // a late or replayed sample was counted already
    const dtS = s.lastTs === null ? 0 : Math.min(MAX_COUNTED_GAP_S, (ts - s.lastTs) / 1000);
    s.since ??= ts;
    s.lastTs = ts;
    // A condition seen at one sample counts at least one second.
    const step: UsageStep = { ts, seconds: Math.max(1, dtS), held: {}, before: KINDS.filter((k) => s.conditions[k]?.holding === true) };
    const now = readings(obs, terms);
    for (const kind of KINDS) {
      const c = now[kind];
      const tally = s.conditions[kind];
      if (!c.holds) {
        if (tally) tally.holding = false;
        continue;
      }
      const t = tally ?? newTally();
      t.seconds += step.seconds;
      step.held[kind] = !t.holding;
      if (!t.holding) t.events++;
      t.holding = true;
      t.worst = t.worst === null || c.value === null ? c.value : c.worse(t.worst, c.value);
      t.firstAt ??= ts;
      t.lastAt = ts;
      s.conditions[kind] = t;
    }
    return step;
  }

  /**
   * Adds a back-filled sample of a gap: `fromTs` is the gap's sample before it (live or back-filled),
   * `fill` what the gap holds (updated). Samples outside (fromTs, the live sample after the gap) are ignored.
   */
  fill(obs: PackObservation, terms: WarrantyTerms, fromTs: number, fill: UsageFill): void {
    const ts = obs.ts;
    const s = this.state;
    const next = fill.next;
    if (ts <= fromTs || ts >= next.ts) return;
    const seconds = Math.max(1, Math.min(MAX_COUNTED_GAP_S, (ts - fromTs) / 1000));
    s.since = s.since === null ? ts : Math.min(s.since, ts);
    const now = readings(obs, terms);
    const holding: WarrantyExclusionKind[] = [];
    for (const kind of KINDS) {
      const c = now[kind];
      if (!c.holds) continue;
      holding.push(kind);
      // The live lane's `holding` is about its newest sample: a back-filled one leaves it alone.
      const t = s.conditions[kind] ?? newTally();
      t.seconds += seconds;
      if (!fill.holding.includes(kind)) t.events++;
      t.worst = t.worst === null || c.value === null ? c.value : c.worse(t.worst, c.value);
      t.firstAt = t.firstAt === null ? ts : Math.min(t.firstAt, ts);
      t.lastAt = t.lastAt === null ? ts : Math.max(t.lastAt, ts);
      s.conditions[kind] = t;
    }
    fill.holding = holding;
    // The live sample after the gap now follows this one: its time and its episode start are re-counted.
    const nextSeconds = Math.max(1, Math.min(MAX_COUNTED_GAP_S, (next.ts - ts) / 1000));
    for (const kind of KINDS) {
      const began = next.held[kind];
      const t = s.conditions[kind];
      if (began === undefined || !t) continue;
      t.seconds = Math.max(0, t.seconds + nextSeconds - next.seconds);
      const begins = !holding.includes(kind);
      if (begins !== began) {
        t.events = Math.max(0, t.events + (begins ? 1 : -1));
        next.held[kind] = begins;
      }
    }
    next.seconds = nextSeconds;
  }

  /** In or out of warranty at `at`, the excluded conditions found, and whether the repair looks free or chargeable. */
  assess(meta: PackMeta | null, terms: WarrantyTerms, at: number): WarrantyAssessment {
    const start = meta?.warrantyStart ?? null;
    const end = meta?.warrantyEnd ?? null;
    const day = new Date(at).toISOString().slice(0, 10);
    const coverage: WarrantyAssessment["coverage"] =
      start === null && end === null ? "unknown" : (start === null || day >= start) && (end === null || day <= end) ? "in-warranty" : "out-of-warranty";
    const exclusions: WarrantyExclusion[] = [];
    for (const kind of KINDS) {
      const t = this.state.conditions[kind];
      if (!t) continue;
      const seconds = Math.round(t.seconds * 10) / 10;
      exclusions.push({
        condition: kind,
        seconds,
        events: t.events,
        worst: t.worst === null ? null : Math.round(t.worst * 1000) / 1000,
        firstAt: t.firstAt,
        lastAt: t.lastAt,
        exceedsTolerance: t.seconds > terms.toleranceS,
        detail: describe(kind, seconds, t.events, t.worst, terms),
      });
    }
    const excluded = exclusions.filter((e) => e.exceedsTolerance);
    let suggestion: WarrantyAssessment["suggestion"];
    let reason: string;
    if (coverage === "unknown") {
      suggestion = "review";
      reason = "The pack's meta has no warranty dates: check the contract.";
    } else if (coverage === "out-of-warranty") {
      suggestion = "chargeable";
      reason = `Out of warranty on ${day} (warranty ${start ?? "?"} to ${end ?? "?"}).`;
    } else if (excluded.length > 0) {
      suggestion = "chargeable";
      reason = `In warranty, but the history shows conditions the warranty excludes: ${excluded.map((e) => e.condition).join(", ")}.`;
    } else {
      suggestion = "free";
      reason =
        exclusions.length > 0 ? "In warranty; excluded conditions stayed within the tolerance." : "In warranty; no excluded condition in the pack's history.";
    }
    return { coverage, warrantyStart: start, warrantyEnd: end, assessedAt: at, historySince: this.state.since, exclusions, suggestion, reason };
  }
}

/** Which excluded conditions hold at one sample, and their values. */
function readings(obs: PackObservation, terms: WarrantyTerms): Record<WarrantyExclusionKind, Reading> {
  const tMax = obs.metric("temperature-max")?.value;
  const tMin = obs.metric("temperature-min")?.value;
  const vMin = obs.metric("cell-voltage-min")?.value;
  const chargeC = obs.metric("charge-c-rate")?.value ?? 0;
  const dischargeC = obs.metric("discharge-c-rate")?.value ?? 0;
  return {
    "over-temperature": { holds: tMax !== undefined && tMax > terms.maxTemperatureC, value: tMax ?? null, worse: Math.max },
    "charging-below-zero": {
      holds: obs.state === "charging" && tMin !== undefined && tMin < terms.minChargeTemperatureC,
      value: tMin ?? null,
      worse: Math.min,
    },
    "over-discharge": { holds: obs.state === "discharging" && vMin !== undefined && vMin < terms.cutoffCellVoltage, value: vMin ?? null, worse: Math.min },
    "over-current": {
      holds: chargeC > terms.maxChargeC || dischargeC > terms.maxDischargeC,
      value: Math.max(chargeC, dischargeC),
      worse: Math.max,
    },
  };
}

function describe(kind: WarrantyExclusionKind, seconds: number, events: number, worst: number | null, terms: WarrantyTerms): string {
  const times = `${seconds} s over ${events} episode${events === 1 ? "" : "s"}`;
  switch (kind) {
    case "over-temperature":
      return `Above ${terms.maxTemperatureC} °C for ${times}; hottest ${worst} °C.`;
    case "charging-below-zero":
      return `Charged below ${terms.minChargeTemperatureC} °C for ${times}; coldest ${worst} °C.`;
    case "over-discharge":
      return `Discharged with a cell below ${terms.cutoffCellVoltage} V for ${times}; lowest ${worst} V.`;
    case "over-current":
      return `Current above ${terms.maxChargeC} C charging or ${terms.maxDischargeC} C discharging for ${times}; peak ${worst} C.`;
  }
}
