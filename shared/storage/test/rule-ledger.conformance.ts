import type { EvidenceFollowUp, WarrantyAssessment } from "@bms/shared";
import { beforeEach, describe, expect, it } from "vitest";
import type { CaseStore, FiringInput } from "../src/case-store";
import type { PackStateRow, RuleCommand, RuleLedger } from "../src/rule-ledger";
import { StoreInputError } from "../src/storage-errors";
import { evidence, firing, sample, T0, warranty } from "./case-fixtures";
import { HOSTILE_STRINGS } from "./hostile-strings";
import { storeBed } from "./store-bed";

type Store = CaseStore & RuleLedger;

const fire = (over: Partial<FiringInput> = {}): RuleCommand => ({ kind: "fire", firing: firing(over) });
const clear = (at: number, over: Partial<{ siteId: string; packId: string; ruleId: string }> = {}): RuleCommand => ({
  kind: "clear",
  siteId: "site-1",
  packId: "pack-1",
  ruleId: "cell-over-voltage",
  at,
  ...over,
});
const frame = (firingKey: string, ts: readonly number[], complete = false): RuleCommand => ({
  kind: "freeze-frame",
  firingKey,
  after: ts.map((t) => sample(t)),
  complete,
});
/** The cell-over-voltage case's condition still holds at `at`, held since T0. */
const follow = (at: number, over: Partial<EvidenceFollowUp> = {}, assessment: WarrantyAssessment | null = null, ruleId = "cell-over-voltage"): RuleCommand => ({
  kind: "follow",
  siteId: "site-1",
  packId: "pack-1",
  ruleId,
  at,
  followUp: { direction: "above", worstValue: 3.75, worstIndex: 2, worstAt: at, worstDetail: "Cell 3 at 3.75 V", heldSince: T0, heldUntil: at, ...over },
  warranty: assessment,
});
/** A pack's whole engine state, about `kb` KB of JSON. */
const packState = (packId: string, tag: string, kb = 1): PackStateRow => ({
  siteId: "site-1",
  packId,
  state: { tag, lanes: { newestLive: T0 }, rules: { "over-temperature": { active: null, pad: "x".repeat(kb * 1000) } } },
});
const byPack = (rows: PackStateRow[]) => [...rows].sort((a, b) => a.packId.localeCompare(b.packId));

