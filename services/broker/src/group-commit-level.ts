import type { ClassicLevel } from "classic-level";

/** The slice of the LevelDB API aedes-persistence-level calls. */
type Db = ClassicLevel<string, Buffer>;
type ValuesOptions = Parameters<Db["values"]>[0];
type ClearOptions = Parameters<Db["clear"]>[0];
type BatchOp = { type: "put"; key: string; value: Buffer } | { type: "del"; key: string };

const BUFFER_VALUES = { valueEncoding: "buffer" } as const;

interface Group {
  /** Per key the last write: a value, or null for a delete. */
  writes: Map<string, Buffer | null>;
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A group nobody waits on must not become an unhandled rejection; callers get `done` itself.
  done.catch(() => undefined);
  return { writes: new Map(), done, resolve, reject };
}

/**
 * LevelDB with group commit, in front of aedes-persistence-level.
 *
 * aedes-persistence-level stores a QoS 1 copy for a persistent session with five calls, each a
 * round trip through libuv's thread pool: a put when it is queued, a get and two puts when it gets
 * its message ID (one after the other, before the copy goes to the socket), a get and a delete when
 * the client acknowledges it. At 1 000 messages a second to two persistent sessions that is 10 000
 * round trips a second, and every delivery waits behind the ones queued before it.
 *
 * Here writes gather while one batch is being written and go as the next single `batch()`: a write
 * resolves when the batch holding it is in LevelDB, as before (LevelDB's log, not fsync, as
 * classic-level's own put). Reads see a write at once (the gathering batch, the one being written,
 * recently put values, then the database), and only the last write of a key goes to disk: a copy
 * put and deleted within one batch never reaches it. Range reads and clears first wait until everything
 * written before them is in the database.
 */
export class GroupCommitLevel {
  private gathering: Group | null = null;
  private writing: Group | null = null;
  /**
   * The values put most recently, oldest first, for reads: aedes reads a queued copy back when it
   * gives it a message ID and again when the client acknowledges it, and would go to the disk for
   * each (a get costs the main thread more than the batch that wrote it). A delete takes its key out.
   */
  private readonly recent = new Map<string, Buffer>();
  private closed = false;

  /** `recentValues`: how many recently put values are kept for reads. @default 10000 */
  constructor(
    private readonly db: Db,
    private readonly recentValues = 10_000,
  ) {}

  async get(key: string, options?: Parameters<Db["get"]>[1]): Promise<Buffer | undefined> {
    const known = this.knownValue(key);
    if (known !== undefined) return known ?? undefined;
    return (await this.db.get(key, options ?? BUFFER_VALUES)) as Buffer | undefined;
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.stage([{ type: "put", key, value }]);
  }

  del(key: string): Promise<void> {
    return this.stage([{ type: "del", key }]);
  }

  /** `batch(ops)` stages the operations; `batch()` gives a chained batch whose `write()` does. */
  batch(ops: readonly BatchOp[], options?: unknown): Promise<void>;
  batch(): ChainedBatch;
  batch(ops?: readonly BatchOp[], _options?: unknown): Promise<void> | ChainedBatch {
    if (ops === undefined) return new ChainedBatch((staged) => this.stage(staged));
    return this.stage(ops);
  }

  async clear(options: ClearOptions): Promise<void> {
    await this.settled();
    for (const key of this.recent.keys()) if (inRange(key, options)) this.recent.delete(key);
    await this.db.clear(options);
  }

  async *values(options: ValuesOptions): AsyncGenerator<Buffer> {
    await this.settled();
    for await (const value of this.db.values(options)) yield value as Buffer;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    await this.db.close();
  }

  /** Resolves once every write staged so far is in the database (rejects if its batch failed). */
  private async settled(): Promise<void> {
    const waits = [this.writing?.done, this.gathering?.done].filter((p): p is Promise<void> => p !== undefined);
    await Promise.all(waits);
  }

  /**
   * `key`'s value as known here without the database: a write not yet in it (null: deleted) or a
   * value put recently; undefined when the database has to answer.
   */
  private knownValue(key: string): Buffer | null | undefined {
    const gathering = this.gathering?.writes;
    if (gathering?.has(key)) return gathering.get(key) ?? null;
    const writing = this.writing?.writes;
    if (writing?.has(key)) return writing.get(key) ?? null;
    const recent = this.recent.get(key);
    if (recent !== undefined) return recent;
    return undefined;
  }

  private stage(ops: readonly BatchOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the broker's database is closed: write refused"));
    if (this.gathering === null) {
      this.gathering = newGroup();
      if (this.writing === null) setImmediate(() => this.writeNext());
    }
    for (const op of ops) {
      this.gathering.writes.set(op.key, op.type === "put" ? op.value : null);
      this.recent.delete(op.key);
      if (op.type === "put") this.recent.set(op.key, op.value);
    }
    for (const key of this.recent.keys()) {
      if (this.recent.size <= this.recentValues) break;
      this.recent.delete(key);
    }
    return this.gathering.done;
  }

  /** Writes the gathered group as one batch; the next group starts gathering meanwhile. */
  private writeNext(): void {
    const group = this.gathering;
    if (group === null || this.writing !== null) return;
    this.gathering = null;
    this.writing = group;
    const ops: BatchOp[] = [];
    for (const [key, value] of group.writes) ops.push(value === null ? { type: "del", key } : { type: "put", key, value });
    this.db.batch(ops, BUFFER_VALUES).then(
      () => this.finish(group, null),
      (err: unknown) => this.finish(group, err),
    );
  }

  private finish(group: Group, err: unknown): void {
    this.writing = null;
    if (err === null) group.resolve();
    else {
      // Not in the database: reads must not see it either.
      for (const key of group.writes.keys()) this.recent.delete(key);
      group.reject(err);
    }
    if (this.gathering !== null) this.writeNext();
  }
}

/** Whether `key` falls in a LevelDB range (gt/gte/lt/lte; a missing bound is open). */
function inRange(key: string, range: ClearOptions): boolean {
  const r = (range ?? {}) as { gt?: string; gte?: string; lt?: string; lte?: string };
  if (r.gt !== undefined && !(key > r.gt)) return false;
  if (r.gte !== undefined && !(key >= r.gte)) return false;
  if (r.lt !== undefined && !(key < r.lt)) return false;
  if (r.lte !== undefined && !(key <= r.lte)) return false;
  return true;
}

/** `db.batch()` without arguments, as aedes-persistence-level uses it to clear a message ID. */
class ChainedBatch {
  private readonly ops: BatchOp[] = [];

  constructor(private readonly commit: (ops: readonly BatchOp[]) => Promise<void>) {}

  put(key: string, value: Buffer): this {
    this.ops.push({ type: "put", key, value });
    return this;
  }

  del(key: string): this {
    this.ops.push({ type: "del", key });
    return this;
  }

  write(): Promise<void> {
    return this.commit(this.ops);
  }
}
