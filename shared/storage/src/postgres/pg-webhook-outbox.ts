import { type DeliveryRow, deliveryFromRow } from "../outbox-rows";
import { checkCursor, checkDeliveries, checkListLimit, MAX_RESULT_CHARS } from "../store-inputs";
import type { WebhookOutbox } from "../webhook-outbox";
import type { PgDatabase } from "./pg-database";

const ENQUEUE = `INSERT INTO webhook_deliveries (key, url, body, created_at, next_attempt_at, state)
  SELECT k, u, b, c, c, 'pending' FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) WITH ORDINALITY AS d(k, u, b, c, i) ORDER BY i
  ON CONFLICT (key) DO NOTHING`;
// In order per endpoint: only each URL's oldest pending delivery can be due.
const DUE = `SELECT * FROM webhook_deliveries d WHERE state = 'pending' AND next_attempt_at <= $1
  AND id = (SELECT min(id) FROM webhook_deliveries o WHERE o.state = 'pending' AND o.url = d.url)
  ORDER BY next_attempt_at, id LIMIT $2`;

/** The webhook outbox and delivery log in PostgreSQL. */
export function createPgWebhookOutbox(db: PgDatabase, release: () => Promise<void>): WebhookOutbox {
  return {
    async enqueue(deliveries) {
      checkDeliveries(deliveries);
      if (deliveries.length === 0) return 0;
      return db.run(ENQUEUE, [deliveries.map((d) => d.key), deliveries.map((d) => d.url), deliveries.map((d) => d.body), deliveries.map((d) => d.createdAt)]);
    },
    async due(now, limit) {
      return (await db.query<DeliveryRow>(DUE, [now, checkListLimit(limit)], "due-webhooks")).map(deliveryFromRow);
    },
    async nextDueAt() {
      const [row] = await db.query<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'");
      return row?.at ?? null;
    },
    async markDelivered(id, at, result) {
      await db.query("UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, last_result = $2 WHERE id = $3", [
        at,
        result.slice(0, MAX_RESULT_CHARS),
        id,
      ]);
    },
    async markFailed(id, at, result, nextAttemptAt) {
      await db.query("UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_result = $3 WHERE id = $4", [
        nextAttemptAt === null ? "failed" : "pending",
        nextAttemptAt ?? at,
        result.slice(0, MAX_RESULT_CHARS),
        id,
      ]);
    },
    async list(options = {}) {
      const limit = checkListLimit(options.limit ?? 100);
      const rows =
        options.state === undefined
          ? await db.query<DeliveryRow>("SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT $1", [limit])
          : await db.query<DeliveryRow>("SELECT * FROM webhook_deliveries WHERE state = $1 ORDER BY id DESC LIMIT $2", [options.state, limit]);
      return rows.map(deliveryFromRow);
    },
    async getCursor(name) {
      const [row] = await db.query<{ value: number }>("SELECT value FROM webhook_cursors WHERE name = $1", [name]);
      return row?.value ?? 0;
    },
    async setCursor(name, value) {
      await db.query("INSERT INTO webhook_cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [
        name,
        checkCursor(value),
      ]);
    },
    close: release,
  };
}
