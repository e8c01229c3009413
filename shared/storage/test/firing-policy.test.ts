import type { CaseEvidence, RuleFiring, SupportCase, WarrantyAssessment } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { type FiringFacts, firingReads, MAX_RULES_FIRED, mergeEvidence, planFiring } from "../src/case-policy";
import type { FiringInput, FiringOutcome } from "../src/case-store";
import { aCase, aFiring, DAY, evidence, T0 } from "./case-fixtures";

const none: FiringFacts = { recorded: null, current: null, hosts: [], lastClosed: null };
const newId = () => "new-case";
const warranty = (suggestion: WarrantyAssessment["suggestion"]): WarrantyAssessment => ({
  coverage: "in-warranty",
  warrantyStart: null,
  warrantyEnd: null,
  assessedAt: T0,
  historySince: null,
  exclusions: [],
  suggestion,
  reason: suggestion,
});

interface Row {
  name: string;
  facts: Partial<FiringFacts>;
  input?: Partial<FiringInput>;
  outcome: FiringOutcome;
  caseId: string;
  raised?: boolean;
  /** Fields of the case after the firing. */
  after?: Partial<SupportCase>;
  timeline: string[];
  frame?: boolean;
}

const resolved = aCase({ status: "resolved", acknowledgedAt: T0 + 10, resolvedAt: T0 + 20, updatedAt: T0 + 20 });
const closed = (closedAt: number) => aCase({ id: "closed-1", status: "closed", resolvedAt: closedAt - 1, closedAt, updatedAt: closedAt });
const host = (ruleId: string, over: Partial<SupportCase> = {}) => aCase({ id: `host-${ruleId}`, ruleId, severity: "minor", ...over });
const before = [{ v: 1 as const, ts: T0 + 1000, seq: 1, packVoltage: 52, current: 0, soc: 50, cellVoltages: [3.3], cellTemperatures: [25] }];

