import { SupportCase } from "@bms/shared";
import { beforeEach, describe, expect, it } from "vitest";
import type { CaseStore, FiringInput } from "../src/case-store";
import { CaseTransitionError, StoreInputError } from "../src/storage-errors";
import { DAY, evidence, firing, sample, T0, warranty } from "./case-fixtures";
import { HOSTILE_STRINGS, ONE_MB } from "./hostile-strings";
import { storeBed } from "./store-bed";

/** Walks a case to `resolved` the way an engineer must. */
async function resolve(store: CaseStore, id: string, at = T0 + 10): Promise<void> {
  await store.transition(id, "acknowledged", "eng", at);
  await store.transition(id, "resolved", "eng", at + 1);
}

/** The behaviour every CaseStore implementation must have; call it from the implementation's test file. */
export function describeCaseStore(name: string, open: (file: string) => CaseStore | Promise<CaseStore>): void {
  describe(`CaseStore conformance: ${name}`, () => {
    const openStore = storeBed("bms-cases-", ["data", "cases.db"], open);
    let store: CaseStore;

    beforeEach(async () => {
      store = await openStore();
    });

    describe("rule firings", () => {
      it("opens a case with a short URL-safe id, returns it whole and records who and when", async () => {
        const result = await store.recordFiring(firing({ freezeFrameBefore: [sample(T0 - 1000), sample(T0)] }));
        expect(result.outcome).toBe("opened");
        const c = result.case;
        expect(c.id).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
        expect(SupportCase.parse(c)).toEqual(c);
        expect(c).toMatchObject({
          siteId: "site-1",
          packId: "pack-1",
          ruleId: "cell-over-voltage",
          severity: "major",
          status: "open",
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
          costLines: [],
          spareParts: [],
        });
        expect(c.evidence).toEqual(evidence());
        expect(c.warranty?.suggestion).toBe("free");
        expect(c.timeline).toBeUndefined();
        const full = await store.get(c.id, { details: true });
        expect(full?.timeline).toEqual([expect.objectContaining({ kind: "opened", actor: "rules", at: T0, status: "open", severity: "major" })]);
        expect(full?.freezeFrames).toEqual([
          { triggerTs: T0, ruleId: "cell-over-voltage", before: [sample(T0 - 1000), sample(T0)], after: [], complete: false },
        ]);
        expect(await store.get(c.id)).toEqual(c);
      });

      it("records the same firing key once (a replayed episode after a crash)", async () => {
        const input = firing();
        const first = await store.recordFiring(input);
        const again = await store.recordFiring({ ...input, at: T0 + 5 });
        expect(again.outcome).toBe("duplicate");
        expect(again.case).toEqual(first.case);
        expect(await store.list()).toHaveLength(1);
        expect((await store.get(first.case.id, { details: true }))?.timeline).toHaveLength(1);
      });

      it("counts a new episode on the current case, keeps the first evidence and merges BMS codes and rules fired", async () => {
        const first = await store.recordFiring(firing());
        await store.markCleared("site-1", "pack-1", "cell-over-voltage", T0 + 500);
        const later = evidence("later", { bmsAlarms: ["OVER_VOLT_ALARM"] });
        const again = await store.recordFiring(firing({ at: T0 + 1000, evidence: later }));
        expect(again.outcome).toBe("occurrence");
        expect(again.severityRaised).toBe(false);
        expect(again.case).toMatchObject({
          id: first.case.id,
          occurrences: 2,
          lastOccurrenceAt: T0 + 1000,
          updatedAt: T0 + 1000,
          openedAt: T0,
          clearedAt: null,
        });
        expect(again.case.evidence.detail).toBe(evidence().detail);
        expect(again.case.evidence.bmsAlarms).toEqual(["OVER_VOLT_ALARM"]);
        expect(again.case.evidence.rulesFired.map((f) => f.detail)).toEqual([evidence().detail, "later"]);
        expect(await store.list()).toHaveLength(1);
      });

      it("escalates: a worse level of the same episode raises the severity without counting an occurrence", async () => {
        const first = await store.recordFiring(firing({ severity: "warning" }));
        const worse = await store.recordFiring(firing({ severity: "major", escalation: true, at: T0 + 3000 }));
        expect(worse).toMatchObject({ outcome: "escalated", severityRaised: true });
        expect(worse.case).toMatchObject({ id: first.case.id, severity: "major", occurrences: 1 });
        // A milder firing never lowers it.
        const milder = await store.recordFiring(firing({ severity: "warning", at: T0 + 4000 }));
        expect(milder).toMatchObject({ outcome: "occurrence", severityRaised: false });
        expect(milder.case.severity).toBe("major");
        const kinds = (await store.get(first.case.id, { details: true }))?.timeline?.map((e) => e.kind);
        expect(kinds).toEqual(["opened", "escalated", "occurrence"]);
      });

      it("keeps one current case per (site, pack, rule), distinct otherwise", async () => {
        const made = [
          await store.recordFiring(firing()),
          await store.recordFiring(firing({ ruleId: "cell-under-voltage" })),
          await store.recordFiring(firing({ packId: "pack-2" })),
          await store.recordFiring(firing({ siteId: "site-2" })),
        ];
        expect(new Set(made.map((r) => r.case.id)).size).toBe(4);
        expect(made.every((r) => r.outcome === "opened")).toBe(true);
      });

      it("makes one case from concurrent calls, also through two connections to one file", async () => {
        const other = await openStore();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).recordFiring(firing({ at: T0 + i }))));
        expect(results.filter((r) => r.outcome === "opened")).toHaveLength(1);
        expect(new Set(results.map((r) => r.case.id)).size).toBe(1);
        const [only] = await store.list();
        expect(only?.occurrences).toBe(20);
        expect(only?.lastOccurrenceAt).toBe(T0 + 19);
      });

      it("records a firing on the current case of a rule that explains it, as evidence that keeps its severity", async () => {
        const host = await store.recordFiring(firing({ ruleId: "thermal-runaway-precursor", severity: "major" }));
        const related = await store.recordFiring(
          firing({
            ruleId: "over-temperature",
            severity: "critical",
            title: "Over-temperature",
            evidence: evidence("sensor 6 at 56 °C", {
              bmsAlarms: ["OVER_TEMP_ALARM"],
              rulesFired: [{ ruleId: "over-temperature", severity: "critical", at: T0, detail: "sensor 6 at 56 °C", role: "case" }],
            }),
            attachTo: ["sensor-fault", "thermal-runaway-precursor"],
          }),
        );
        expect(related).toMatchObject({ outcome: "attached", severityRaised: false });
        expect(related.case).toMatchObject({ id: host.case.id, severity: "major", occurrences: 1 });
        expect(related.case.evidence.bmsAlarms).toEqual(["OVER_TEMP_ALARM"]);
        expect(related.case.evidence.rulesFired.at(-1)).toMatchObject({ ruleId: "over-temperature", role: "related" });
        expect(await store.list({ ruleId: "over-temperature" })).toEqual([]);
        const timeline = (await store.get(host.case.id, { details: true }))?.timeline ?? [];
        expect(timeline.map((e) => e.kind)).toEqual(["opened", "related"]);
        expect(timeline[1]?.message).toContain("over-temperature");
      });

      it("opens its own case when the explaining rule has none, or only a resolved one", async () => {
        const alone = await store.recordFiring(firing({ ruleId: "bms-alarm", attachTo: ["cell-over-voltage"] }));
        expect(alone.outcome).toBe("opened");
        const host = await store.recordFiring(firing({ ruleId: "insulation-fault" }));
        await resolve(store, host.case.id);
        const notAttached = await store.recordFiring(firing({ ruleId: "bms-alarm-2", attachTo: ["insulation-fault"] }));
        expect(notAttached.outcome).toBe("opened");
      });

      it("reopens a resolved case when its fault returns, and a closed one within the reopen period", async () => {
        const first = await store.recordFiring(firing({ freezeFrameBefore: [sample(T0)] }));
        await resolve(store, first.case.id);
        const back = await store.recordFiring(firing({ at: T0 + 1000, freezeFrameBefore: [sample(T0 + 1000)] }));
        expect(back.outcome).toBe("reopened");
        expect(back.case).toMatchObject({ id: first.case.id, status: "open", reopenedCount: 1, occurrences: 2, acknowledgedAt: null, resolvedAt: null });
        expect((await store.get(first.case.id, { details: true }))?.freezeFrames).toHaveLength(2);

        await resolve(store, first.case.id, T0 + 2000);
        await store.transition(first.case.id, "closed", "eng", T0 + 3000);
        const within = await store.recordFiring(firing({ at: T0 + 3000 + 29 * DAY }));
        expect(within.outcome).toBe("reopened");
        expect(within.case).toMatchObject({ id: first.case.id, status: "open", reopenedCount: 2, closedAt: null });

        await resolve(store, first.case.id, T0 + 30 * DAY);
        await store.transition(first.case.id, "closed", "eng", T0 + 30 * DAY + 5);
        const after = await store.recordFiring(firing({ at: T0 + 61 * DAY }));
        expect(after.outcome).toBe("opened");
        expect(after.case.id).not.toBe(first.case.id);
        expect((await store.get(first.case.id))?.status).toBe("closed");
      });

      it("marks the current case cleared once, and a new occurrence un-clears it", async () => {
        expect(await store.markCleared("site-1", "pack-1", "cell-over-voltage", T0)).toBeNull();
        const { case: c } = await store.recordFiring(firing());
        const cleared = await store.markCleared("site-1", "pack-1", "cell-over-voltage", T0 + 5);
        expect(cleared).toMatchObject({ id: c.id, clearedAt: T0 + 5, status: "open" });
        expect(await store.markCleared("site-1", "pack-1", "cell-over-voltage", T0 + 6)).toBeNull();
        const back = await store.recordFiring(firing({ at: T0 + 7 }));
        expect(back.case).toMatchObject({ id: c.id, clearedAt: null, occurrences: 2 });
      });

      it("collects a freeze frame's after-window and lists the ones still open", async () => {
        const input = firing({ freezeFrameBefore: [sample(T0)] });
        const { case: c } = await store.recordFiring(input);
        expect(await store.openFreezeFrames()).toEqual([
          { caseId: c.id, siteId: "site-1", packId: "pack-1", triggerTs: T0, after: 0, firingKey: input.firingKey },
        ]);
        await store.appendFreezeFrame(c.id, T0, [sample(T0 + 1000)], false);
        expect((await store.openFreezeFrames())[0]?.after).toBe(1);
        await store.appendFreezeFrame(c.id, T0, [sample(T0 + 2000)], true);
        expect(await store.openFreezeFrames()).toEqual([]);
        const frame = (await store.get(c.id, { details: true }))?.freezeFrames?.[0];
        expect(frame?.after.map((s) => s.ts)).toEqual([T0 + 1000, T0 + 2000]);
        expect(frame?.complete).toBe(true);
        // Unknown case or trigger: nothing happens.
        await store.appendFreezeFrame("nope", T0, [sample()], true);
      });
    });

    describe("engineers' changes", () => {
      it("walks the whole after-sales process, recording who and when", async () => {
        const { case: c } = await store.recordFiring(firing());
        const steps = ["acknowledged", "remote-diagnosis", "on-site-visit", "resolved", "closed"] as const;
        for (const [i, to] of steps.entries()) {
          const moved = await store.transition(c.id, to, `eng-${i}`, T0 + 100 * (i + 1), `step ${i}`);
          expect(moved?.status).toBe(to);
        }
        const done = await store.get(c.id, { details: true });
        expect(done).toMatchObject({ acknowledgedAt: T0 + 100, resolvedAt: T0 + 400, closedAt: T0 + 500, updatedAt: T0 + 500 });
        const moves = done?.timeline?.filter((e) => e.kind === "status") ?? [];
        expect(moves.map((e) => [e.actor, e.at, e.message])).toEqual([
          ["eng-0", T0 + 100, "open → acknowledged: step 0"],
          ["eng-1", T0 + 200, "acknowledged → remote-diagnosis: step 1"],
          ["eng-2", T0 + 300, "remote-diagnosis → on-site-visit: step 2"],
          ["eng-3", T0 + 400, "on-site-visit → resolved: step 3"],
          ["eng-4", T0 + 500, "resolved → closed: step 4"],
        ]);
      });

      it("refuses moves the process does not allow, naming the ones it does", async () => {
        const { case: c } = await store.recordFiring(firing());
        await expect(store.transition(c.id, "closed", "eng", T0 + 1)).rejects.toThrow(CaseTransitionError);
        await expect(store.transition(c.id, "closed", "eng", T0 + 1)).rejects.toThrow(
          /is open and cannot become closed: from open it can only become acknowledged/,
        );
        await expect(store.transition(c.id, "open", "eng", T0 + 1)).rejects.toThrow(CaseTransitionError);
        await store.transition(c.id, "acknowledged", "eng", T0 + 1);
        await expect(store.transition(c.id, "acknowledged", "eng", T0 + 2)).rejects.toThrow(/cannot become acknowledged/);
        await expect(store.transition(c.id, "bogus" as "open", "eng", T0 + 2)).rejects.toThrow(StoreInputError);
        await store.transition(c.id, "resolved", "eng", T0 + 3);
        await store.transition(c.id, "closed", "eng", T0 + 5);
        await expect(store.transition(c.id, "remote-diagnosis", "eng", T0 + 6)).rejects.toThrow(/closed case stays closed/);
        expect((await store.get(c.id))?.status).toBe("closed");
      });

      it("a fix that did not hold goes back to remote diagnosis", async () => {
        const { case: c } = await store.recordFiring(firing());
        await resolve(store, c.id);
        const back = await store.transition(c.id, "remote-diagnosis", "eng", T0 + 50);
        expect(back).toMatchObject({ status: "remote-diagnosis", resolvedAt: null });
      });

      it("assigns, unassigns and keeps notes", async () => {
        const { case: c } = await store.recordFiring(firing());
        expect((await store.assign(c.id, "Ada", "lead", T0 + 1))?.assignee).toBe("Ada");
        expect((await store.assign(c.id, null, "lead", T0 + 2))?.assignee).toBeNull();
        await store.addNote(c.id, "Customer says the inverter was replaced last week.", "Ada", T0 + 3);
        await expect(store.addNote(c.id, "", "Ada", T0 + 4)).rejects.toThrow(StoreInputError);
        const timeline = (await store.get(c.id, { details: true }))?.timeline ?? [];
        expect(timeline.slice(1).map((e) => [e.kind, e.actor, e.message])).toEqual([
          ["assigned", "lead", "Assigned to Ada."],
          ["assigned", "lead", "Unassigned."],
          ["note", "Ada", "Customer says the inverter was replaced last week."],
        ]);
        expect((await store.list({ assignee: "Ada" })).length).toBe(0);
        await store.assign(c.id, "Ada", "lead", T0 + 5);
        expect((await store.list({ assignee: "Ada" })).map((x) => x.id)).toEqual([c.id]);
      });

      it("adds cost lines with the warranty's bearer by default and totals them per bearer and currency", async () => {
        const { case: c } = await store.recordFiring(firing());
        await store.addCostLine(c.id, { category: "labour", description: "remote session", quantity: 1.5, unitPrice: 80, currency: "EUR" }, "Ada", T0 + 1);
        await store.addCostLine(
          c.id,
          { category: "freight", description: "", quantity: 1, unitPrice: 35.5, currency: "EUR", bearer: "customer" },
          "Ada",
          T0 + 2,
        );
        const withParts = await store.addCostLine(
          c.id,
          { category: "spare-parts", description: "BMS board", quantity: 1, unitPrice: 420, currency: "CHF" },
          "Ada",
          T0 + 3,
        );
        expect(withParts?.costLines.map((l) => [l.category, l.amount, l.bearer, l.addedBy])).toEqual([
          ["labour", 120, "company", "Ada"],
          ["freight", 35.5, "customer", "Ada"],
          ["spare-parts", 420, "company", "Ada"],
        ]);
        expect(withParts?.costTotals).toEqual([
          { currency: "EUR", company: 120, customer: 35.5 },
          { currency: "CHF", company: 420, customer: 0 },
        ]);
        const chargeable = await store.recordFiring(firing({ packId: "pack-9", warranty: warranty("chargeable") }));
        expect(
          (await store.addCostLine(chargeable.case.id, { category: "accommodation", description: "", quantity: 2, unitPrice: 90, currency: "EUR" }, "Ada", T0))
            ?.costLines[0]?.bearer,
        ).toBe("customer");
        const unknown = await store.recordFiring(firing({ packId: "pack-8", warranty: null }));
        await expect(
          store.addCostLine(unknown.case.id, { category: "labour", description: "", quantity: 1, unitPrice: 1, currency: "EUR" }, "Ada", T0),
        ).rejects.toThrow(/bearer/);
        for (const bad of [
          { category: "beer", description: "", quantity: 1, unitPrice: 1, currency: "EUR" },
          { category: "labour", description: "", quantity: -1, unitPrice: 1, currency: "EUR" },
          { category: "labour", description: "", quantity: 1, unitPrice: 1, currency: "euro" },
          { category: "labour", description: "", quantity: 1, unitPrice: Number.NaN, currency: "EUR" },
        ]) {
          await expect(store.addCostLine(c.id, bad as never, "Ada", T0)).rejects.toThrow(StoreInputError);
        }
        expect((await store.get(c.id))?.costLines).toHaveLength(3);
      });

      it("records spare parts requested, with the BMS version from the pack's meta by default", async () => {
        const { case: c } = await store.recordFiring(firing());
        const one = await store.addSparePart(c.id, { part: "BMS-MAIN-48", quantity: 1 }, "Ada", T0 + 1);
        expect(one?.spareParts[0]).toMatchObject({ part: "BMS-MAIN-48", quantity: 1, bmsVersion: "2.1.0", addedBy: "Ada", addedAt: T0 + 1 });
        const two = await store.addSparePart(c.id, { part: "NTC-10K", description: "thermistor", quantity: 4, bmsVersion: "2.2.0" }, "Ada", T0 + 2);
        expect(two?.spareParts.map((p) => p.bmsVersion)).toEqual(["2.1.0", "2.2.0"]);
        const noMeta = await store.recordFiring(firing({ packId: "pack-7", evidence: evidence("x", { meta: null }) }));
        await expect(store.addSparePart(noMeta.case.id, { part: "X", quantity: 1 }, "Ada", T0)).rejects.toThrow(/bmsVersion/);
        await expect(store.addSparePart(c.id, { part: "X", quantity: 0 }, "Ada", T0)).rejects.toThrow(StoreInputError);
      });

      it("returns null for unknown ids, including hostile ones", async () => {
        await store.recordFiring(firing());
        for (const id of ["nope", "' OR 1=1 --", "%", "", "🔋"]) {
          expect(await store.get(id)).toBeNull();
          expect(await store.transition(id, "acknowledged", "eng", T0)).toBeNull();
          expect(await store.assign(id, "x", "eng", T0)).toBeNull();
          expect(await store.addNote(id, "x", "eng", T0)).toBeNull();
        }
      });
    });

    describe("queries", () => {
      it("lists newest first, with filters and a limit", async () => {
        await store.recordFiring(firing({ at: T0 + 1 }));
        await store.recordFiring(firing({ at: T0 + 2, packId: "pack-2", severity: "critical" }));
        const third = await store.recordFiring(firing({ at: T0 + 3, siteId: "site-2", ruleId: "over-temperature" }));
        await resolve(store, third.case.id, T0 + 4);
        await store.transition(third.case.id, "closed", "eng", T0 + 6);
        const ack = await store.recordFiring(firing({ at: T0 + 7, ruleId: "soc-low", severity: "warning" }));
        await store.transition(ack.case.id, "acknowledged", "eng", T0 + 8);

        const at = (cases: { openedAt: number }[]) => cases.map((c) => c.openedAt);
        expect(at(await store.list())).toEqual([T0 + 7, T0 + 3, T0 + 2, T0 + 1]);
        expect(at(await store.list({ limit: 2 }))).toEqual([T0 + 7, T0 + 3]);
        expect(at(await store.list({ siteId: "site-1" }))).toEqual([T0 + 7, T0 + 2, T0 + 1]);
        expect(at(await store.list({ siteId: "site-1", packId: "pack-2" }))).toEqual([T0 + 2]);
        expect((await store.list({ ruleId: "over-temperature" })).map((c) => c.status)).toEqual(["closed"]);
        expect(at(await store.list({ status: ["closed"] }))).toEqual([T0 + 3]);
        expect(at(await store.list({ status: ["acknowledged", "closed"] }))).toEqual([T0 + 7, T0 + 3]);
        expect(at(await store.list({ status: ["open"] }))).toEqual([T0 + 2, T0 + 1]);
        expect(at(await store.list({ status: "active" }))).toEqual([T0 + 7, T0 + 2, T0 + 1]);
        expect(at(await store.list({ severity: ["critical", "warning"] }))).toEqual([T0 + 7, T0 + 2]);
        expect(await store.list({ status: [] })).toEqual([]);
        expect(await store.list({ siteId: "' OR '1'='1" })).toEqual([]);
      });

      it("has a default limit of 100 and rejects a nonsense limit", async () => {
        for (let i = 0; i < 105; i++) await store.recordFiring(firing({ packId: `p${i}`, at: T0 + i }));
        expect(await store.list()).toHaveLength(100);
        expect(await store.list({ limit: 200 })).toHaveLength(105);
        for (const limit of [0, -1, 1.5, Number.NaN]) await expect(store.list({ limit })).rejects.toThrow(/limit/);
      });

      it("rolls up a pack's cases with the worst severity of those not closed", async () => {
        const a = await store.recordFiring(firing({ ruleId: "cell-imbalance", severity: "minor" }));
        const b = await store.recordFiring(firing({ ruleId: "sensor-fault", severity: "major", at: T0 + 1 }));
        const c = await store.recordFiring(firing({ ruleId: "low-soh", severity: "critical", at: T0 + 2 }));
        await resolve(store, c.case.id);
        await store.transition(c.case.id, "closed", "eng", T0 + 20);
        await store.recordFiring(firing({ packId: "other", severity: "critical" }));
        const rollup = await store.rollup("site-1", "pack-1");
        expect(rollup).toMatchObject({ siteId: "site-1", packId: "pack-1", worstSeverity: "major", activeCases: 2 });
        expect(rollup.rules.sort()).toEqual(["cell-imbalance", "sensor-fault"]);
        expect(rollup.cases.map((x) => x.id)).toEqual([b.case.id, a.case.id, c.case.id]);
        expect((await store.get(a.case.id, { details: true }))?.relatedCaseIds).toEqual([b.case.id]);
        expect(await store.rollup("site-1", "nothing")).toMatchObject({ worstSeverity: null, activeCases: 0, cases: [] });
      });

      it("numbers timeline entries across cases so a consumer can follow them", async () => {
        expect(await store.latestTimelineId()).toBe(0);
        const a = await store.recordFiring(firing());
        const b = await store.recordFiring(firing({ packId: "pack-2" }));
        await store.addNote(a.case.id, "first", "eng", T0 + 1);
        const all = await store.timelineSince(0, 100);
        expect(all.map((e) => [e.caseId, e.kind])).toEqual([
          [a.case.id, "opened"],
          [b.case.id, "opened"],
          [a.case.id, "note"],
        ]);
        expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => x - y));
        const rest = await store.timelineSince(all[0]?.id ?? 0, 1);
        expect(rest.map((e) => e.caseId)).toEqual([b.case.id]);
        expect(await store.latestTimelineId()).toBe(all.at(-1)?.id);
        await expect(store.timelineSince(-1, 10)).rejects.toThrow(/cursor/);
      });
    });

    describe("bad input and hostile data", () => {
      it("rejects a malformed firing with a clear error and stores nothing", async () => {
        const bad: Partial<FiringInput>[] = [
          { siteId: "a/b" },
          { siteId: "+" },
          { packId: "" },
          { ruleId: "Not A Rule" },
          { at: 1_700_000_000 }, // seconds, not ms
          { at: Number.NaN },
          { firingKey: "" },
          { evidence: { ...evidence(), value: Number.POSITIVE_INFINITY } },
        ];
        for (const over of bad) await expect(store.recordFiring(firing(over))).rejects.toThrow(/cannot record a rule firing/);
        await expect(store.recordFiring({ ...firing(), severity: "meh" } as unknown as FiringInput)).rejects.toThrow(/severity/);
        expect(await store.list()).toEqual([]);
        await expect(store.markCleared("site-1", "pack-1", "cell-over-voltage", -1)).rejects.toThrow(/time/);
      });

      it("stores hostile strings and 1 MB evidence intact, and survives reopen", async () => {
        const made: string[] = [];
        for (const [i, s] of HOSTILE_STRINGS.entries()) {
          const { case: c } = await store.recordFiring(firing({ packId: `p${i}`, title: s, evidence: evidence(s) }));
          await store.addNote(c.id, s || "(empty)", s || "x", T0 + 1);
          made.push(c.id);
        }
        const big = await store.recordFiring(firing({ packId: "big", evidence: evidence(ONE_MB, { rulesFired: [] }) }));
        await store.close();
        const again = await openStore();
        for (const [i, s] of HOSTILE_STRINGS.entries()) {
          const c = await again.get(made[i] ?? "", { details: true });
          expect(c?.title).toBe(s);
          expect(c?.evidence.detail).toBe(s);
          expect(c?.timeline?.at(-1)?.message).toBe(s || "(empty)");
        }
        expect((await again.get(big.case.id))?.evidence.detail).toBe(ONE_MB);
        expect((await again.recordFiring(firing({ packId: "big", at: T0 + 1 }))).outcome).toBe("occurrence");
      });
    });
  });
}
