import type { ClassicLevel } from "classic-level";

type Operation = { type: "put"; key: string; value: Buffer } | { type: "del"; key: string };

/** A value to write, or how to make it when its batch goes out (so a key put twice is encoded once). */
export type LevelValue = Buffer | (() => Buffer);

interface Pending {
  /** undefined: delete the key. */
  value: LevelValue | undefined;
  /** The key is not on disk: a delete before the put went out cancels both. */
  fresh: boolean;
}

/**
 * Group commit for LevelDB: puts and deletes are gathered and written in one `batch` at a time.
 * While one batch is being written the next one fills, so under load a batch holds whatever came
 * in meanwhile and the database sees one call where it saw several per message. A key written
 * twice before its batch goes out is written once, with its last value; a key put and deleted
 * before its batch goes out is not written at all.
 */
export class LevelWriteBatcher {
  private operations = new Map<string, Pending>();
  private waiting: { resolve(): void; reject(err: unknown): void }[] = [];
  private writing = false;
  private scheduled = false;

  constructor(
    private readonly db: ClassicLevel<string, string>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** `fresh`: the key is new (not on disk, not being written). */
  put(key: string, value: LevelValue, fresh = false): void {
    this.operations.set(key, { value, fresh: fresh || this.operations.get(key)?.fresh === true });
    this.schedule();
  }

  del(key: string): void {
    if (this.operations.get(key)?.fresh) this.operations.delete(key);
    else this.operations.set(key, { value: undefined, fresh: false });
    this.schedule();
  }

  /** Resolves once everything put or deleted so far is written; rejects if that batch failed. */
  written(): Promise<void> {
    if (this.operations.size === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // The rest of this turn of the event loop (a socket read's worth of messages) joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private async write(): Promise<void> {
    if (this.writing) return;
    const operations = this.operations;
    const waiting = this.waiting;
    this.operations = new Map();
    this.waiting = [];
    if (operations.size === 0) {
      for (const w of waiting) w.resolve();
      return;
    }
    this.writing = true;
    const batch: Operation[] = [];
    try {
      for (const [key, { value }] of operations) {
        if (value === undefined) batch.push({ type: "del", key });
        else batch.push({ type: "put", key, value: typeof value === "function" ? value() : value });
      }
      await this.db.batch(batch, { valueEncoding: "buffer" });
      for (const w of waiting) w.resolve();
    } catch (err) {
      this.onError(err);
      for (const w of waiting) w.reject(err);
    } finally {
      this.writing = false;
    }
    if (this.operations.size > 0 || this.waiting.length > 0) void this.write();
  }
}