/** The behaviour every RuleLedger implementation (a case store's batch commit) must have. */
export function describeRuleLedger(name: string, open: (file: string) => Store | Promise<Store>): void {
  describe(`RuleLedger conformance: ${name}`, () => {
    const openStore = storeBed("bms-ledger-", ["cases.db"], open);
    let store: Store;

    beforeEach(async () => {
      store = await openStore();
    });

    it("applies the commands in order: fire, clear, fire again, and saves the pack states with them", async () => {
      const first = fire({ freezeFrameBefore: [sample(T0)] });
      const results = await store.commit(
        [
          first,
          frame((first as { firing: FiringInput }).firing.firingKey, [T0 + 1000]),
          clear(T0 + 5000),
          fire({ at: T0 + 9000, evidence: evidence("again") }),
        ],
        [packState("pack-1", "after batch 1")],
      );
      expect(results.map((r) => r.kind)).toEqual(["fire", "freeze-frame", "clear", "fire"]);
      const [opened, framed, cleared, again] = results;
      if (opened?.kind !== "fire" || framed?.kind !== "freeze-frame" || cleared?.kind !== "clear" || again?.kind !== "fire") throw new Error("kinds");
      expect(opened.result.outcome).toBe("opened");
      const id = opened.result.case.id;
      expect(framed.caseId).toBe(id);
      expect(cleared.case).toMatchObject({ id, clearedAt: T0 + 5000 });
      expect(again.result).toMatchObject({ outcome: "occurrence", case: { id, occurrences: 2, clearedAt: null, lastOccurrenceAt: T0 + 9000 } });
      // What a command returns is what the store holds after the batch.
      expect(await store.get(id)).toEqual(again.result.case);
      const stored = await store.get(id, { details: true });
      expect(stored?.timeline?.map((e) => e.kind)).toEqual(["opened", "cleared", "occurrence"]);
      expect(stored?.freezeFrames?.[0]?.after.map((s) => s.ts)).toEqual([T0 + 1000]);
      expect(await store.loadStates()).toEqual([packState("pack-1", "after batch 1")]);
    });

    it("is all or nothing: a firing that fails validation rolls back the whole batch, states included", async () => {
      await store.commit([fire({ packId: "pack-0" })], [packState("pack-1", "before")]);
      const before = { cases: await store.list(), timeline: await store.latestTimelineId(), states: await store.loadStates() };
      const bad: RuleCommand[][] = [
        [fire({ packId: "pack-2" }), clear(T0 + 1, { packId: "pack-0" }), fire({ at: 1_700_000_000 })],
        [fire({ packId: "pack-2" }), fire({ siteId: "a/b" })],
        [fire({ packId: "pack-2" }), clear(-1)],
        [fire({ packId: "pack-2" }), clear(T0, { ruleId: "Not A Rule" })],
        [fire({ packId: "pack-2" }), frame("", [T0])],
        [fire({ packId: "pack-2" }), { kind: "freeze-frame", firingKey: "k", after: [{ ts: "nope" }], complete: false } as unknown as RuleCommand],
        [fire({ packId: "pack-2" }), { kind: "explode" } as unknown as RuleCommand],
        [fire({ packId: "pack-2" }), null as unknown as RuleCommand],
      ];
      for (const commands of bad) {
        await expect(store.commit(commands, [packState("pack-1", "after")])).rejects.toThrow(StoreInputError);
      }
      await expect(store.commit([fire({ packId: "pack-2" }), fire({ at: Number.NaN })], [])).rejects.toThrow(/commands\[1\]: cannot record a rule firing/);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const badStates: PackStateRow[][] = [
        [packState("pack-1", "after"), { siteId: "site-1", packId: "../x", state: 1 }],
        [packState("pack-1", "after"), { siteId: 5, packId: "p", state: 1 } as unknown as PackStateRow],
        [packState("pack-1", "after"), { siteId: "site-1", packId: "p", state: circular }],
        [packState("pack-1", "after"), { siteId: "site-1", packId: "p", state: { n: 10n } }],
      ];
      for (const states of badStates) await expect(store.commit([fire({ packId: "pack-2" })], states)).rejects.toThrow(/states\[1\]/);
      expect({ cases: await store.list(), timeline: await store.latestTimelineId(), states: await store.loadStates() }).toEqual(before);
    });

    it("replaying a batch after a crash changes nothing twice", async () => {
      const opening = fire({ freezeFrameBefore: [sample(T0)] });
      const key = (opening as { firing: FiringInput }).firing.firingKey;
      const firstPart: RuleCommand[] = [opening, frame(key, [T0 + 1000, T0 + 2000])];
      await store.commit(firstPart, [packState("pack-1", "1")]);
      // The engine saw more samples before the crash was noticed: the batch replays, longer.
      const batch: RuleCommand[] = [
        ...firstPart,
        frame(key, [T0 + 2000, T0 + 3000]),
        clear(T0 + 4000),
        fire({ at: T0 + 6000 }),
        fire({ at: T0 + 7000, severity: "critical", escalation: true }),
        frame(key, [T0 + 8000], true),
      ];
      const once = await store.commit(batch, [packState("pack-1", "2")]);
      const snapshot = async () => ({
        cases: await store.list(),
        timeline: await store.timelineSince(0, 1000),
        frames: await Promise.all((await store.list()).map(async (c) => (await store.get(c.id, { details: true }))?.freezeFrames)),
        open: await store.openFreezeFrames(),
        states: await store.loadStates(),
      });
      const after = await snapshot();
      const again = await store.commit(batch, [packState("pack-1", "2")]);
      expect(again.map((r) => (r.kind === "fire" ? r.result.outcome : r.kind === "clear" || r.kind === "follow" ? r.case : r.caseId))).toEqual([
        "duplicate",
        once[0]?.kind === "fire" ? once[0].result.case.id : "?",
        once[0]?.kind === "fire" ? once[0].result.case.id : "?",
        null,
        "duplicate",
        "duplicate",
        once[0]?.kind === "fire" ? once[0].result.case.id : "?",
      ]);
      expect(await snapshot()).toEqual(after);
      const [c] = after.cases;
      expect(c).toMatchObject({ occurrences: 2, severity: "critical", clearedAt: null });
      const frames = (await store.get(c?.id ?? "", { details: true }))?.freezeFrames;
      expect(frames?.[0]?.after.map((s) => s.ts - T0)).toEqual([1000, 2000, 3000, 8000]);
      expect(frames?.[0]?.complete).toBe(true);
    });

    it("follows a case's condition: the worse value wins, the held span grows, a newer warranty assessment replaces the old", async () => {
      const [opened] = await store.commit([fire({ at: T0 })], []);
      const caseId = opened?.kind === "fire" ? opened.result.case.id : "";
      const first = follow(T0 + 10_000, { worstValue: 3.8, worstIndex: 2, worstAt: T0 + 9000, worstDetail: "Cell 3 at 3.8 V" });
      const [r1] = await store.commit([first], []);
      expect(r1?.kind === "follow" && r1.case?.id).toBe(caseId);
      const milder = follow(
        T0 + 70_000,
        { worstValue: 3.72, worstIndex: 1, worstAt: T0 + 70_000, worstDetail: "Cell 2 at 3.72 V" },
        warranty("chargeable", T0 + 70_000),
      );
      await store.commit([milder], []);
      const c = await store.get(caseId);
      expect(c?.evidence.followUp).toEqual({
        direction: "above",
        worstValue: 3.8,
        worstIndex: 2,
        worstAt: T0 + 9000,
        worstDetail: "Cell 3 at 3.8 V",
        heldSince: T0,
        heldUntil: T0 + 70_000,
      });
      // The evidence at opening stays; the warranty assessment is the newer one.
      expect(c?.evidence.detail).toBe(evidence().detail);
      expect(c?.warranty).toMatchObject({ suggestion: "chargeable", assessedAt: T0 + 70_000 });
      expect(c?.updatedAt).toBe(T0 + 70_000);
      // Replayed: nothing changes, not even updatedAt; no timeline entry is ever written for it.
      const timeline = await store.latestTimelineId();
      const [again] = await store.commit([first, milder], []);
      expect(again).toEqual({ kind: "follow", case: null });
      expect(await store.get(caseId)).toEqual(c);
      expect(await store.latestTimelineId()).toBe(timeline);
      // No current case of that rule, or a closed one: nothing to follow.
      expect(await store.commit([follow(T0 + 80_000, {}, null, "over-temperature")], [])).toEqual([{ kind: "follow", case: null }]);
      for (const status of ["acknowledged", "resolved", "closed"] as const) await store.transition(caseId, status, "eve", T0 + 90_000);
      expect(await store.commit([follow(T0 + 100_000, { worstValue: 4.2 })], [])).toEqual([{ kind: "follow", case: null }]);
      expect((await store.get(caseId))?.evidence.followUp?.worstValue).toBe(3.8);
    });

    it("refuses a malformed or hostile follow-up and writes nothing of its batch", async () => {
      await store.commit([fire({ at: T0 })], []);
      const before = { cases: await store.list(), timeline: await store.latestTimelineId() };
      const bad: unknown[] = [
        { ...follow(T0 + 1), siteId: "../etc" },
        { ...follow(T0 + 1), ruleId: "Bad Rule" },
        { ...follow(T0 + 1), at: -5 },
        follow(T0 + 1, { worstValue: Number.NaN }),
        follow(T0 + 1, { direction: "sideways" as "above" }),
        follow(T0 + 1, { heldSince: T0 + 5000, heldUntil: T0 }),
        follow(T0 + 1, { worstDetail: "x".repeat(5000) }),
        { ...follow(T0 + 1), followUp: null },
        { ...follow(T0 + 1), warranty: { suggestion: "free" } },
      ];
      for (const command of bad) {
        await expect(store.commit([fire({ packId: "pack-2" }), command as RuleCommand], []), JSON.stringify(command).slice(0, 80)).rejects.toThrow(
          /commands\[1\]: cannot follow a case's condition/,
        );
      }
      expect({ cases: await store.list(), timeline: await store.latestTimelineId() }).toEqual(before);
      let worst = 3.9;
      for (const text of HOSTILE_STRINGS) {
        worst += 0.01;
        await store.commit([follow(T0 + 2, { worstDetail: text, worstValue: worst })], []);
        expect((await store.list())[0]?.evidence.followUp?.worstDetail).toBe(text);
      }
    });

    it("finds freeze frames by the key of the firing that started them", async () => {
      const opening = firing({ freezeFrameBefore: [sample(T0)] });
      const [first] = await store.commit([{ kind: "fire", firing: opening }], []);
      const caseId = first?.kind === "fire" ? first.result.case.id : "";
      expect(await store.openFreezeFrames()).toEqual([{ caseId, siteId: "site-1", packId: "pack-1", triggerTs: T0, after: 0, firingKey: opening.firingKey }]);
      const occurrence = firing({ at: T0 + 100, freezeFrameBefore: [sample(T0 + 100)] });
      const attached = firing({ ruleId: "bms-alarm", attachTo: ["cell-over-voltage"], freezeFrameBefore: [sample(T0)] });
      const results = await store.commit(
        [
          { kind: "fire", firing: occurrence },
          { kind: "fire", firing: attached },
          frame(occurrence.firingKey, [T0 + 200]),
          frame(attached.firingKey, [T0 + 200]),
          frame("never-fired", [T0 + 200]),
          frame(opening.firingKey, [T0 + 300, T0 + 400]),
        ],
        [],
      );
      expect(results.slice(2)).toEqual([
        { kind: "freeze-frame", caseId: null },
        { kind: "freeze-frame", caseId: null },
        { kind: "freeze-frame", caseId: null },
        { kind: "freeze-frame", caseId },
      ]);
      expect((await store.openFreezeFrames()).map((f) => [f.firingKey, f.after])).toEqual([[opening.firingKey, 2]]);
      // A reopening starts a second frame, with its own key.
      await store.transition(caseId, "acknowledged", "eng", T0 + 500);
      await store.transition(caseId, "resolved", "eng", T0 + 600);
      const reopening = firing({ at: T0 + 700, freezeFrameBefore: [sample(T0 + 700)] });
      await store.commit([{ kind: "fire", firing: reopening }, frame(opening.firingKey, [], true), frame(reopening.firingKey, [T0 + 800])], []);
      expect((await store.openFreezeFrames()).map((f) => [f.firingKey, f.triggerTs, f.after])).toEqual([[reopening.firingKey, T0 + 700, 1]]);
      expect((await store.get(caseId, { details: true }))?.freezeFrames?.map((f) => [f.triggerTs, f.complete, f.after.length])).toEqual([
        [T0, true, 2],
        [T0 + 700, false, 1],
      ]);
    });

    it("loads every pack state or those of the packs asked for, replaces and deletes them, across a reopen", async () => {
      expect(await store.loadStates()).toEqual([]);
      await store.commit([], [packState("pack-1", "a"), packState("pack-2", "a"), { siteId: "site-1", packId: "_site", state: { lastArrival: T0 } }]);
      await store.commit([], [packState("pack-2", "b"), { siteId: "site-1", packId: "_site", state: null }, { siteId: "site-9", packId: "gone", state: null }]);
      await store.close();
      const again = await openStore();
      expect(byPack(await again.loadStates())).toEqual([packState("pack-1", "a"), packState("pack-2", "b")]);
      expect(
        await again.loadStates([
          { siteId: "site-1", packId: "pack-2" },
          { siteId: "site-1", packId: "nope" },
          { siteId: "site-2", packId: "pack-1" },
        ]),
      ).toEqual([packState("pack-2", "b")]);
      expect(await again.loadStates([])).toEqual([]);
      await expect(again.loadStates([{ siteId: 1 } as never])).rejects.toThrow(StoreInputError);
    });

    it("keeps hostile strings and big states intact", async () => {
      const rows = HOSTILE_STRINGS.map(
        (s, i): PackStateRow => ({ siteId: "s", packId: `p${i}`, state: { text: s, nested: [s, { s }], big: "x".repeat(100_000) } }),
      );
      await store.commit([], rows);
      expect((await store.loadStates()).sort((a, b) => Number(a.packId.slice(1)) - Number(b.packId.slice(1)))).toEqual(rows);
      expect(await store.commit([], [])).toEqual([]);
    });

    it("commits big batches: 2 000 commands and 5 000 pack states", async () => {
      const packs = Array.from({ length: 500 }, (_, i) => `pack-${i}`);
      const openings = packs.map((packId) => firing({ packId, freezeFrameBefore: [sample(T0)] }));
      const commands: RuleCommand[] = [
        ...openings.map((f): RuleCommand => ({ kind: "fire", firing: f })),
        ...openings.map((f) => frame(f.firingKey, [T0 + 1000], true)),
        ...packs.map((packId) => clear(T0 + 2000, { packId })),
        ...packs.map((packId) => fire({ packId, at: T0 + 3000 })),
      ];
      const states = Array.from({ length: 5000 }, (_, i) => packState(`state-${i}`, `${i}`, 1));
      const results = await store.commit(commands, states);
      expect(results).toHaveLength(2000);
      expect(results.filter((r) => r.kind === "fire" && r.result.outcome === "opened")).toHaveLength(500);
      expect(results.filter((r) => r.kind === "fire" && r.result.outcome === "occurrence")).toHaveLength(500);
      const cases = await store.list({ limit: 1000 });
      expect(cases).toHaveLength(500);
      expect(cases.every((c) => c.occurrences === 2 && c.clearedAt === null)).toBe(true);
      expect(await store.openFreezeFrames()).toEqual([]);
      const loaded = await store.loadStates();
      expect(loaded).toHaveLength(5000);
      expect(new Map(loaded.map((r) => [r.packId, r])).get("state-4321")).toEqual(states[4321]);
    });

    it("keeps one case per (site, pack, rule) when two connections commit at once", async () => {
      const other = await openStore();
      const batches = Array.from({ length: 10 }, (_, i) => [fire({ at: T0 + i }), fire({ at: T0 + i, ruleId: "over-temperature" })]);
      const results = await Promise.all(batches.map((b, i) => (i % 2 === 0 ? store : other).commit(b, [packState("pack-1", `${i}`)])));
      const outcomes = results.flat().map((r) => (r.kind === "fire" ? r.result.outcome : r.kind));
      expect(outcomes.filter((o) => o === "opened")).toHaveLength(2);
      const cases = await store.list();
      expect(cases.map((c) => c.occurrences)).toEqual([10, 10]);
      expect(await store.loadStates()).toHaveLength(1);
    });
  });
}
