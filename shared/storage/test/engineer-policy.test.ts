import { CASE_TRANSITIONS, type CaseStatus, CaseStatus as CaseStatuses, CostLineInput, SparePartInput, type WarrantyAssessment } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { planAssign, planCostLine, planNote, planSparePart, planTransition } from "../src/case-policy";
import { CaseTransitionError, StoreInputError } from "../src/storage-errors";
import { aCase, evidence, META, T0 } from "./case-fixtures";

const at = T0 + 100;
const withWarranty = (suggestion: WarrantyAssessment["suggestion"] | null) =>
  aCase({
    warranty:
      suggestion === null
        ? null
        : { coverage: "unknown", warrantyStart: null, warrantyEnd: null, assessedAt: T0, historySince: null, exclusions: [], suggestion, reason: "" },
  });

describe("case policy: lifecycle", () => {
  const pairs = CaseStatuses.options.flatMap((from) => CaseStatuses.options.map((to) => ({ from, to, allowed: CASE_TRANSITIONS[from].includes(to) })));

  it.each(pairs)("$from → $to: allowed $allowed", ({ from, to, allowed }) => {
    const c = aCase({ status: from, acknowledgedAt: from === "open" ? null : T0 + 1, resolvedAt: from === "resolved" ? T0 + 2 : null });
    if (!allowed) {
      expect(() => planTransition(c, to, "eng", at)).toThrow(CaseTransitionError);
      return;
    }
    const plan = planTransition(c, to, "eng", at, "why");
    expect(plan.case.status).toBe(to);
    expect(plan.timeline).toEqual([{ caseId: c.id, at, actor: "eng", kind: "status", message: `${from} → ${to}: why`, status: to, severity: "major" }]);
  });

  const stamps: { to: CaseStatus; from: CaseStatus; expect: Record<string, number | null> }[] = [
    { from: "open", to: "acknowledged", expect: { acknowledgedAt: at, resolvedAt: null, closedAt: null } },
    { from: "remote-diagnosis", to: "resolved", expect: { acknowledgedAt: T0 + 1, resolvedAt: at, closedAt: null } },
    { from: "resolved", to: "closed", expect: { acknowledgedAt: T0 + 1, resolvedAt: T0 + 2, closedAt: at } },
    { from: "resolved", to: "remote-diagnosis", expect: { acknowledgedAt: T0 + 1, resolvedAt: null, closedAt: null } },
  ];
  it.each(stamps)("$from → $to stamps $expect", ({ from, to, expect: expected }) => {
    const c = aCase({ status: from, acknowledgedAt: from === "open" ? null : T0 + 1, resolvedAt: from === "resolved" ? T0 + 2 : null });
    expect(planTransition(c, to, "eng", at).changes).toMatchObject({ ...expected, updatedAt: at });
  });

  it("names the moves a case can make when one is refused", () => {
    expect(() => planTransition(aCase(), "closed", "eng", at)).toThrow(
      /case case-1 is open and cannot become closed: from open it can only become acknowledged/,
    );
    expect(() => planTransition(aCase({ status: "closed" }), "open", "eng", at)).toThrow(/closed case stays closed/);
  });

  it("assigns, unassigns and keeps notes, moving updatedAt forward only", () => {
    expect(planAssign(aCase(), "Ada", "lead", at).timeline[0]?.message).toBe("Assigned to Ada.");
    expect(planAssign(aCase({ assignee: "Ada" }), null, "lead", at)).toMatchObject({ case: { assignee: null }, timeline: [{ message: "Unassigned." }] });
    const late = planNote(aCase({ updatedAt: at + 50 }), "text", "Ada", at);
    expect(late.case.updatedAt).toBe(at + 50);
    expect(late.timeline[0]).toMatchObject({ kind: "note", actor: "Ada", message: "text", at });
  });
});

describe("case policy: cost lines", () => {
  const line = (over: Record<string, unknown> = {}) => CostLineInput.parse({ category: "labour", quantity: 1.5, unitPrice: 80, currency: "EUR", ...over });
  const bearers: { suggestion: WarrantyAssessment["suggestion"] | null; given?: "company" | "customer"; bearer: string | null }[] = [
    { suggestion: "free", bearer: "company" },
    { suggestion: "chargeable", bearer: "customer" },
    { suggestion: "review", bearer: null },
    { suggestion: null, bearer: null },
    { suggestion: "review", given: "customer", bearer: "customer" },
    { suggestion: "free", given: "customer", bearer: "customer" },
  ];
  it.each(bearers)("warranty $suggestion, bearer given $given: borne by $bearer", ({ suggestion, given, bearer }) => {
    const plan = () => planCostLine(withWarranty(suggestion), line(given ? { bearer: given } : {}), "Ada", at, "line-1");
    if (bearer === null) expect(plan).toThrow(StoreInputError);
    else expect(plan().case.costLines[0]?.bearer).toBe(bearer);
  });

  it("rounds amounts to cents and totals them per currency and bearer", () => {
    let c = withWarranty("free");
    for (const [i, over] of [
      { quantity: 3, unitPrice: 0.1 },
      { quantity: 1, unitPrice: 19.999 },
      { quantity: 2, unitPrice: 5, bearer: "customer" },
      { quantity: 1, unitPrice: 7, currency: "CHF" },
    ].entries()) {
      c = planCostLine(c, line(over), "Ada", at + i, `line-${i}`).case;
    }
    expect(c.costLines.map((l) => l.amount)).toEqual([0.3, 20, 10, 7]);
    expect(c.costTotals).toEqual([
      { currency: "EUR", company: 20.3, customer: 10 },
      { currency: "CHF", company: 7, customer: 0 },
    ]);
  });

  it("says what it added in the timeline", () => {
    const plan = planCostLine(withWarranty("free"), line({ description: "remote session" }), "Ada", at, "line-1");
    expect(plan.timeline[0]).toMatchObject({
      kind: "cost-line",
      actor: "Ada",
      message: "labour: 1.5 × 80.00 EUR = 120.00 EUR, borne by the company (remote session)",
    });
    expect(plan.changes.costLines).toEqual(plan.case.costLines);
  });
});

describe("case policy: spare parts", () => {
  const meta = META;
  const part = (over: Record<string, unknown> = {}) => SparePartInput.parse({ part: "BMS-MAIN", quantity: 1, ...over });
  const rows: { name: string; meta: typeof meta | null; given?: string; version: string | null }[] = [
    { name: "defaults to the pack's BMS firmware", meta, version: "2.1.0" },
    { name: "a given version wins", meta, given: "3.0.0", version: "3.0.0" },
    { name: "no meta, version given", meta: null, given: "3.0.0", version: "3.0.0" },
    { name: "no meta, no version: refused", meta: null, version: null },
  ];
  it.each(rows)("$name", ({ meta: m, given, version }) => {
    const c = aCase({ evidence: evidence("x", { meta: m }) });
    const plan = () => planSparePart(c, part(given ? { bmsVersion: given } : {}), "Ada", at, "part-1");
    if (version === null) expect(plan).toThrow(/bmsVersion/);
    else expect(plan()).toMatchObject({ case: { spareParts: [{ id: "part-1", bmsVersion: version, addedBy: "Ada", addedAt: at }] } });
  });
});
