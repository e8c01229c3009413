import { copyFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { openSqliteCaseStore } from "../src/sqlite-case-store";
import { openSqliteDatabase, SCHEMA_VERSION, type StoreSchema } from "../src/sqlite-database";
import { openSqliteDeadLetterStore } from "../src/sqlite-dead-letter-store";
import { openSqliteDurableQueue } from "../src/sqlite-durable-queue";
import { openSqliteRuleStateStore } from "../src/sqlite-rule-state-store";
import { openSqliteWebhookOutbox } from "../src/sqlite-webhook-outbox";
import { StoreSchemaError } from "../src/storage-errors";
import { firing } from "./case-fixtures";

/** Written by the stores at schema version 2 (see fixtures/make-schema-2-fixture.ts). */
const SCHEMA_2_FIXTURE = join(import.meta.dirname, "fixtures", "schema-2.db");
const FIXTURE_CASES = { a: "vs9V8LYKTQafJ0CZMBG_zA", b: "y4gY5NbpQ0a5Vsnw70rOSA", c: "I760DlUpSqCYWvKe9uPstg" };
const T0 = 1_750_000_000_000;
const DAY = 86_400_000;

function rows(file: string, sql: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe("SQLite schema migrations", () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir("bms-migrations-");
  });
  afterEach(() => dir.remove());

  it("migrates a schema 2 file without losing a case, a timeline entry, a freeze frame or a rule state", async () => {
    const file = join(dir.path, "cases.db");
    copyFileSync(SCHEMA_2_FIXTURE, file);
    const before = {
      cases: rows(file, "SELECT * FROM support_cases ORDER BY id"),
      timeline: rows(file, "SELECT * FROM case_timeline ORDER BY id"),
      firings: rows(file, "SELECT * FROM case_firings ORDER BY firing_key"),
      frames: rows(file, "SELECT case_id, trigger_ts, rule_id, before, after, complete FROM case_freeze_frames ORDER BY case_id, trigger_ts"),
      ruleState: rows(file, "SELECT * FROM rule_state ORDER BY site_id, pack_id, rule_id"),
      webhooks: rows(file, "SELECT * FROM webhook_deliveries ORDER BY id"),
    };
    expect(before.cases).toHaveLength(3);
    expect(before.timeline).toHaveLength(15);

    const cases = openSqliteCaseStore(file);
    const states = openSqliteRuleStateStore(file);
    const outbox = openSqliteWebhookOutbox(file);
    const dead = openSqliteDeadLetterStore(file);
    const queue = openSqliteDurableQueue(file);
    try {
      expect(rows(file, "SELECT * FROM support_cases ORDER BY id")).toEqual(before.cases);
      expect(rows(file, "SELECT * FROM case_timeline ORDER BY id")).toEqual(before.timeline);
      expect(rows(file, "SELECT * FROM case_firings ORDER BY firing_key")).toEqual(before.firings);
      expect(rows(file, "SELECT case_id, trigger_ts, rule_id, before, after, complete FROM case_freeze_frames ORDER BY case_id, trigger_ts")).toEqual(
        before.frames,
      );
      expect(rows(file, "SELECT * FROM rule_state ORDER BY site_id, pack_id, rule_id")).toEqual(before.ruleState);
      expect(rows(file, "SELECT * FROM webhook_deliveries ORDER BY id")).toEqual(before.webhooks);
      expect(rows(file, "SELECT store, version FROM schema_migrations ORDER BY store, version")).toEqual([
        { store: "cases", version: 1 },
        { store: "cases", version: 2 },
        { store: "cases", version: 3 },
        { store: "dead-letters", version: 1 },
        { store: "durable-queue", version: 1 },
        { store: "rule-state", version: 1 },
        { store: "webhook-outbox", version: 1 },
      ]);
      expect(rows(file, "PRAGMA user_version")).toEqual([{ user_version: SCHEMA_VERSION }]);

      // Through the stores: the same cases, timeline, frames (now with the key of the firing that started them), states.
      const a = await cases.get(FIXTURE_CASES.a, { details: true });
      expect(a).toMatchObject({ status: "acknowledged", severity: "major", assignee: "Ada", spareParts: [{ bmsVersion: "2.1.0" }] });
      expect(a?.timeline?.map((e) => e.kind)).toEqual(["opened", "escalated", "related", "status", "assigned", "note", "spare-part"]);
      expect(a?.freezeFrames?.[0]?.after).toHaveLength(1);
      expect((await cases.timelineSince(0, 100)).length).toBe(15);
      expect((await cases.get(FIXTURE_CASES.c))?.costTotals).toEqual([{ currency: "EUR", company: 80, customer: 0 }]);
      expect((await cases.openFreezeFrames()).sort((x, y) => x.firingKey.localeCompare(y.firingKey))).toEqual([
        { caseId: FIXTURE_CASES.a, siteId: "site-1", packId: "pack-1", triggerTs: T0, after: 1, firingKey: "k-a1" },
        { caseId: FIXTURE_CASES.c, siteId: "site-1", packId: "pack-2", triggerTs: T0, after: 0, firingKey: "k-c1" },
      ]);
      expect(rows(file, "SELECT firing_key FROM case_freeze_frames ORDER BY firing_key")).toEqual([
        { firing_key: "k-a1" },
        { firing_key: "k-b1" },
        { firing_key: "k-c1" },
      ]);
      const legacy = await cases.loadLegacyRuleStates();
      expect(legacy.map((r) => `${r.packId} ${r.ruleId}`).sort()).toEqual([
        "_site site-offline",
        "pack-1 _lanes",
        "pack-1 _usage",
        "pack-1 cell-over-voltage",
        "pack-1 cell-over-voltage@backfill",
      ]);
      expect(await states.load()).toEqual(legacy);
      expect((await outbox.list()).map((d) => [d.key, d.state])).toEqual([
        ["escalated-2", "pending"],
        ["opened-1", "delivered"],
      ]);
      expect(await outbox.getCursor("timeline")).toBe(3);
      expect(await dead.count()).toBe(1);
      expect(queue.size()).toBe(1);
      expect(queue.getState("seq")).toBe("41");

      // The rules go on where they were: a replayed firing is a duplicate, the frame collects by key,
      // a fault returning on the case closed a day after it opened reopens it.
      const replay = await cases.recordFiring(firing({ firingKey: "k-a1" }));
      expect(replay).toMatchObject({ outcome: "duplicate", case: { id: FIXTURE_CASES.a } });
      expect(await cases.commit([{ kind: "freeze-frame", firingKey: "k-a1", after: [], complete: true }], [])).toEqual([
        { kind: "freeze-frame", caseId: FIXTURE_CASES.a },
      ]);
      const back = await cases.recordFiring(firing({ ruleId: "over-temperature", at: T0 + 2 * DAY }));
      expect(back).toMatchObject({ outcome: "reopened", case: { id: FIXTURE_CASES.b, reopenedCount: 1 } });
    } finally {
      await cases.close();
      await states.close();
      await outbox.close();
      await dead.close();
      queue.close();
    }
  });

  it("refuses a store whose tables are newer than this software knows, naming the file and the store", async () => {
    const file = join(dir.path, "cases.db");
    await openSqliteCaseStore(file).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (store, version, does, applied_at) VALUES ('cases', 4, 'from the future', 0)").run();
    db.close();
    const opening = () => openSqliteCaseStore(file);
    expect(opening).toThrow(StoreSchemaError);
    expect(opening).toThrow(`${file}: its cases tables have schema version 4, this software supports up to 3: upgrade this software`);
    // The other stores in the file still open.
    await openSqliteDeadLetterStore(file).close();
  });

  it("applies a store's steps in order, recorded, in one transaction: a failing step leaves the file as it was", () => {
    const file = join(dir.path, "steps.db");
    const ran: number[] = [];
    const step = (version: number, sql: string) => ({
      version,
      does: `step ${version}`,
      up: (db: Database.Database) => {
        ran.push(version);
        db.exec(sql);
      },
    });
    const failing: StoreSchema = {
      store: "test",
      steps: [step(1, "CREATE TABLE t1 (x)"), step(2, "CREATE TABLE t2 (x)"), step(3, "THIS IS NOT SQL")],
    };
    expect(() => openSqliteDatabase(file, failing)).toThrow(/syntax error/);
    expect(rows(file, "SELECT name FROM sqlite_master WHERE name IN ('t1', 't2')")).toEqual([]);
    expect(rows(file, "PRAGMA user_version")).toEqual([{ user_version: 0 }]);

    ran.length = 0;
    const fixed: StoreSchema = { store: "test", steps: [...failing.steps.slice(0, 2), step(3, "CREATE TABLE t3 (x)")] };
    openSqliteDatabase(file, { store: "test", steps: fixed.steps.slice(0, 1) }).close();
    openSqliteDatabase(file, fixed).close();
    openSqliteDatabase(file, fixed).close();
    expect(ran).toEqual([1, 2, 3]);
    expect(rows(file, "SELECT store, version, does FROM schema_migrations ORDER BY version")).toEqual([
      { store: "test", version: 1, does: "step 1" },
      { store: "test", version: 2, does: "step 2" },
      { store: "test", version: 3, does: "step 3" },
    ]);
    expect(() => openSqliteDatabase(file, { store: "bad", steps: [step(2, "")] })).toThrow(/step 0 has version 2, expected 1/);
  });
});
