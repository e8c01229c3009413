import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { RuleStateStore } from "../src/rule-state-store";
import { HOSTILE_STRINGS } from "./hostile-strings";

/** The behaviour every RuleStateStore implementation must have. */
export function describeRuleStateStore(name: string, open: (file: string) => RuleStateStore): void {
  describe(`RuleStateStore conformance: ${name}`, () => {
    let dir: TempDir;
    let file: string;
    const opened: RuleStateStore[] = [];
    const openStore = () => {
      const s = open(file);
      opened.push(s);
      return s;
    };

    beforeEach(() => {
      dir = makeTempDir("bms-rule-state-");
      file = join(dir.path, "cases.db");
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      dir.remove();
    });

    it("starts empty, saves, replaces and deletes rows, and keeps them across a reopen", async () => {
      const store = openStore();
      expect(await store.load()).toEqual([]);
      await store.save([
        { siteId: "s1", packId: "p1", ruleId: "over-temperature", state: { levels: { critical: { pendingSince: 1, samples: 2 } } } },
        { siteId: "s1", packId: "p2", ruleId: "over-temperature", state: { active: true } },
        { siteId: "s1", packId: "_site", ruleId: "site-offline", state: [1, 2, 3] },
      ]);
      await store.save([
        { siteId: "s1", packId: "p2", ruleId: "over-temperature", state: { active: false } },
        { siteId: "s1", packId: "_site", ruleId: "site-offline", state: null },
      ]);
      await store.close();
      const again = openStore();
      const rows = await again.load();
      expect(rows.sort((a, b) => a.packId.localeCompare(b.packId))).toEqual([
        { siteId: "s1", packId: "p1", ruleId: "over-temperature", state: { levels: { critical: { pendingSince: 1, samples: 2 } } } },
        { siteId: "s1", packId: "p2", ruleId: "over-temperature", state: { active: false } },
      ]);
    });

    it("stores hostile strings and big states intact", async () => {
      const store = openStore();
      const rows = HOSTILE_STRINGS.map((s, i) => ({ siteId: "s", packId: `p${i}`, ruleId: "r", state: { text: s, big: "x".repeat(100_000) } }));
      await store.save(rows);
      const loaded = await store.load();
      expect(loaded.sort((a, b) => Number(a.packId.slice(1)) - Number(b.packId.slice(1)))).toEqual(rows);
    });

    it("saves a batch atomically: a bad row saves nothing", async () => {
      const store = openStore();
      await expect(
        store.save([{ siteId: "s", packId: "p", ruleId: "r", state: 1 }, { siteId: 5, packId: "p", ruleId: "r", state: 1 } as never]),
      ).rejects.toThrow();
      expect(await store.load()).toEqual([]);
    });
  });
}
