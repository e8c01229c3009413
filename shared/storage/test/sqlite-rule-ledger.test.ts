import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { PackStateRow } from "../src/rule-ledger";
import type { RuleStateRow } from "../src/rule-state-store";
import { openSqliteCaseStore, type SqliteCaseStore } from "../src/sqlite-case-store";
import { openSqliteRuleStateStore } from "../src/sqlite-rule-state-store";
import { StoreCorruptError } from "../src/storage-errors";
import { firing, T0 } from "./case-fixtures";

/** The old per-rule rows of one pack folded into one pack state, as the engine's conversion might. */
function fold(rows: readonly RuleStateRow[]): PackStateRow[] {
  const packs = new Map<string, PackStateRow & { state: Record<string, unknown> }>();
  for (const row of rows) {
    const key = `${row.siteId}/${row.packId}`;
    const pack = packs.get(key) ?? { siteId: row.siteId, packId: row.packId, state: {} };
    pack.state[row.ruleId] = row.state;
    packs.set(key, pack);
  }
  return [...packs.values()];
}

describe("SQLite rule ledger", () => {
  let dir: TempDir;
  let file: string;
  let store: SqliteCaseStore;
  beforeEach(() => {
    dir = makeTempDir("bms-sqlite-ledger-");
    file = join(dir.path, "cases.db");
    store = openSqliteCaseStore(file);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it("rolls back the whole batch, states included, when a command fails while writing", async () => {
    const { case: broken } = await store.recordFiring(firing({ ruleId: "over-temperature" }));
    await store.commit([], [{ siteId: "site-1", packId: "pack-1", state: { v: "before" } }]);
    const raw = new Database(file);
    raw.prepare("UPDATE support_cases SET evidence = '{not json' WHERE id = ?").run(broken.id);
    raw.close();
    const before = await store.latestTimelineId();
    await expect(
      store.commit(
        [
          { kind: "fire", firing: firing({ packId: "pack-2" }) },
          { kind: "fire", firing: firing({ ruleId: "over-temperature", at: T0 + 1 }) },
        ],
        [{ siteId: "site-1", packId: "pack-1", state: { v: "after" } }],
      ),
    ).rejects.toThrow(StoreCorruptError);
    expect(await store.list({ packId: "pack-2" })).toEqual([]);
    expect(await store.latestTimelineId()).toBe(before);
    expect(await store.loadStates()).toEqual([{ siteId: "site-1", packId: "pack-1", state: { v: "before" } }]);
  });

  it("reads the old per-rule states, and converts them once, atomically", async () => {
    expect(await store.loadLegacyRuleStates()).toEqual([]);
    expect(await store.adoptLegacyRuleStates(() => [])).toBe(0);
    const old = openSqliteRuleStateStore(file);
    const rows: RuleStateRow[] = [
      { siteId: "site-1", packId: "pack-1", ruleId: "over-temperature", state: { active: "major" } },
      { siteId: "site-1", packId: "pack-1", ruleId: "_lanes", state: { gaps: [] } },
      { siteId: "site-1", packId: "pack-1", ruleId: "over-temperature@backfill", state: { active: null } },
      { siteId: "site-1", packId: "_site", ruleId: "site-offline", state: { s: { lastArrival: T0 } } },
    ];
    await old.save(rows);
    await old.close();
    const byRule = (r: RuleStateRow[]) => [...r].sort((a, b) => `${a.packId}${a.ruleId}`.localeCompare(`${b.packId}${b.ruleId}`));
    expect(byRule(await store.loadLegacyRuleStates())).toEqual(byRule(rows));

    // A conversion that fails changes nothing.
    await expect(
      store.adoptLegacyRuleStates(() => {
        throw new Error("cannot convert");
      }),
    ).rejects.toThrow("cannot convert");
    await expect(store.adoptLegacyRuleStates(() => [{ siteId: "site-1", packId: "bad/id", state: 1 }])).rejects.toThrow(/states\[0\]/);
    expect(await store.loadLegacyRuleStates()).toHaveLength(4);
    expect(await store.loadStates()).toEqual([]);

    expect(await store.adoptLegacyRuleStates(fold)).toBe(4);
    expect(await store.loadLegacyRuleStates()).toEqual([]);
    const states = await store.loadStates([{ siteId: "site-1", packId: "pack-1" }]);
    expect(states).toEqual([
      {
        siteId: "site-1",
        packId: "pack-1",
        state: { "over-temperature": { active: "major" }, _lanes: { gaps: [] }, "over-temperature@backfill": { active: null } },
      },
    ]);
    let called = false;
    expect(
      await store.adoptLegacyRuleStates(() => {
        called = true;
        return [];
      }),
    ).toBe(0);
    expect(called).toBe(false);
  });

  it("names the row when a saved pack state is not JSON", async () => {
    await store.commit([], [{ siteId: "site-1", packId: "pack-1", state: {} }]);
    const raw = new Database(file);
    raw.prepare("UPDATE pack_state SET state = 'nope'").run();
    raw.close();
    await expect(store.loadStates()).rejects.toThrow(/pack state of site-1\/pack-1 is not JSON/);
  });
});
