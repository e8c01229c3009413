import type { BmsCounterName, BmsHistoryEvidence, WarrantyAssessment, WarrantyExclusion, WarrantyExclusionKind } from "@bms/shared";

/**
 * The warranty assessment with what the BMS itself recorded (remote diagnosis, read-event-log):
 * excluded conditions the telemetry could not have shown become `bms-log` exclusions, and an
 * in-warranty repair that looked free becomes chargeable. Two kinds of evidence count:
 * - events the BMS logged before the ingestion had the pack's history (`historySince`);
 * - a counter that rose between the case's previous read and this one while the telemetry showed
 *   no episode of that condition after the previous read (the site was offline, or the samples
 *   missed it).
 * A protection trip is beyond the BMS's own limits, so it is beyond the warranty's tolerance.
 */

/** BMS event codes → the excluded condition they prove. */
const CONDITION_OF_EVENT: Readonly<Record<string, WarrantyExclusionKind>> = {
  OVER_TEMP_ALARM: "over-temperature",
  UNDER_VOLT_ALARM: "over-discharge",
  OVER_CHARGE_CURRENT_ALARM: "over-current",
  OVER_DISCHARGE_CURRENT_ALARM: "over-current",
  SHORT_CIRCUIT: "over-current",
};

/** BMS counters → the excluded condition they count. */
const CONDITION_OF_COUNTER: Partial<Record<BmsCounterName, WarrantyExclusionKind>> = {
  overTemperature: "over-temperature",
  underVoltage: "over-discharge",
  overCurrent: "over-current",
  shortCircuit: "over-current",
};

interface Found {
  events: number;
  worst: number | null;
  firstAt: number | null;
  lastAt: number | null;
  why: string[];
}

const worseOf = (kind: WarrantyExclusionKind, a: number | null, b: number | null) =>
  a === null ? b : b === null ? a : kind === "over-discharge" ? Math.min(a, b) : Math.max(a, b);

export function withBmsLog(w: WarrantyAssessment, history: BmsHistoryEvidence): WarrantyAssessment {
  const found = new Map<WarrantyExclusionKind, Found>();
  const entry = (kind: WarrantyExclusionKind) => {
    let f = found.get(kind);
    if (!f) {
      f = { events: 0, worst: null, firstAt: null, lastAt: null, why: [] };
      found.set(kind, f);
    }
    return f;
  };
  if (w.historySince !== null) {
    for (const e of history.events) {
      const kind = CONDITION_OF_EVENT[e.code];
      if (!kind || e.at === null || e.at >= w.historySince) continue;
      const f = entry(kind);
      f.events += 1;
      f.worst = worseOf(kind, f.worst, e.value);
      f.firstAt = f.firstAt === null ? e.at : Math.min(f.firstAt, e.at);
      f.lastAt = f.lastAt === null ? e.at : Math.max(f.lastAt, e.at);
    }
    for (const [kind, f] of found) f.why.push(`${f.events} ${kind} event(s) in the BMS log before monitoring began`);
  }
  const previous = history.previous;
  if (previous) {
    for (const [name, kind] of Object.entries(CONDITION_OF_COUNTER) as [BmsCounterName, WarrantyExclusionKind][]) {
      const rise = (history.counters[name] ?? 0) - (previous.counters[name] ?? 0);
      if (rise <= 0) continue;
      const seen = w.exclusions.find((x) => x.condition === kind && (x.source ?? "telemetry") === "telemetry");
      if (seen?.lastAt != null && seen.lastAt >= previous.readAt) continue; // the telemetry showed it
      const f = entry(kind);
      f.events += rise;
      f.why.push(
        `the BMS counted ${rise} more ${name} trip(s) between ${new Date(previous.readAt).toISOString()} and ${new Date(history.readAt).toISOString()}, which the telemetry never showed`,
      );
    }
  }
  if (found.size === 0) return w;
  const logged: WarrantyExclusion[] = [...found].map(([condition, f]) => ({
    condition,
    source: "bms-log",
    seconds: 0,
    events: f.events,
    worst: f.worst,
    firstAt: f.firstAt,
    lastAt: f.lastAt,
    exceedsTolerance: true,
    detail: `${f.why.join("; ")} (read by command ${history.commandId})`,
  }));
  const exclusions = [...w.exclusions.filter((x) => x.source !== "bms-log"), ...logged];
  if (w.coverage !== "in-warranty") return { ...w, exclusions };
  const conditions = [...new Set(exclusions.filter((x) => x.exceedsTolerance).map((x) => x.condition))];
  return {
    ...w,
    exclusions,
    suggestion: "chargeable",
    reason: `In warranty, but the BMS's own log shows conditions the warranty excludes: ${conditions.join(", ")}.`,
  };
}
