import type { DeadLetter, DeadLetterStore } from "./dead-letter-store";
import { openSqliteDatabase, type StoreSchema } from "./sqlite-database";
import { StoreInputError } from "./storage-errors";

export interface SqliteDeadLetterStoreOptions {
  /** Only the newest this many are kept, so a flood of bad messages cannot fill the disk. @default 100_000 */
  maxEntries?: number;
  /** A longer payload is cut to this many characters (said in the reason). @default 1_048_576 */
  maxPayloadChars?: number;
}

export const DEFAULT_MAX_DEAD_LETTERS = 100_000;
export const DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS = 1_048_576;
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 10_000;

/** The dead letters' tables, version by version. */
const DEAD_LETTER_SCHEMA: StoreSchema = {
  store: "dead-letters",
  steps: [
    {
      version: 1,
      does: "dead_letters",
      up: (db) =>
        db.exec(`
          CREATE TABLE IF NOT EXISTS dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at INTEGER NOT NULL,
            topic TEXT NOT NULL,
            payload TEXT NOT NULL,
            reason TEXT NOT NULL
          );
        `),
    },
  ],
};

interface DeadLetterRow {
  id: number;
  received_at: number;
  topic: string;
  payload: string;
  reason: string;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new StoreInputError(`${name} must be a whole number of at least 1, got ${String(value)}`);
  return value;
}

/** A DeadLetterStore in a SQLite file (the ingestion writes; anyone may read, even from another process). */
export function openSqliteDeadLetterStore(file: string, options: SqliteDeadLetterStoreOptions = {}): DeadLetterStore {
  const maxEntries = positiveInt(options.maxEntries ?? DEFAULT_MAX_DEAD_LETTERS, "maxEntries");
  const maxPayloadChars = positiveInt(options.maxPayloadChars ?? DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS, "maxPayloadChars");
  const db = openSqliteDatabase(file, DEAD_LETTER_SCHEMA);

  const insert = db.prepare<[number, string, string, string]>("INSERT INTO dead_letters (received_at, topic, payload, reason) VALUES (?, ?, ?, ?)");
  // Ids only grow (AUTOINCREMENT), so "older than the newest maxEntries" is an index range: no count needed.
  const trim = db.prepare<[number]>("DELETE FROM dead_letters WHERE id <= ?");
  const selectNewest = db.prepare<[number], DeadLetterRow>("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?");
  const countRows = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM dead_letters");

  const addTx = db.transaction((entry: Omit<DeadLetter, "id">) => {
    let { payload, reason } = entry;
    if (payload.length > maxPayloadChars) {
      reason = `${reason} (payload of ${payload.length} characters cut to the first ${maxPayloadChars})`;
      payload = payload.slice(0, maxPayloadChars);
    }
    const id = Number(insert.run(entry.receivedAt, entry.topic, payload, reason).lastInsertRowid);
    if (id > maxEntries) trim.run(id - maxEntries);
  });

  return {
    async add(entry) {
      if (typeof entry.topic !== "string" || typeof entry.payload !== "string" || typeof entry.reason !== "string") {
        throw new StoreInputError("a dead letter needs a string topic, payload and reason");
      }
      if (!Number.isFinite(entry.receivedAt)) throw new StoreInputError(`receivedAt must be a finite number, got ${String(entry.receivedAt)}`);
      addTx.immediate(entry);
    },
    async list(limit = DEFAULT_LIST_LIMIT) {
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new StoreInputError(`list limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`);
      }
      return selectNewest.all(limit).map((r): DeadLetter => ({ id: r.id, receivedAt: r.received_at, topic: r.topic, payload: r.payload, reason: r.reason }));
    },
    async count() {
      return countRows.get()?.n ?? 0;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
