import { type DeliveryRow, deliveryFromRow } from "./outbox-rows";
import { openSqliteDatabase, type StoreSchema } from "./sqlite-database";
import { checkCursor, checkDeliveries, checkListLimit, MAX_RESULT_CHARS } from "./store-inputs";
import type { NewWebhookDelivery, WebhookOutbox } from "./webhook-outbox";

/** The outbox's tables, version by version. */
const WEBHOOK_SCHEMA: StoreSchema = {
  store: "webhook-outbox",
  steps: [
    {
      version: 1,
      does: "webhook_deliveries and webhook_cursors",
      up: (db) =>
        db.exec(`
          CREATE TABLE IF NOT EXISTS webhook_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            last_result TEXT,
            delivered_at INTEGER
          );
          CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
          CREATE INDEX IF NOT EXISTS webhook_deliveries_by_url ON webhook_deliveries (url, state, id);
          CREATE TABLE IF NOT EXISTS webhook_cursors (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
          );
        `),
    },
  ],
};

/** The webhook outbox and delivery log in a SQLite file (the ingestion's cases.db). */
export function openSqliteWebhookOutbox(file: string): WebhookOutbox {
  const db = openSqliteDatabase(file, WEBHOOK_SCHEMA);
  const insert = db.prepare<[string, string, string, number, number]>(
    "INSERT OR IGNORE INTO webhook_deliveries (key, url, body, created_at, next_attempt_at, state) VALUES (?, ?, ?, ?, ?, 'pending')",
  );
  // In order per endpoint: only each URL's oldest pending delivery can be due.
  const selectDue = db.prepare<[number, number], DeliveryRow>(
    `SELECT * FROM webhook_deliveries d WHERE state = 'pending' AND next_attempt_at <= ?
       AND id = (SELECT min(id) FROM webhook_deliveries o WHERE o.state = 'pending' AND o.url = d.url)
     ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const selectNext = db.prepare<[], { at: number | null }>("SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'");
  const delivered = db.prepare<[number, string, number]>(
    "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_result = ? WHERE id = ?",
  );
  const failed = db.prepare<[string, number, string, number]>(
    "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_result = ? WHERE id = ?",
  );
  const getCursor = db.prepare<[string], { value: number }>("SELECT value FROM webhook_cursors WHERE name = ?");
  const setCursor = db.prepare<[string, number]>(
    "INSERT INTO webhook_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
  );
  const enqueueAll = db.transaction((deliveries: readonly NewWebhookDelivery[]) => {
    let added = 0;
    for (const d of deliveries) added += insert.run(d.key, d.url, d.body, d.createdAt, d.createdAt).changes;
    return added;
  });
  return {
    async enqueue(deliveries) {
      checkDeliveries(deliveries);
      return deliveries.length === 0 ? 0 : enqueueAll.immediate(deliveries);
    },
    async due(now, limit) {
      return selectDue.all(now, checkListLimit(limit)).map(deliveryFromRow);
    },
    async nextDueAt() {
      return selectNext.get()?.at ?? null;
    },
    async markDelivered(id, at, result) {
      delivered.run(at, result.slice(0, MAX_RESULT_CHARS), id);
    },
    async markFailed(id, at, result, nextAttemptAt) {
      failed.run(nextAttemptAt === null ? "failed" : "pending", nextAttemptAt ?? at, result.slice(0, MAX_RESULT_CHARS), id);
    },
    async list(options = {}) {
      const limit = checkListLimit(options.limit ?? 100);
      const rows =
        options.state === undefined
          ? db.prepare<[number], DeliveryRow>("SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ?").all(limit)
          : db.prepare<[string, number], DeliveryRow>("SELECT * FROM webhook_deliveries WHERE state = ? ORDER BY id DESC LIMIT ?").all(options.state, limit);
      return rows.map(deliveryFromRow);
    },
    async getCursor(name) {
      return getCursor.get(name)?.value ?? 0;
    },
    async setCursor(name, value) {
      setCursor.run(name, checkCursor(value));
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
