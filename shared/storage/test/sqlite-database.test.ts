import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { openSqliteCaseStore } from "../src/sqlite-case-store";
import { SCHEMA_VERSION } from "../src/sqlite-database";
import { openSqliteDeadLetterStore } from "../src/sqlite-dead-letter-store";
import { openSqliteDurableQueue } from "../src/sqlite-durable-queue";
import { StoreSchemaError } from "../src/storage-errors";

const run = promisify(execFile);

describe("SQLite files", () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir("bms-sqlite-");
  });
  afterEach(() => dir.remove());

  it("uses WAL and records the schema version", () => {
    const file = join(dir.path, "q.db");
    openSqliteDurableQueue(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it("refuses a file from a newer schema version with an actionable error", () => {
    const file = join(dir.path, "future.db");
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openSqliteCaseStore(file)).toThrow(StoreSchemaError);
    expect(() => openSqliteCaseStore(file)).toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}.*upgrade`));
  });

  it("lets the case store, dead letters and a queue share one file", async () => {
    const file = join(dir.path, "shared.db");
    const cases = openSqliteCaseStore(file);
    const dead = openSqliteDeadLetterStore(file);
    const queue = openSqliteDurableQueue(file);
    queue.push([{ topic: "t", payload: "p" }]);
    await dead.add({ receivedAt: 1, topic: "t", payload: "p", reason: "r" });
    expect(await cases.list()).toEqual([]);
    expect(await dead.count()).toBe(1);
    expect(queue.size()).toBe(1);
    queue.close();
    await dead.close();
    await cases.close();
  });

  it("keeps one current case when two processes open it at the same time", async () => {
    const file = join(dir.path, "cases.db");
    const fixture = join(import.meta.dirname, "fixtures", "open-cases-process.ts");
    const reader = openSqliteCaseStore(file);
    const results = await Promise.all(
      [0, 1].map(() => run(process.execPath, ["--import", "tsx", fixture, file, "100"], { cwd: join(import.meta.dirname, "..") })),
    );
    const createdTotal = results.reduce((sum, r) => sum + Number(r.stdout.trim()), 0);
    expect(createdTotal).toBe(1);
    const all = await reader.list();
    expect(all).toHaveLength(1);
    expect(all[0]?.occurrences).toBe(200);
    await reader.close();
  });

  it("enforces one current case in the database itself, not only in code", () => {
    const file = join(dir.path, "raw.db");
    openSqliteCaseStore(file).close();
    const db = new Database(file);
    const insert = db.prepare(
      "INSERT INTO support_cases (id, site_id, pack_id, rule_id, severity, status, title, opened_at, updated_at, occurrences, last_occurrence_at, evidence) VALUES (?, 's', 'p', 'r', 'minor', ?, 't', 1, 1, 1, 1, '{}')",
    );
    insert.run("a", "open");
    expect(() => insert.run("b", "resolved")).toThrow(/UNIQUE/);
    expect(() => insert.run("b", "escalated")).toThrow(/CHECK/);
    insert.run("c", "closed");
    insert.run("d", "closed");
    db.close();
  });

  it("carries the cases of a schema 1 file over, lifecycle fields empty and a timeline entry each", async () => {
    const file = join(dir.path, "v1.db");
    const db = new Database(file);
    db.exec(`
      CREATE TABLE cases (id TEXT PRIMARY KEY, site_id TEXT NOT NULL, pack_id TEXT NOT NULL, rule_id TEXT NOT NULL, severity TEXT NOT NULL,
        status TEXT NOT NULL, title TEXT NOT NULL, opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, cleared_at INTEGER,
        closed_at INTEGER, occurrences INTEGER NOT NULL, evidence TEXT NOT NULL);
      PRAGMA user_version = 1;
    `);
    const evidence = JSON.stringify({ sample: null, value: 3.7, threshold: 3.65, index: 1, detail: "old case", meta: null });
    const add = db.prepare("INSERT INTO cases VALUES (?, 's1', 'p1', 'cell-over-voltage', 'major', ?, 'Cell over-voltage', ?, ?, NULL, ?, 2, ?)");
    add.run("old-open", "acknowledged", 1_700_000_000_000, 1_700_000_100_000, null, evidence);
    add.run("old-closed", "closed", 1_690_000_000_000, 1_690_000_100_000, 1_690_000_100_000, evidence);
    db.close();
    const store = openSqliteCaseStore(file);
    const open = await store.get("old-open", { details: true });
    expect(open).toMatchObject({ status: "acknowledged", acknowledgedAt: 1_700_000_100_000, occurrences: 2, reopenedCount: 0, assignee: null, warranty: null });
    expect(open?.evidence).toMatchObject({ detail: "old case", bmsAlarms: [], rulesFired: [] });
    expect(open?.timeline?.map((e) => e.kind)).toEqual(["opened"]);
    expect((await store.get("old-closed"))?.status).toBe("closed");
    await store.close();
    const raw = new Database(file);
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'cases'").get()).toBeUndefined();
    expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });
});
