import type { CaptureSummary, CommandStatus, PackSample } from "@bms/shared";
import { beforeEach, describe, expect, it } from "vitest";
import { captureEvidenceOf } from "../src/case-policy";
import type { CaseStore } from "../src/case-store";
import { firing, sample, T0 } from "./case-fixtures";
import { storeBed } from "./store-bed";

const SUMMARY: CaptureSummary = { hz: 5, seconds: 2, startedAt: T0, endedAt: T0 + 2000, samples: 10, parts: 1, failedReads: 0 };
const result = (commandId: string, commandStatus: CommandStatus = "succeeded") => ({ kind: "command-result" as const, commandId, commandStatus });
const SAMPLES: PackSample[] = Array.from({ length: 10 }, (_, i) => ({ ...sample(T0 + i * 200), seq: i }));

/** What every CaseStore does with remote commands' entries; call it from the implementation's test file. */
export function describeCommandEntries(name: string, open: (file: string) => CaseStore | Promise<CaseStore>): void {
  describe(`CaseStore command entries: ${name}`, () => {
    const openStore = storeBed("bms-command-entries-", ["data", "cases.db"], open);
    let store: CaseStore;
    let caseId: string;

    beforeEach(async () => {
      store = await openStore();
      caseId = (await store.recordFiring(firing({ freezeFrameBefore: [sample(T0 - 1000), sample()] }))).case.id;
    });

    it("a capture becomes the case's second freeze frame in its evidence, kept across a reopen of the store", async () => {
      const capture = captureEvidenceOf("cmd-capture-1", SUMMARY, SAMPLES);
      const changed = await store.addCommandEntry(caseId, { ...result("cmd-capture-1"), message: "capture succeeded", capture }, "Erin", T0 + 10);
      expect(changed?.evidence.capture).toEqual(capture);
      const again = await openStore();
      const read = await again.get(caseId, { details: true });
      expect(read?.evidence.capture).toEqual(capture);
      expect(read?.evidence.detail).toBe(changed?.evidence.detail);
      expect(read?.freezeFrames).toHaveLength(1);
      expect(read?.timeline?.at(-1)).toMatchObject({ kind: "command-result", actor: "Erin" });
    });

    it("refuses a capture whose series do not line up, and changes nothing", async () => {
      const capture = { ...captureEvidenceOf("cmd-capture-1", SUMMARY, SAMPLES), soc: [1] };
      await expect(store.addCommandEntry(caseId, { ...result("cmd-capture-1"), message: "capture", capture }, "Erin", T0 + 10)).rejects.toThrow(/capture/);
      expect((await store.get(caseId))?.evidence.capture).toBeUndefined();
    });

    const commandEntries = async (s: CaseStore) =>
      ((await s.get(caseId, { details: true }))?.timeline ?? []).filter((e) => e.kind === "command" || e.kind === "command-result");

    it("records a command's (ID, status) once: the same result applied again changes nothing; another status or command is recorded", async () => {
      const requested = { kind: "command" as const, commandId: "cmd-once-0001", commandStatus: "pending" as const, message: "reset-alarms requested" };
      expect(await store.addCommandEntry(caseId, requested, "Erin", T0 + 1)).not.toBeNull();
      expect(await store.addCommandEntry(caseId, requested, "Erin", T0 + 1)).toBeNull();
      const done = { ...result("cmd-once-0001"), message: "reset-alarms succeeded" };
      expect(await store.addCommandEntry(caseId, done, "Erin", T0 + 2)).not.toBeNull();
      const latest = await store.latestTimelineId();
      expect(await store.addCommandEntry(caseId, { ...done, message: "the same result, from another node" }, "Erin", T0 + 3)).toBeNull();
      expect(await store.latestTimelineId()).toBe(latest);
      expect(await store.addCommandEntry(caseId, { ...result("cmd-once-0002", "failed"), message: "another command" }, "Erin", T0 + 4)).not.toBeNull();
      expect((await commandEntries(store)).map((e) => e.message)).toEqual(["reset-alarms requested", "reset-alarms succeeded", "another command"]);
      // An unknown case claims nothing: the key stays free for the case it belongs to.
      expect(await store.addCommandEntry("no-such-case", { ...result("cmd-once-0003"), message: "x" }, "Erin", T0 + 5)).toBeNull();
      expect(await store.addCommandEntry(caseId, { ...result("cmd-once-0003"), message: "x" }, "Erin", T0 + 5)).not.toBeNull();
    });

    it("the same result applied at once through two connections (two live nodes): one timeline entry, one evidence change", async () => {
      const other = await openStore();
      const capture = captureEvidenceOf("cmd-race-00001", SUMMARY, SAMPLES);
      const entry = { ...result("cmd-race-00001"), message: "capture succeeded", capture };
      const applied = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : other).addCommandEntry(caseId, entry, "Erin", T0 + 10 + i)));
      expect(applied.filter((c) => c !== null)).toHaveLength(1);
      expect((await commandEntries(other)).map((e) => e.message)).toEqual(["capture succeeded"]);
      expect((await store.get(caseId))?.evidence.capture).toEqual(capture);
    });
  });
}
