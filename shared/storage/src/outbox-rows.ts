import type { DeadLetter } from "./dead-letter-store";
import type { WebhookDelivery } from "./webhook-outbox";

// How webhook deliveries and dead letters are rows: the same columns in SQLite and PostgreSQL.

export interface DeliveryRow {
  id: number;
  key: string;
  url: string;
  body: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  state: WebhookDelivery["state"];
  last_result: string | null;
  delivered_at: number | null;
}

export function deliveryFromRow(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    key: row.key,
    url: row.url,
    body: row.body,
    createdAt: row.created_at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    state: row.state,
    lastResult: row.last_result,
    deliveredAt: row.delivered_at,
  };
}

export interface DeadLetterRow {
  id: number;
  received_at: number;
  topic: string;
  payload: string;
  reason: string;
}

export function deadLetterFromRow(row: DeadLetterRow): DeadLetter {
  return { id: row.id, receivedAt: row.received_at, topic: row.topic, payload: row.payload, reason: row.reason };
}
