import { Backoff, type Logger } from "@bms/shared";
import type { DeadLetterStore, DurableQueue, QueuedMessage } from "@bms/storage";
import { TimeSeriesWriteError, type TimeSeriesWriter } from "./influx-writer";
import type { IngestionMetrics } from "./ingestion-metrics";

export interface SpoolDrainerOptions {
  /** Lines per write request (a sample's lines are never split). */
  batchSize: number;
  /** Longest a spooled sample waits before a write is attempted, ms. */
  flushIntervalMs: number;
  /** First retry delay after a failed write, doubled per failure. @default 500 */
  minBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
}

export interface DrainStatus {
  lastWriteOk: boolean;
  lastWriteError?: string;
}

type BatchOutcome = "empty" | "partial" | "more" | "failed";

/**
 * Moves spooled samples (one message = one sample's line protocol) to the time-series server.
 * A message leaves the spool only when the server took it, or when the server rejected it as bad
 * data (then it goes to the dead-letter store with the server's message). A batch the server
 * rejects is split in halves until the one bad sample is found, so one bad line cannot block the
 * spool and does not take good samples with it.
 */
export class SpoolDrainer {
  private readonly backoff: Backoff;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pendingLines = 0;
  private avgLinesPerMessage = 2;
  /** Bisection of a rejected batch: at most this many messages in the next request. */
  private messageLimit = Number.POSITIVE_INFINITY;
  private state: DrainStatus = { lastWriteOk: true };

  constructor(
    private readonly spool: DurableQueue,
    private readonly writer: TimeSeriesWriter,
    private readonly deadLetters: DeadLetterStore,
    private readonly options: SpoolDrainerOptions,
    private readonly metrics: IngestionMetrics,
    private readonly log: Logger,
  ) {
    this.backoff = new Backoff({ minMs: options.minBackoffMs ?? 500, maxMs: options.maxBackoffMs ?? 30_000 });
    this.metrics.writeOk.set(1);
  }

  status(): DrainStatus {
    return { ...this.state };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Lines were spooled: write at once when a full batch is waiting instead of waiting for the interval. */
  notify(lines: number): void {
    this.pendingLines += lines;
    if (this.pendingLines >= this.options.batchSize && this.backoff.failures === 0) this.wake?.();
  }

  /** Stops the loop, then writes what is left for at most `timeoutMs`; the rest stays spooled. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    const deadline = Date.now() + timeoutMs;
    while (this.spool.size() > 0 && Date.now() < deadline) {
      const outcome = await this.writeBatch();
      if (outcome === "failed") await this.sleep(Math.min(this.backoff.current(), deadline - Date.now()), false);
    }
    const left = this.spool.size();
    if (left > 0) this.log.warn({ spoolSize: left }, `${left} samples stay in the spool and are written after the next start`);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const outcome = await this.writeBatch();
      if (this.stopping) break;
      if (outcome === "more") continue;
      await this.sleep(outcome === "failed" ? this.backoff.current() : this.options.flushIntervalMs, true);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (wakeable) this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private takeBatch(): { messages: QueuedMessage[]; lines: string[] } {
    const want = Math.min(this.messageLimit, Math.max(1, Math.ceil(this.options.batchSize / this.avgLinesPerMessage)));
    const peeked = this.spool.peek(want);
    const messages: QueuedMessage[] = [];
    const lines: string[] = [];
    for (const message of peeked) {
      const own = message.payload.split("\n");
      if (messages.length > 0 && lines.length + own.length > this.options.batchSize) break;
      messages.push(message);
      lines.push(...own);
    }
    if (messages.length > 0) this.avgLinesPerMessage = Math.max(1, Math.round((this.avgLinesPerMessage * 3 + lines.length / messages.length) / 4));
    return { messages, lines };
  }

  private async writeBatch(): Promise<BatchOutcome> {
    const { messages, lines } = this.takeBatch();
    if (messages.length === 0) {
      this.pendingLines = 0;
      return "empty";
    }
    try {
      await this.writer.write(lines);
    } catch (err) {
      return this.onFailure(err, messages);
    }
    this.spool.remove(messages.map((m) => m.id));
    this.metrics.linesWritten.inc(lines.length);
    this.pendingLines = Math.max(0, this.pendingLines - lines.length);
    this.messageLimit = Number.POSITIVE_INFINITY;
    if (this.backoff.failures > 0) this.log.info({ failures: this.backoff.failures }, "time-series writes work again");
    this.backoff.reset();
    this.state = { lastWriteOk: true };
    this.metrics.writeOk.set(1);
    // A full batch means samples come faster than one write takes: what gathered meanwhile goes at
    // once (the end of a burst too), rather than after the flush interval meant for a trickle.
    const full = lines.length >= this.options.batchSize - this.avgLinesPerMessage;
    return this.spool.size() > 0 && (full || this.spool.size() * this.avgLinesPerMessage >= this.options.batchSize) ? "more" : "partial";
  }

  private async onFailure(err: unknown, messages: QueuedMessage[]): Promise<BatchOutcome> {
    const message = err instanceof Error ? err.message : String(err);
    this.metrics.writeFailures.inc();
    if (err instanceof TimeSeriesWriteError && err.permanent) {
      if (messages.length > 1) {
        this.messageLimit = Math.ceil(messages.length / 2);
        return "more";
      }
      const [bad] = messages;
      if (bad) {
        try {
          await this.deadLetters.add({
            receivedAt: bad.enqueuedAt,
            topic: bad.topic,
            payload: bad.payload,
            reason: `time-series server rejected the sample: ${message}`,
          });
        } catch (dlErr) {
          return this.onFailure(dlErr, messages);
        }
        this.spool.remove([bad.id]);
        this.metrics.deadLetters.inc({ reason: "write_rejected" });
        this.log.error({ topic: bad.topic, err: message }, "the time-series server rejected a sample; it was dead-lettered");
      }
      this.messageLimit = Number.POSITIVE_INFINITY;
      return "more";
    }
    const retryInMs = this.backoff.next();
    this.state = { lastWriteOk: false, lastWriteError: message };
    this.metrics.writeOk.set(0);
    this.log.warn({ failures: this.backoff.failures, retryInMs, spoolSize: this.spool.size() }, `time-series write failed, will retry: ${message}`);
    return "failed";
  }
}
