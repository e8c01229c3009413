/** A webhook delivery waiting, delivered or given up. */
export interface WebhookDelivery {
  id: number;
  /** Unique: the same (event, endpoint) is queued once. */
  key: string;
  url: string;
  /** The exact body sent (signed as is). */
  body: string;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  state: "pending" | "delivered" | "failed";
  /** The last HTTP status or error, in words. */
  lastResult: string | null;
  deliveredAt: number | null;
}

export interface NewWebhookDelivery {
  key: string;
  url: string;
  body: string;
  createdAt: number;
}

/**
 * The durable queue of outgoing webhooks and their log. Every implementation runs
 * test/webhook-outbox.conformance.ts.
 */
export interface WebhookOutbox {
  /** Queues deliveries whose key is new; returns how many were added. */
  enqueue(deliveries: readonly NewWebhookDelivery[]): Promise<number>;
  /** Pending deliveries due at `now`, oldest first; in order per URL (only a URL's oldest pending one can be due). */
  due(now: number, limit: number): Promise<WebhookDelivery[]>;
  /** The earliest nextAttemptAt of a pending delivery, or null. */
  nextDueAt(): Promise<number | null>;
  markDelivered(id: number, at: number, result: string): Promise<void>;
  /** A failed attempt: retry at `nextAttemptAt`, or give up when it is null. */
  markFailed(id: number, at: number, result: string, nextAttemptAt: number | null): Promise<void>;
  /** Newest first. */
  list(options?: { limit?: number; state?: WebhookDelivery["state"] }): Promise<WebhookDelivery[]>;
  /** A named position (e.g. the last case timeline entry turned into deliveries). */
  getCursor(name: string): Promise<number>;
  setCursor(name: string, value: number): Promise<void>;
  close(): Promise<void>;
}
