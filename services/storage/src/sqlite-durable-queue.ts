import type { Statement } from "better-sqlite3";
import type { DurableQueue, QueuedMessage } from "./durable-queue";
import { chunks, openSqliteDatabase } from "./sqlite-database";
import { StoreInputError } from "./storage-errors";

export interface SqliteDurableQueueOptions {
  /** Bound on queued messages; past it the oldest are dropped (and counted by push). @default 1_000_000 */
  maxMessages?: number;
}

export const DEFAULT_MAX_QUEUED_MESSAGES = 1_000_000;

interface QueueRow {
  id: number;
  topic: string;
  payload: string;
  enqueued_at: number;
}

/**
 * A DurableQueue in a SQLite file. One process owns a queue file (the size is counted in memory,
 * so that push stays O(log n) at a million rows); the state table is part of the same file.
 */
export function openSqliteDurableQueue(file: string, options: SqliteDurableQueueOptions = {}): DurableQueue {
  const maxMessages = options.maxMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
    throw new StoreInputError(`maxMessages must be a whole number of at least 1, got ${String(maxMessages)}`);
  }
  const db = openSqliteDatabase(file, (d) => {
    // AUTOINCREMENT: ids are never reused, so a late remove() can never hit a newer message.
    d.exec(`
      CREATE TABLE IF NOT EXISTS queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS queue_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `);
  });

  const insert = db.prepare<[string, string, number]>("INSERT INTO queue (topic, payload, enqueued_at) VALUES (?, ?, ?)");
  const dropOldest = db.prepare<[number]>("DELETE FROM queue WHERE id IN (SELECT id FROM queue ORDER BY id LIMIT ?)");
  const selectOldest = db.prepare<[number], QueueRow>("SELECT id, topic, payload, enqueued_at FROM queue ORDER BY id LIMIT ?");
  const countRows = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM queue");
  const getState = db.prepare<[string], { value: string }>("SELECT value FROM queue_state WHERE key = ?");
  const setState = db.prepare<[string, string]>("INSERT INTO queue_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  const removeStatements = new Map<number, Statement<number[]>>();
  const removeStatement = (n: number) => {
    let stmt = removeStatements.get(n);
    if (!stmt) {
      stmt = db.prepare<number[]>(`DELETE FROM queue WHERE id IN (${Array.from({ length: n }, () => "?").join(",")})`);
      removeStatements.set(n, stmt);
    }
    return stmt;
  };

  let size = countRows.get()?.n ?? 0;

  const pushAll = db.transaction((messages: ReadonlyArray<{ topic: string; payload: string; enqueuedAt?: number }>, now: number) => {
    for (const m of messages) insert.run(m.topic, m.payload, m.enqueuedAt ?? now);
    const excess = size + messages.length - maxMessages;
    const dropped = excess > 0 ? dropOldest.run(excess).changes : 0;
    return { dropped, added: messages.length };
  });

  const removeAll = db.transaction((ids: readonly number[]) => {
    let removed = 0;
    for (const part of chunks(ids)) removed += removeStatement(part.length).run(...part).changes;
    return removed;
  });

  return {
    push(messages) {
      for (const m of messages) {
        if (typeof m.topic !== "string" || typeof m.payload !== "string") throw new StoreInputError("a queued message needs a string topic and payload");
        if (m.enqueuedAt !== undefined && !Number.isFinite(m.enqueuedAt)) throw new StoreInputError(`enqueuedAt must be a finite number, got ${m.enqueuedAt}`);
      }
      if (messages.length === 0) return { dropped: 0 };
      const { dropped, added } = pushAll(messages, Date.now());
      size += added - dropped;
      return { dropped };
    },
    peek(limit) {
      if (!Number.isSafeInteger(limit) || limit < 0) throw new StoreInputError(`peek limit must be a whole number >= 0, got ${limit}`);
      if (limit === 0) return [];
      return selectOldest.all(limit).map((r): QueuedMessage => ({ id: r.id, topic: r.topic, payload: r.payload, enqueuedAt: r.enqueued_at }));
    },
    remove(ids) {
      const valid = [...new Set(ids)].filter((id) => Number.isSafeInteger(id));
      if (valid.length === 0) return;
      size -= removeAll(valid);
    },
    size() {
      return size;
    },
    getState(key) {
      return getState.get(key)?.value;
    },
    setState(key, value) {
      if (typeof key !== "string" || typeof value !== "string") throw new StoreInputError("queue state keys and values are strings");
      setState.run(key, value);
    },
    close() {
      if (db.open) db.close();
    },
  };
}
