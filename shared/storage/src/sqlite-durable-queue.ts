import type { Statement } from "better-sqlite3";
import type { DurableQueue, QueuedBytes, QueuedMessage } from "./durable-queue";
import { QueueTail, type TailRow } from "./queue-tail";
import { chunks, openSqliteDatabase, type StoreSchema } from "./sqlite-database";
import { StoreInputError } from "./storage-errors";

/** The queue's interface, with its SQLite implementation (`@bms/storage/sqlite-durable-queue`: the edge agent's one import of the stores). */
export type { DurableQueue, QueuedBytes, QueuedMessage };

export interface SqliteDurableQueueOptions {
  /** Bound on queued messages; past it the oldest are dropped (and counted by push). @default 1_000_000 */
  maxMessages?: number;
  /** Bound on queued bytes (topic + payload, UTF-8); past it the oldest are dropped (and counted by push). @default unbounded */
  maxBytes?: number;
}

export const DEFAULT_MAX_QUEUED_MESSAGES = 1_000_000;
/** The newest rows kept in memory as pushed (queue-tail.ts), bytes. */
const TAIL_BYTES = 4 * 1024 * 1024;

/** Bytes a message counts against maxBytes (its topic and payload in UTF-8), in SQL as push counts them. */
const BYTES_SQL = "length(CAST(topic AS BLOB)) + length(CAST(payload AS BLOB))";

/** The queue's tables, version by version. */
const QUEUE_SCHEMA: StoreSchema = {
  store: "durable-queue",
  steps: [
    {
      version: 1,
      does: "queue and queue_state",
      // AUTOINCREMENT: ids are never reused, so a late remove() can never hit a newer message.
      up: (db) =>
        db.exec(`
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
        `),
    },
  ],
};

function checkPeek(limit: number, afterId: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new StoreInputError(`peek limit must be a whole number >= 0, got ${limit}`);
  if (!Number.isSafeInteger(afterId)) throw new StoreInputError(`peek afterId must be a whole number, got ${afterId}`);
}

/** The oldest rows after an id, with `payload` read as the given column expression. */
const selectOldestSql = (payload: string) => `SELECT id, topic, ${payload} AS payload, enqueued_at AS enqueuedAt FROM queue WHERE id > ? ORDER BY id LIMIT ?`;

/**
 * A DurableQueue in a SQLite file. One process owns a queue file (the size is counted in memory,
 * so that push stays O(log n) at a million rows); the state table is part of the same file.
 */
