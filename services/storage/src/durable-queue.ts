export interface QueuedMessage {
  id: number;
  topic: string;
  payload: string;
  enqueuedAt: number;
}

/**
 * A local first-in-first-out queue that survives a crash: the edge agent's outbox (removed on
 * PUBACK) and the ingestion's write spool (removed once the time-series server took it).
 * Synchronous on purpose: a local SQLite commit is microseconds, and callers push before they
 * acknowledge upstream.
 */
export interface DurableQueue {
  /** Appends; when the queue would exceed its bound, drops the oldest and returns how many. */
  push(messages: ReadonlyArray<{ topic: string; payload: string; enqueuedAt?: number }>): { dropped: number };
  /** The oldest `limit` messages, not removed. */
  peek(limit: number): QueuedMessage[];
  /** Removes by id (after the next hop confirmed them). */
  remove(ids: readonly number[]): void;
  size(): number;
  /** A small key/value area beside the queue (e.g. the agent's last sequence number). */
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  close(): void;
}
