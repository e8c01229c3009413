import type { DeadLetterStore } from "../dead-letter-store";
import { type DeadLetterRow, deadLetterFromRow } from "../outbox-rows";
import { checkListLimit, DEFAULT_DEAD_LETTER_LIST_LIMIT, deadLetterToStore } from "../store-inputs";
import type { PgDatabase } from "./pg-database";

// Adds the entry and, in the same statement, drops those older than the newest `maxEntries`: ids
// only grow, so that is an index range and needs no count. (Under concurrent adds an id may be
// skipped, which only keeps a few fewer.)
const ADD = `WITH added AS (INSERT INTO dead_letters (received_at, topic, payload, reason) VALUES ($1, $2, $3, $4) RETURNING id)
  DELETE FROM dead_letters WHERE id <= (SELECT id FROM added) - $5`;

/** A DeadLetterStore in PostgreSQL: bounded to the newest `maxEntries`, payloads cut to `maxPayloadChars`. */
export function createPgDeadLetterStore(
  db: PgDatabase,
  release: () => Promise<void>,
  limits: { maxEntries: number; maxPayloadChars: number },
): DeadLetterStore {
  return {
    async add(entry) {
      const e = deadLetterToStore(entry, limits.maxPayloadChars);
      await db.query(ADD, [e.receivedAt, e.topic, e.payload, e.reason, limits.maxEntries], "add-dead-letter");
    },
    async list(limit = DEFAULT_DEAD_LETTER_LIST_LIMIT) {
      const rows = await db.query<DeadLetterRow>("SELECT * FROM dead_letters ORDER BY id DESC LIMIT $1", [checkListLimit(limit, "list limit")]);
      return rows.map(deadLetterFromRow);
    },
    async count() {
      const [row] = await db.query<{ n: number }>("SELECT count(*) AS n FROM dead_letters");
      return row?.n ?? 0;
    },
    close: release,
  };
}
