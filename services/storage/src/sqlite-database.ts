import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { StoreSchemaError } from "./storage-errors";

/**
 * Schema version of every table this package creates, kept in PRAGMA user_version (2: the support
 * cases with lifecycle, timeline, freeze frames and rule state). One number for
 * the whole file because several stores may share one file; each store creates its own tables
 * with IF NOT EXISTS, so sharing is safe.
 */
export const SCHEMA_VERSION = 2;

/** ms a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

function isInMemory(file: string): boolean {
  return file === ":memory:" || file === "";
}

/**
 * Opens (creating the directory and file if missing) a SQLite file that several processes can share:
 * WAL so readers never block the writer, synchronous=NORMAL (a commit survives a process crash;
 * only an OS crash may lose the last few), busy_timeout so a second writer waits instead of failing.
 * `createTables` runs once, inside a transaction.
 */
export function openSqliteDatabase(file: string, createTables: (db: Database.Database) => void): Database.Database {
  if (!isInMemory(file)) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!isInMemory(file)) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const found = Number(db.pragma("user_version", { simple: true }));
    if (found > SCHEMA_VERSION) throw new StoreSchemaError(file, found, SCHEMA_VERSION);
    db.transaction(() => {
      createTables(db);
      if (found < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
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