const rows: Row[] = [
  { name: "nothing there: opens", facts: {}, outcome: "opened", caseId: "new-case", after: { occurrences: 1, openedAt: T0 + 1000 }, timeline: ["opened"] },
  {
    name: "opens with a freeze frame",
    facts: {},
    input: { freezeFrameBefore: before },
    outcome: "opened",
    caseId: "new-case",
    timeline: ["opened"],
    frame: true,
  },
  { name: "a key recorded before: duplicate", facts: { recorded: aCase(), current: aCase() }, outcome: "duplicate", caseId: "case-1", timeline: [] },
  {
    name: "current case: an occurrence that un-clears it",
    facts: { current: aCase({ clearedAt: T0 + 500 }) },
    outcome: "occurrence",
    caseId: "case-1",
    raised: false,
    after: { occurrences: 2, lastOccurrenceAt: T0 + 1000, updatedAt: T0 + 1000, clearedAt: null, severity: "major" },
    timeline: ["occurrence"],
  },
  {
    name: "worse level, not an escalation: occurrence and escalated",
    facts: { current: aCase({ severity: "minor" }) },
    input: { severity: "critical" },
    outcome: "occurrence",
    caseId: "case-1",
    raised: true,
    after: { severity: "critical", occurrences: 2 },
    timeline: ["occurrence", "escalated"],
  },
  {
    name: "escalation: severity rises, no occurrence, stays cleared",
    facts: { current: aCase({ severity: "warning", clearedAt: T0 + 5 }) },
    input: { severity: "major", escalation: true },
    outcome: "escalated",
    caseId: "case-1",
    raised: true,
    after: { severity: "major", occurrences: 1, clearedAt: T0 + 5 },
    timeline: ["escalated"],
  },
  {
    name: "milder firing never lowers the severity",
    facts: { current: aCase({ severity: "critical" }) },
    input: { severity: "warning" },
    outcome: "occurrence",
    caseId: "case-1",
    raised: false,
    after: { severity: "critical" },
    timeline: ["occurrence"],
  },
  {
    name: "a late firing does not move updatedAt or lastOccurrenceAt back",
    facts: { current: aCase({ updatedAt: T0 + 5000, lastOccurrenceAt: T0 + 5000 }) },
    input: { at: T0 + 1000 },
    outcome: "occurrence",
    caseId: "case-1",
    after: { updatedAt: T0 + 5000, lastOccurrenceAt: T0 + 5000 },
    timeline: ["occurrence"],
  },
  {
    name: "resolved case: reopens with a new freeze frame",
    facts: { current: resolved },
    input: { freezeFrameBefore: before, severity: "critical" },
    outcome: "reopened",
    caseId: "case-1",
    raised: true,
    after: { status: "open", reopenedCount: 1, occurrences: 2, acknowledgedAt: null, resolvedAt: null, closedAt: null, severity: "critical" },
    timeline: ["reopened"],
    frame: true,
  },
  {
    name: "resolved case but an explaining rule's case is open: attached there",
    facts: { current: resolved, hosts: [host("insulation-fault")] },
    input: { attachTo: ["insulation-fault"] },
    outcome: "attached",
    caseId: "host-insulation-fault",
    raised: false,
    after: { severity: "minor", occurrences: 1 },
    timeline: ["related"],
  },
  {
    name: "the first explaining rule in attachTo order wins",
    facts: { hosts: [host("b-rule"), host("a-rule")] },
    input: { attachTo: ["a-rule", "b-rule"] },
    outcome: "attached",
    caseId: "host-a-rule",
    timeline: ["related"],
  },
  {
    name: "an explaining rule's resolved case takes nothing",
    facts: { hosts: [host("a-rule", { status: "resolved" })] },
    input: { attachTo: ["a-rule"] },
    outcome: "opened",
    caseId: "new-case",
    timeline: ["opened"],
  },
  {
    name: "an explaining case on another pack takes nothing",
    facts: { hosts: [host("a-rule", { packId: "pack-2" })] },
    input: { attachTo: ["a-rule"] },
    outcome: "opened",
    caseId: "new-case",
    timeline: ["opened"],
  },
  {
    name: "closed within the reopen period: reopens",
    facts: { lastClosed: closed(T0 - 29 * DAY) },
    outcome: "reopened",
    caseId: "closed-1",
    after: { status: "open", closedAt: null, reopenedCount: 1 },
    timeline: ["reopened"],
  },
  {
    name: "closed exactly reopenWithinMs before: reopens",
    facts: { lastClosed: closed(T0 + 1000 - 30 * DAY) },
    outcome: "reopened",
    caseId: "closed-1",
    timeline: ["reopened"],
  },
  {
    name: "closed longer ago: a new case",
    facts: { lastClosed: closed(T0 + 999 - 30 * DAY) },
    outcome: "opened",
    caseId: "new-case",
    timeline: ["opened"],
  },
  {
    name: "reopenWithinMs 0 reopens only a case closed at that very ms",
    facts: { lastClosed: closed(T0 + 999) },
    input: { reopenWithinMs: 0 },
    outcome: "opened",
    caseId: "new-case",
    timeline: ["opened"],
  },
];

