import type { CaseEvidence, PackMeta, PackSample, SupportCase, WarrantyAssessment } from "@bms/shared";
import type { FiringInput } from "../src/case-store";

// Cases, firings and their evidence for the case-policy unit tests and the store conformance suites.

export const T0 = 1_750_000_000_000;
export const DAY = 86_400_000;

export function sample(ts = T0): PackSample {
  return { v: 1, ts, seq: 7, packVoltage: 52.1, current: -12.5, soc: 81, cellVoltages: [3.25, 3.26, 3.71], cellTemperatures: [24.5, 25] };
}

export const META: PackMeta = {
  v: 1,
  ts: T0,
  manufacturer: "Acme",
  model: "LFP-48",
  serial: "SN-1",
  bmsFirmware: "2.1.0",
  chemistry: "LFP",
  cellCount: 3,
  ratedCapacity: 100,
  warrantyStart: "2024-01-01",
  warrantyEnd: "2034-01-01",
};

export function evidence(detail = "cell 3 at 3.71 V is above 3.65 V", over: Partial<CaseEvidence> = {}): CaseEvidence {
  return {
    sample: sample(),
    value: 3.71,
    threshold: 3.65,
    index: 2,
    detail,
    meta: META,
    bmsAlarms: [],
    rulesFired: [{ ruleId: "cell-over-voltage", severity: "major", at: T0, detail, role: "case" }],
    ...over,
  };
}

export function warranty(suggestion: WarrantyAssessment["suggestion"], assessedAt = T0): WarrantyAssessment {
  return {
    coverage: suggestion === "review" ? "unknown" : "in-warranty",
    warrantyStart: "2024-01-01",
    warrantyEnd: "2034-01-01",
    assessedAt,
    historySince: T0 - DAY,
    exclusions: [],
    suggestion,
    reason: "test",
  };
}

let keys = 0;
export function firing(over: Partial<FiringInput> = {}): FiringInput {
  keys++;
  return {
    siteId: "site-1",
    packId: "pack-1",
    ruleId: "cell-over-voltage",
    severity: "major",
    title: "Cell over-voltage",
    at: T0,
    firingKey: `key-${keys}`,
    escalation: false,
    evidence: evidence(),
    warranty: warranty("free"),
    attachTo: [],
    reopenWithinMs: 30 * DAY,
    ...over,
  };
}

/** A case as a store would hand it to the policy. */
export function aCase(over: Partial<SupportCase> = {}): SupportCase {
  return {
    id: "case-1",
    siteId: "site-1",
    packId: "pack-1",
    ruleId: "cell-over-voltage",
    severity: "major",
    status: "open",
    title: "Cell over-voltage",
    openedAt: T0,
    updatedAt: T0,
    clearedAt: null,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    assignee: null,
    occurrences: 1,
    lastOccurrenceAt: T0,
    reopenedCount: 0,
    evidence: evidence(),
    warranty: null,
    costLines: [],
    costTotals: [],
    spareParts: [],
    ...over,
  };
}

/** A later firing of the case's rule, as the policy tests start from. */
export function aFiring(over: Partial<FiringInput> = {}): FiringInput {
  return firing({ at: T0 + 1000, firingKey: "key-1", evidence: evidence("again"), warranty: null, ...over });
}
