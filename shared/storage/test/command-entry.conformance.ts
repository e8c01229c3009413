import { join } from "node:path";
import type { CaptureSummary, PackSample } from "@bms/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { captureEvidenceOf } from "../src/case-policy";
import type { CaseStore } from "../src/case-store";
import { firing, sample, T0 } from "./case-fixtures";

const SUMMARY: CaptureSummary = { hz: 5, seconds: 2, startedAt: T0, endedAt: T0 + 2000, samples: 10, parts: 1, failedReads: 0 };
const SAMPLES: PackSample[] = Array.from({ length: 10 }, (_, i) => ({ ...sample(T0 + i * 200), seq: i }));

/** What every CaseStore does with remote commands' entries; call it from the implementation's test file. */
export function describeCommandEntries(name: string, open: (file: string) => CaseStore | Promise<CaseStore>): void {
  describe(`CaseStore command entries: ${name}`, () => {
    let dir: TempDir;
    let file: string;
    const opened: CaseStore[] = [];
    const openStore = async () => {
      const s = await open(file);
      opened.push(s);
      return s;
    };
    let store: CaseStore;
    let caseId: string;

    beforeEach(async () => {
      dir = makeTempDir("bms-command-entries-");
      file = join(dir.path, "data", "cases.db");
      store = await openStore();
      caseId = (await store.recordFiring(firing({ freezeFrameBefore: [sample(T0 - 1000), sample()] }))).case.id;
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      dir.remove();
    });

    it("a capture becomes the case's second freeze frame in its evidence, kept across a reopen of the store", async () => {
      const capture = captureEvidenceOf("cmd-capture-1", SUMMARY, SAMPLES);
      const changed = await store.addCommandEntry(caseId, { kind: "command-result", message: "capture succeeded", capture }, "Erin", T0 + 10);
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
      await expect(store.addCommandEntry(caseId, { kind: "command-result", message: "capture", capture }, "Erin", T0 + 10)).rejects.toThrow(/capture/);
      expect((await store.get(caseId))?.evidence.capture).toBeUndefined();
    });
  });
}
