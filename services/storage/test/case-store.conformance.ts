import { join } from "node:path";
import type { CaseEvidence, PackSample } from "@bms/shared";
import { SupportCase } from "@bms/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { CaseStore, OpenCaseInput } from "../src/case-store";
import { HOSTILE_STRINGS, ONE_MB } from "./hostile-strings";

const T0 = 1_750_000_000_000;

const sample: PackSample = {
  v: 1,
  ts: T0,
  seq: 7,
  packVoltage: 52.1,
  current: -12.5,
  soc: 81,
  cellVoltages: [3.25, 3.26, 3.71],
  cellTemperatures: [24.5, 25],
};

function evidence(detail = "cell 3 at 3.71 V is above 3.65 V"): CaseEvidence {
  return { sample, value: 3.71, threshold: 3.65, index: 2, detail, meta: null };
}

function input(over: Partial<OpenCaseInput> = {}): OpenCaseInput {
  return {
    siteId: "site-1",
    packId: "pack-1",
    ruleId: "cell-overvoltage",
    severity: "major",
    title: "Cell over-voltage",
    evidence: evidence(),
    at: T0,
    ...over,
  };
}

/** The behaviour every CaseStore implementation must have; call it from the implementation's test file. */
export function describeCaseStore(name: string, open: (file: string) => CaseStore): void {
  describe(`CaseStore conformance: ${name}`, () => {
    let dir: TempDir;
    let file: string;
    const opened: CaseStore[] = [];
    const openStore = () => {
      const s = open(file);
      opened.push(s);
      return s;
    };
    let store: CaseStore;

    beforeEach(() => {
      dir = makeTempDir("bms-cases-");
      file = join(dir.path, "data", "cases.db");
      store = openStore();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      dir.remove();
    });

    it("opens a case with a short URL-safe id and returns it whole", async () => {
      const { case: c, created } = await store.openOrUpdate(input());
      expect(created).toBe(true);
      expect(c.id).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
      expect(SupportCase.parse(c)).toEqual(c);
      expect(c).toMatchObject({
        siteId: "site-1",
        packId: "pack-1",
        ruleId: "cell-overvoltage",
        severity: "major",
        status: "open",
        title: "Cell over-voltage",
      });
      expect(c).toMatchObject({ openedAt: T0, updatedAt: T0, clearedAt: null, closedAt: null, occurrences: 1 });
      expect(c.evidence).toEqual(evidence());
      expect(await store.get(c.id)).toEqual(c);
    });

    it("counts a repeat on the active case and keeps the original evidence", async () => {
      const first = await store.openOrUpdate(input());
      const again = await store.openOrUpdate(input({ at: T0 + 1000, evidence: evidence("later"), severity: "critical" }));
      expect(again.created).toBe(false);
      expect(again.case.id).toBe(first.case.id);
      expect(again.case.occurrences).toBe(2);
      expect(again.case.updatedAt).toBe(T0 + 1000);
      expect(again.case.openedAt).toBe(T0);
      expect(again.case.evidence.detail).toBe(evidence().detail);
      expect(await store.list()).toHaveLength(1);
    });

    it("keeps one active case per (site, pack, rule), distinct otherwise", async () => {
      const a = await store.openOrUpdate(input());
      const b = await store.openOrUpdate(input({ ruleId: "cell-undervoltage" }));
      const c = await store.openOrUpdate(input({ packId: "pack-2" }));
      const d = await store.openOrUpdate(input({ siteId: "site-2" }));
      const ids = new Set([a, b, c, d].map((r) => r.case.id));
      expect(ids.size).toBe(4);
      expect([a, b, c, d].every((r) => r.created)).toBe(true);
    });

    it("makes one case from concurrent calls, also through two connections to one file", async () => {
      const other = openStore();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).openOrUpdate(input({ at: T0 + i }))));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.case.id)).size).toBe(1);
      const [only] = await store.list();
      expect(only?.occurrences).toBe(20);
      expect(only?.updatedAt).toBe(T0 + 19);
    });

    it("an acknowledged case is still the active one", async () => {
      const { case: c } = await store.openOrUpdate(input());
      const acked = await store.setStatus(c.id, "acknowledged", T0 + 10);
      expect(acked?.status).toBe("acknowledged");
      expect(acked?.closedAt).toBeNull();
      const again = await store.openOrUpdate(input({ at: T0 + 20 }));
      expect(again.created).toBe(false);
      expect(again.case.status).toBe("acknowledged");
    });

    it("closing sets closedAt, and the next occurrence opens a fresh case", async () => {
      const { case: c } = await store.openOrUpdate(input());
      const closed = await store.setStatus(c.id, "closed", T0 + 50);
      expect(closed).toMatchObject({ status: "closed", closedAt: T0 + 50 });
      const fresh = await store.openOrUpdate(input({ at: T0 + 60 }));
      expect(fresh.created).toBe(true);
      expect(fresh.case.id).not.toBe(c.id);
      expect(fresh.case.occurrences).toBe(1);
      expect((await store.get(c.id))?.status).toBe("closed");
      // closing twice keeps the first closedAt
      expect((await store.setStatus(c.id, "closed", T0 + 99))?.closedAt).toBe(T0 + 50);
    });

    it("refuses to reopen a closed case (that would make two active cases)", async () => {
      const { case: c } = await store.openOrUpdate(input());
      await store.setStatus(c.id, "closed", T0 + 1);
      await store.openOrUpdate(input({ at: T0 + 2 }));
      await expect(store.setStatus(c.id, "open", T0 + 3)).rejects.toThrow(/closed/);
      await expect(store.setStatus(c.id, "acknowledged", T0 + 3)).rejects.toThrow(/closed/);
      expect(await store.list({ status: "active" })).toHaveLength(1);
    });

    it("marks the active case cleared, and a new occurrence un-clears it", async () => {
      expect(await store.markCleared("site-1", "pack-1", "cell-overvoltage", T0)).toBeNull();
      const { case: c } = await store.openOrUpdate(input());
      const cleared = await store.markCleared("site-1", "pack-1", "cell-overvoltage", T0 + 5);
      expect(cleared).toMatchObject({ id: c.id, clearedAt: T0 + 5, status: "open" });
      const back = await store.openOrUpdate(input({ at: T0 + 6 }));
      expect(back.case).toMatchObject({ id: c.id, clearedAt: null, occurrences: 2 });
      await store.setStatus(c.id, "closed", T0 + 7);
      expect(await store.markCleared("site-1", "pack-1", "cell-overvoltage", T0 + 8)).toBeNull();
    });

    it("returns null for unknown ids, including hostile ones", async () => {
      await store.openOrUpdate(input());
      for (const id of ["nope", "' OR 1=1 --", "%", "", "🔋"]) {
        expect(await store.get(id)).toBeNull();
        expect(await store.setStatus(id, "closed", T0)).toBeNull();
      }
    });

    it("lists newest first, with filters and a limit", async () => {
      await store.openOrUpdate(input({ at: T0 + 1 }));
      await store.openOrUpdate(input({ at: T0 + 2, packId: "pack-2" }));
      const third = await store.openOrUpdate(input({ at: T0 + 3, siteId: "site-2", ruleId: "over-temperature" }));
      await store.setStatus(third.case.id, "closed", T0 + 4);
      const ack = await store.openOrUpdate(input({ at: T0 + 5, ruleId: "soc-low" }));
      await store.setStatus(ack.case.id, "acknowledged", T0 + 6);

      expect((await store.list()).map((c) => c.openedAt)).toEqual([T0 + 5, T0 + 3, T0 + 2, T0 + 1]);
      expect((await store.list({ limit: 2 })).map((c) => c.openedAt)).toEqual([T0 + 5, T0 + 3]);
      expect((await store.list({ siteId: "site-1" })).map((c) => c.openedAt)).toEqual([T0 + 5, T0 + 2, T0 + 1]);
      expect((await store.list({ siteId: "site-1", packId: "pack-2" })).map((c) => c.openedAt)).toEqual([T0 + 2]);
      expect((await store.list({ ruleId: "over-temperature" })).map((c) => c.status)).toEqual(["closed"]);
      expect((await store.list({ status: "closed" })).map((c) => c.openedAt)).toEqual([T0 + 3]);
      expect((await store.list({ status: "acknowledged" })).map((c) => c.openedAt)).toEqual([T0 + 5]);
      expect((await store.list({ status: "open" })).map((c) => c.openedAt)).toEqual([T0 + 2, T0 + 1]);
      expect((await store.list({ status: "active" })).map((c) => c.openedAt)).toEqual([T0 + 5, T0 + 2, T0 + 1]);
      expect(await store.list({ siteId: "' OR '1'='1" })).toEqual([]);
    });

    it("has a default limit of 100 and rejects a nonsense limit", async () => {
      for (let i = 0; i < 105; i++) await store.openOrUpdate(input({ packId: `p${i}`, at: T0 + i }));
      expect(await store.list()).toHaveLength(100);
      expect(await store.list({ limit: 200 })).toHaveLength(105);
      for (const limit of [0, -1, 1.5, Number.NaN]) await expect(store.list({ limit })).rejects.toThrow(/limit/);
    });

    it("rejects malformed input with a clear error and stores nothing", async () => {
      const bad: Partial<OpenCaseInput>[] = [
        { siteId: "a/b" },
        { siteId: "+" },
        { packId: "" },
        { ruleId: "Not A Rule" },
        { at: 1_700_000_000 }, // seconds, not ms
        { at: Number.NaN },
        { evidence: { ...evidence(), value: Number.POSITIVE_INFINITY } },
      ];
      for (const over of bad) await expect(store.openOrUpdate(input(over))).rejects.toThrow(/cannot open a case/);
      await expect(store.openOrUpdate({ ...input(), severity: "meh" } as unknown as OpenCaseInput)).rejects.toThrow(/severity/);
      expect(await store.list()).toEqual([]);
      await expect(store.setStatus("x", "bogus" as unknown as "open", T0)).rejects.toThrow(/status/);
      await expect(store.markCleared("site-1", "pack-1", "cell-overvoltage", -1)).rejects.toThrow(/time/);
    });

    it("stores hostile strings and 1 MB evidence intact, and survives reopen", async () => {
      const made: string[] = [];
      for (const [i, s] of HOSTILE_STRINGS.entries()) {
        const { case: c } = await store.openOrUpdate(input({ packId: `p${i}`, title: s, evidence: evidence(s) }));
        made.push(c.id);
      }
      const big = await store.openOrUpdate(input({ packId: "big", evidence: evidence(ONE_MB) }));
      await store.close();
      const again = openStore();
      for (const [i, s] of HOSTILE_STRINGS.entries()) {
        const c = await again.get(made[i] ?? "");
        expect(c?.title).toBe(s);
        expect(c?.evidence.detail).toBe(s);
      }
      expect((await again.get(big.case.id))?.evidence.detail).toBe(ONE_MB);
      expect((await again.openOrUpdate(input({ packId: "big", at: T0 + 1 }))).created).toBe(false);
    });
  });
}
