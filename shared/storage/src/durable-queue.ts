export interface QueuedMessage {
  id: number;
  topic: string;
  payload: string;
  enqueuedAt: number;
}

/** A queued message with its payload as UTF-8 bytes (DurableQueue.peekBytes). */
export interface QueuedBytes extends Omit<QueuedMessage, "payload"> {
  payload: Uint8Array;
}

/**
 * A local first-in-first-out queue that survives a crash: the edge agent's outbox (removed on
 * PUBACK) and the ingestion's write spool (removed once the time-series server took it).
 * Synchronous on purpose: a local SQLite commit is microseconds, and callers push before they
 * acknowledge upstream.
 */
export interface DurableQueue {
  /** Appends; when the queue would exceed a bound (messages or bytes), drops the oldest and returns how many. */
  push(messages: ReadonlyArray<{ topic: string; payload: string; enqueuedAt?: number }>): { dropped: number };
  /** The oldest `limit` messages (with an id above `afterId`, when given), not removed. */
  peek(limit: number, afterId?: number): QueuedMessage[];
  /**
   * `peek` with each payload as its UTF-8 bytes, for a caller that sends payloads on as they are
   * (the ingestion's write spool): a batch in flight then holds no string per message on the
   * JavaScript heap for the garbage collector to copy while the next hop takes it.
   */
  peekBytes(limit: number, afterId?: number): QueuedBytes[];
  /** Removes by id (after the next hop confirmed them). */
  remove(ids: readonly number[]): void;
  size(): number;
  /** The id of the newest queued message; 0 when the queue is empty. */
  newestId(): number;
  /** Bytes the queued messages hold (topic + payload, UTF-8): what the byte bound counts. */
  bytes(): number;
  /** A small key/value area beside the queue (e.g. the agent's last sequence number). */
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  close(): void;
}