describe("case policy: planFiring", () => {
  it.each(rows)("$name", (row) => {
    const plan = planFiring(aFiring(row.input), { ...none, ...row.facts }, newId);
    expect(plan.outcome).toBe(row.outcome);
    expect(plan.case.id).toBe(row.caseId);
    if (row.raised !== undefined) expect(plan.severityRaised).toBe(row.raised);
    if (row.after) expect(plan.case).toMatchObject(row.after);
    expect(plan.write?.timeline.map((e) => e.kind) ?? []).toEqual(row.timeline);
    expect(plan.freezeFrame !== null).toBe(row.frame === true);
    if (plan.write) {
      // Every timeline entry carries the case's status and severity after the change.
      for (const e of plan.write.timeline)
        expect(e).toMatchObject({ caseId: plan.case.id, actor: "rules", status: plan.case.status, severity: plan.case.severity });
      expect(plan.write.insert).toBe(row.outcome === "opened");
    } else {
      expect(row.outcome).toBe("duplicate");
    }
  });

  it("an update changes only what it lists, and the listed values are the case's after it", () => {
    const plan = planFiring(aFiring(), { ...none, current: aCase() }, newId);
    const changes = plan.write?.changes ?? {};
    expect(Object.keys(changes).sort()).toEqual(["clearedAt", "evidence", "lastOccurrenceAt", "occurrences", "severity", "updatedAt", "warranty"]);
    for (const [field, value] of Object.entries(changes)) expect(plan.case[field as keyof SupportCase]).toEqual(value);
  });

  it("keeps the warranty when the firing has none, and takes a new one", () => {
    const old = aCase({ warranty: warranty("free") });
    expect(planFiring(aFiring({ warranty: null }), { ...none, current: old }, newId).case.warranty?.suggestion).toBe("free");
    expect(planFiring(aFiring({ warranty: warranty("chargeable") }), { ...none, current: old }, newId).case.warranty?.suggestion).toBe("chargeable");
    // An escalation is the same episode: the assessment stays.
    expect(planFiring(aFiring({ escalation: true, warranty: warranty("chargeable") }), { ...none, current: old }, newId).case.warranty?.suggestion).toBe(
      "free",
    );
  });

  it("says what to read: nothing more when the current case takes the firing", () => {
    const input = aFiring({ attachTo: ["a-rule"] });
    expect(firingReads(input, aCase())).toEqual({ hosts: [], lastClosed: false });
    expect(firingReads(input, aCase({ status: "on-site-visit" }))).toEqual({ hosts: [], lastClosed: false });
    expect(firingReads(input, resolved)).toEqual({ hosts: ["a-rule"], lastClosed: false });
    expect(firingReads(input, null)).toEqual({ hosts: ["a-rule"], lastClosed: true });
  });

  it("messages say what happened, with the firing's detail", () => {
    const messages = (input: Partial<FiringInput>, facts: Partial<FiringFacts>) =>
      planFiring(aFiring(input), { ...none, ...facts }, newId).write?.timeline.map((e) => e.message);
    expect(messages({}, {})).toEqual(["Opened (major): again"]);
    expect(messages({ severity: "critical" }, { current: aCase() })).toEqual(["Fired again (critical): again", "Escalated to critical."]);
    expect(messages({ escalation: true, severity: "critical" }, { current: aCase() })).toEqual(["Reached critical: again"]);
    expect(messages({}, { current: resolved })).toEqual(["Reopened: the fault returned after the case was resolved (major): again"]);
    expect(messages({ ruleId: "bms-alarm", title: "BMS alarm", attachTo: ["a-rule"] }, { hosts: [host("a-rule")] })).toEqual([
      "BMS alarm (bms-alarm, major) fired, explained by this case: again",
    ]);
  });
});

describe("case policy: mergeEvidence", () => {
  const firing = (i: number, role: RuleFiring["role"] = "case"): RuleFiring => ({ ruleId: "r", severity: "minor", at: T0 + i, detail: `#${i}`, role });
  const cases: { name: string; existing: Partial<CaseEvidence>; incoming: Partial<CaseEvidence>; role: RuleFiring["role"]; expect: Partial<CaseEvidence> }[] = [
    {
      name: "adds the firing's own entries with the given role, not its context",
      existing: { rulesFired: [firing(0)] },
      incoming: { rulesFired: [firing(1, "context"), firing(2)] },
      role: "related",
      expect: { rulesFired: [firing(0), firing(2, "related")] },
    },
    {
      name: "merges BMS codes once each, first seen first",
      existing: { bmsAlarms: ["OVER_VOLT_ALARM"] },
      incoming: { bmsAlarms: ["OVER_TEMP_ALARM", "OVER_VOLT_ALARM"] },
      role: "case",
      expect: { bmsAlarms: ["OVER_VOLT_ALARM", "OVER_TEMP_ALARM"] },
    },
    {
      name: "keeps the first trigger, value and detail",
      existing: { detail: "first", value: 1 },
      incoming: { detail: "later", value: 2 },
      role: "case",
      expect: { detail: "first", value: 1 },
    },
  ];
  it.each(cases)("$name", ({ existing, incoming, role, expect: expected }) => {
    expect(mergeEvidence(evidence("x", existing), evidence("y", incoming), role)).toMatchObject(expected);
  });

  it(`keeps the newest ${MAX_RULES_FIRED} rules fired`, () => {
    const existing = evidence("x", { rulesFired: Array.from({ length: MAX_RULES_FIRED }, (_, i) => firing(i)) });
    const merged = mergeEvidence(existing, evidence("y", { rulesFired: [firing(999)] }), "case");
    expect(merged.rulesFired).toHaveLength(MAX_RULES_FIRED);
    expect(merged.rulesFired[0]?.detail).toBe("#1");
    expect(merged.rulesFired.at(-1)?.detail).toBe("#999");
  });
});
