import type { IntakeConfig } from "@bms/shared/config/ingestion-config";

/**
 * Group commit: takes messages as they arrive and hands them on in batches, one batch at a time: a
 * batch closes when it is full (`maxBatch`) or `maxDelayMs` after its first message while nothing
 * else is being committed; while one is committing, the next fills. Past `maxPending` messages in
 * hand, `take` waits until a commit frees room: the broker's connection then waits too (TCP
 * backpressure) instead of the process growing.
 */
export class IntakeBatcher<T> {
  private pending: T[] = [];
  private inFlight = 0;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly options: IntakeConfig,
    /** Handles one batch; must not reject (it retries what can be retried itself). */
    private readonly handle: (batch: T[]) => Promise<void>,
  ) {}

  /** Messages taken and not committed yet. */
  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Takes one message; undefined when the next may come at once, else a promise that resolves when it may (no promise per message while there is room). */
  take(item: T): Promise<void> | undefined {
    this.pending.push(item);
    if (this.pending.length >= this.options.maxBatch) this.kick();
    else if (this.running === null && this.timer === null) this.timer = setTimeout(() => this.kick(), this.options.maxDelayMs);
    if (this.size < this.options.maxPending) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Hands on what is pending now and resolves when every batch is done. */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running !== null || this.pending.length === 0) return;
    // `finally` runs after the assignment, even if the loop ended at once.
    this.running = this.loop().finally(() => {
      this.inFlight = 0;
      this.running = null;
      this.wakeWaiters();
      // Taken between the loop's last look and now.
      if (this.pending.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.inFlight = batch.length;
      await this.handle(batch);
      this.inFlight = 0;
      this.wakeWaiters();
      // A batch's work runs on promises that settle at once (SQLite is synchronous): without a turn
      // of the event loop here, a backlog would be worked through before any other I/O, and the
      // spool's writes to the time-series server, timers and probes would wait for the whole of it.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private wakeWaiters(): void {
    while (this.roomWaiters.length > 0 && this.size < this.options.maxPending) this.roomWaiters.shift()?.();
  }
}
