/** A queued row as pushed, with the bytes it counts against the queue's byte bound. */
export interface TailRow {
  id: number;
  topic: string;
  /** UTF-8, outside the JavaScript heap: rows held until the next hop took them are not the collector's to copy. */
  payload: Buffer;
  enqueuedAt: number;
  bytes: number;
}

/**
 * The newest rows of a SQLite queue, kept as they were pushed, up to a byte budget. A reader that
 * keeps up (the ingestion's spool drainer, the agent's outbox) takes what was just pushed: reading
 * it back from SQLite cost about 2 µs a row, and a delete that had to return each row's size read
 * its payload again (4.7 against 2.6 µs a row).
 * Invariant: every queued row with an id from `from` on is here, so a read after an id at or past
 * `from - 1` needs nothing from the database.
 */
export class QueueTail {
  private readonly rows = new Map<number, TailRow>();
  private from = Number.POSITIVE_INFINITY;
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Rows just committed; their ids are above every row queued before them. */
  add(rows: readonly TailRow[]): void {
    const first = rows[0];
    if (first && this.from === Number.POSITIVE_INFINITY) this.from = first.id;
    for (const row of rows) {
      this.rows.set(row.id, row);
      this.held += row.bytes;
    }
    // Past the budget the oldest go: the database still has them.
    for (const [id, row] of this.rows) {
      if (this.held <= this.maxBytes) break;
      this.rows.delete(id);
      this.held -= row.bytes;
      this.from = id + 1;
    }
  }

  /** Whether the rows after `afterId` are all here (`queued`: how many rows the queue holds). */
  covers(afterId: number, queued: number): boolean {
    return this.rows.size === queued || afterId >= this.from - 1;
  }

  /** Up to `limit` rows after `afterId`, oldest first (only when `covers`). */
  take(limit: number, afterId: number): TailRow[] {
    const out: TailRow[] = [];
    for (const row of this.rows.values()) {
      if (out.length >= limit) break;
      if (row.id > afterId) out.push(row);
    }
    return out;
  }

  has(id: number): boolean {
    return this.rows.has(id);
  }

  /** Forgets removed rows; answers the bytes they counted. */
  forget(ids: readonly number[]): number {
    let freed = 0;
    for (const id of ids) {
      const row = this.rows.get(id);
      if (!row) continue;
      this.rows.delete(id);
      this.held -= row.bytes;
      freed += row.bytes;
    }
    return freed;
  }

  /** After rows were dropped by a bound: starts afresh with the next push. */
  clear(): void {
    this.rows.clear();
    this.held = 0;
    this.from = Number.POSITIVE_INFINITY;
  }
}