export function openSqliteDurableQueue(file: string, options: SqliteDurableQueueOptions = {}): DurableQueue {
  const maxMessages = options.maxMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
    throw new StoreInputError(`maxMessages must be a whole number of at least 1, got ${String(maxMessages)}`);
  }
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!(maxBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxBytes) && maxBytes >= 1))) {
    throw new StoreInputError(`maxBytes must be a whole number of at least 1, got ${String(maxBytes)}`);
  }
  const db = openSqliteDatabase(file, QUEUE_SCHEMA);

  const insert = db.prepare<[string, string, number]>("INSERT INTO queue (topic, payload, enqueued_at) VALUES (?, ?, ?)");
  const tail = new QueueTail(TAIL_BYTES);
  const dropOldest = db.prepare<[number], { bytes: number }>(
    `DELETE FROM queue WHERE id IN (SELECT id FROM queue ORDER BY id LIMIT ?) RETURNING ${BYTES_SQL} AS bytes`,
  );
  const dropThrough = db.prepare<[number], { bytes: number }>(`DELETE FROM queue WHERE id <= ? RETURNING ${BYTES_SQL} AS bytes`);
  const oldestSizes = db.prepare<[number, number], { id: number; bytes: number }>(
    `SELECT id, ${BYTES_SQL} AS bytes FROM queue WHERE id > ? ORDER BY id LIMIT ?`,
  );
  const selectOldest = db.prepare<[number, number], QueuedMessage>(selectOldestSql("payload"));
  // A TEXT value cast to BLOB comes back as its UTF-8 bytes, in a Buffer outside the JavaScript heap.
  const selectOldestBytes = db.prepare<[number, number], QueuedBytes>(selectOldestSql("CAST(payload AS BLOB)"));
  const newest = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM queue");
  const countRows = db.prepare<[], { n: number; bytes: number }>(`SELECT count(*) AS n, coalesce(sum(${BYTES_SQL}), 0) AS bytes FROM queue`);
  const getState = db.prepare<[string], { value: string }>("SELECT value FROM queue_state WHERE key = ?");
  const setState = db.prepare<[string, string]>("INSERT INTO queue_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  /** DELETE … WHERE id IN (n ids), with or without each row's size returned: prepared once per n. */
  const removeStatements = new Map<string, Statement<number[], { bytes: number }>>();
  const removeStatement = (n: number, returning: boolean) => {
    const key = `${n}${returning ? "r" : ""}`;
    let stmt = removeStatements.get(key);
    if (!stmt) {
      const ids = Array.from({ length: n }, () => "?").join(",");
      stmt = db.prepare<number[], { bytes: number }>(`DELETE FROM queue WHERE id IN (${ids})${returning ? ` RETURNING ${BYTES_SQL} AS bytes` : ""}`);
      removeStatements.set(key, stmt);
    }
    return stmt;
  };

  const counted = countRows.get();
  let size = counted?.n ?? 0;
  let bytes = counted?.bytes ?? 0;

  /** Drops the oldest until `excess` bytes are gone; returns what it dropped. */
  const dropBytes = (excess: number): { dropped: number; bytes: number } => {
    let freed = 0;
    let through = 0;
    let after = 0;
    while (freed < excess) {
      const rows = oldestSizes.all(after, 256);
      if (rows.length === 0) break;
      for (const row of rows) {
        freed += row.bytes;
        through = row.id;
        if (freed >= excess) break;
      }
      after = through;
    }
    const gone = through > 0 ? dropThrough.all(through) : [];
    return { dropped: gone.length, bytes: gone.reduce((n, r) => n + r.bytes, 0) };
  };

  const pushAll = db.transaction((messages: ReadonlyArray<{ topic: string; payload: string; enqueuedAt?: number }>, now: number, pushed: TailRow[]) => {
    let added = 0;
    for (const m of messages) {
      const enqueuedAt = m.enqueuedAt ?? now;
      const id = Number(insert.run(m.topic, m.payload, enqueuedAt).lastInsertRowid);
      const payload = Buffer.from(m.payload);
      const own = Buffer.byteLength(m.topic) + payload.length;
      pushed.push({ id, topic: m.topic, payload, enqueuedAt, bytes: own });
      added += own;
    }
    size += messages.length;
    bytes += added;
    let dropped = 0;
    const excess = size - maxMessages;
    if (excess > 0) {
      const gone = dropOldest.all(excess);
      dropped += gone.length;
      size -= gone.length;
      bytes -= gone.reduce((n, r) => n + r.bytes, 0);
    }
    if (bytes > maxBytes) {
      const gone = dropBytes(bytes - maxBytes);
      dropped += gone.dropped;
      size -= gone.dropped;
      bytes -= gone.bytes;
    }
    return { dropped };
  });

  const removeAll = db.transaction((ids: readonly number[]) => {
    let removed = 0;
    let freed = 0;
    for (const part of chunks(ids)) {
      for (const row of removeStatement(part.length, true).all(...part)) {
        removed += 1;
        freed += row.bytes;
      }
    }
    return { removed, freed };
  });
  /** Rows all in the tail: their sizes are known, so the delete returns nothing. */
  const removeKnown = db.transaction((ids: readonly number[]) => {
    for (const part of chunks(ids)) removeStatement(part.length, false).run(...part);
  });

  return {
    push(messages) {
      for (const m of messages) {
        if (typeof m.topic !== "string" || typeof m.payload !== "string") throw new StoreInputError("a queued message needs a string topic and payload");
        if (m.enqueuedAt !== undefined && !Number.isFinite(m.enqueuedAt)) throw new StoreInputError(`enqueuedAt must be a finite number, got ${m.enqueuedAt}`);
      }
      if (messages.length === 0) return { dropped: 0 };
      const before = { size, bytes };
      const pushed: TailRow[] = [];
      try {
        const result = pushAll(messages, Date.now(), pushed);
        // Rows a bound dropped may be any of the tail's, these included: it starts afresh with the next push.
        if (result.dropped > 0) tail.clear();
        else tail.add(pushed);
        return result;
      } catch (err) {
        // The transaction rolled back: so do the counts.
        size = before.size;
        bytes = before.bytes;
        throw err;
      }
    },
    peek(limit, afterId = 0) {
      checkPeek(limit, afterId);
      if (limit === 0) return [];
      if (!tail.covers(afterId, size)) return selectOldest.all(afterId, limit);
      return tail.take(limit, afterId).map(({ id, topic, payload, enqueuedAt }) => ({ id, topic, payload: payload.toString(), enqueuedAt }));
    },
    peekBytes(limit, afterId = 0) {
      checkPeek(limit, afterId);
      if (limit === 0) return [];
      if (!tail.covers(afterId, size)) return selectOldestBytes.all(afterId, limit);
      return tail.take(limit, afterId).map(({ id, topic, payload, enqueuedAt }) => ({ id, topic, payload, enqueuedAt }));
    },
    remove(ids) {
      const valid = [...new Set(ids)].filter((id) => Number.isSafeInteger(id));
      if (valid.length === 0) return;
      if (valid.every((id) => tail.has(id))) {
        removeKnown(valid);
        size -= valid.length;
        bytes -= tail.forget(valid);
        return;
      }
      const { removed, freed } = removeAll(valid);
      tail.forget(valid);
      size -= removed;
      bytes -= freed;
    },
    size() {
      return size;
    },
    bytes() {
      return bytes;
    },
    newestId() {
      return newest.get()?.id ?? 0;
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
