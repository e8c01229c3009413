import type { DeadLetter, DeadLetterStore } from "./dead-letter-store";
import { type DeadLetterRow, deadLetterFromRow } from "./outbox-rows";
import { openSqliteDatabase, type StoreSchema } from "./sqlite-database";
import { checkListLimit, DEFAULT_DEAD_LETTER_LIST_LIMIT, type DeadLetterLimits, deadLetterLimits, deadLetterToStore } from "./store-inputs";

export type SqliteDeadLetterStoreOptions = DeadLetterLimits;

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

/** A DeadLetterStore in a SQLite file (the ingestion writes; anyone may read, even from another process). */
export function openSqliteDeadLetterStore(file: string, options: SqliteDeadLetterStoreOptions = {}): DeadLetterStore {
  const { maxEntries, maxPayloadChars } = deadLetterLimits(options);
  const db = openSqliteDatabase(file, DEAD_LETTER_SCHEMA);

  const insert = db.prepare<[number, string, string, string]>("INSERT INTO dead_letters (received_at, topic, payload, reason) VALUES (?, ?, ?, ?)");
  // Ids only grow (AUTOINCREMENT), so "older than the newest maxEntries" is an index range: no count needed.
  const trim = db.prepare<[number]>("DELETE FROM dead_letters WHERE id <= ?");
  const selectNewest = db.prepare<[number], DeadLetterRow>("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?");
  const countRows = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM dead_letters");

  const addTx = db.transaction((entry: Omit<DeadLetter, "id">) => {
    const id = Number(insert.run(entry.receivedAt, entry.topic, entry.payload, entry.reason).lastInsertRowid);
    if (id > maxEntries) trim.run(id - maxEntries);
  });

  return {
    async add(entry) {
      addTx.immediate(deadLetterToStore(entry, maxPayloadChars));
    },
    async list(limit = DEFAULT_DEAD_LETTER_LIST_LIMIT) {
      return selectNewest.all(checkListLimit(limit, "list limit")).map(deadLetterFromRow);
    },
    async count() {
      return countRows.get()?.n ?? 0;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
