import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { StoreSchemaError } from "./storage-errors";

/**
 * The file's format, in PRAGMA user_version: 3 = each store's tables carry their own numbered
 * migrations in `schema_migrations` (1 and 2 were one version for the whole file, with every table
 * created IF NOT EXISTS). Software that knows an older format refuses a file once it is 3.
 */
export const SCHEMA_VERSION = 3;

/** One numbered step of a store's schema. Step 1 of every store is the schema-2 tables, IF NOT EXISTS, so a file of that time is adopted as it is. */
export interface SchemaStep {
  version: number;
  /** What it changes, in a few words (kept in schema_migrations). */
  does: string;
  up(db: Database.Database): void;
}

/** A store's tables: several stores may share one file, each with its own version. */
export interface StoreSchema {
  /** The store's name in schema_migrations, e.g. `cases`. */
  store: string;
  /** Versions 1, 2, 3… in order. */
  steps: readonly SchemaStep[];
}

/** ms a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

function isInMemory(file: string): boolean {
  return file === ":memory:" || file === "";
}

function checkSteps(schema: StoreSchema): void {
  schema.steps.forEach((step, i) => {
    if (step.version !== i + 1) throw new Error(`${schema.store} schema: step ${i} has version ${step.version}, expected ${i + 1}`);
  });
}

/** The version of each store's tables in a file (0 for a store that never opened it). */
function storeVersions(db: Database.Database): Map<string, number> {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return new Map();
  const rows = db.prepare<[], { store: string; version: number }>("SELECT store, max(version) AS version FROM schema_migrations GROUP BY store").all();
  return new Map(rows.map((r) => [r.store, r.version]));
}

/**
 * Brings one store's tables up to date: the steps above its recorded version run in order, in the
 * caller's transaction, each recorded in schema_migrations. A version above the known steps
 * (written by newer software) is a StoreSchemaError naming the file and the store.
 */
export function migrate(db: Database.Database, file: string, schema: StoreSchema, now = Date.now()): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      store TEXT NOT NULL,
      version INTEGER NOT NULL,
      does TEXT NOT NULL,
      applied_at INTEGER NOT NULL,
      PRIMARY KEY (store, version)
    );
  `);
  const found = storeVersions(db).get(schema.store) ?? 0;
  if (found > schema.steps.length) throw new StoreSchemaError(file, found, schema.steps.length, schema.store);
  const record = db.prepare<[string, number, string, number]>("INSERT INTO schema_migrations (store, version, does, applied_at) VALUES (?, ?, ?, ?)");
  for (const step of schema.steps.slice(found)) {
    step.up(db);
    record.run(schema.store, step.version, step.does, now);
  }
}

/**
 * Opens (creating the directory and file if missing) a SQLite file that several processes can share:
 * WAL so readers never block the writer, synchronous=NORMAL (a commit survives a process crash;
 * only an OS crash may lose the last few), busy_timeout so a second writer waits instead of failing.
 * The store's pending migrations run in one IMMEDIATE transaction: all of them or none.
 */
export function openSqliteDatabase(file: string, schema: StoreSchema): Database.Database {
  checkSteps(schema);
  if (!isInMemory(file)) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!isInMemory(file)) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.transaction(() => {
      const format = Number(db.pragma("user_version", { simple: true }));
      if (format > SCHEMA_VERSION) throw new StoreSchemaError(file, format, SCHEMA_VERSION);
      migrate(db, file, schema);
      if (format < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** SQLite limits the number of bound parameters per statement; big id lists go in chunks. */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
