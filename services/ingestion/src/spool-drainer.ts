import { Backoff, type Logger } from "@bms/shared";
import type { DeadLetterStore, DurableQueue, QueuedBytes } from "@bms/storage";
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

/** Spooled samples taken for one write. */
interface TakenBatch {
  messages: QueuedBytes[];
  lineCount: number;
  /** Taken while a rejected batch is being split in halves. */
  split: boolean;
}

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
  /** When the oldest sample not taken for a write yet was spooled (null: none waits). */
  private waitingSince: number | null = null;
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
    this.waitingSince ??= Date.now();
    if (this.pendingLines >= this.options.batchSize && this.backoff.failures === 0) this.wake?.();
  }

  /** Stops the loop, then writes what is left for at most `timeoutMs`; the rest stays spooled. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    const deadline = Date.now() + timeoutMs;
    while (this.spool.size() > 0 && Date.now() < deadline) {
      const outcome = await this.writeBatch(this.takeBatch(0));
      if (outcome === "failed") await this.sleep(Math.min(this.backoff.current(), deadline - Date.now()), false);
    }
    const left = this.spool.size();
    if (left > 0) this.log.warn({ spoolSize: left }, `${left} samples stay in the spool and are written after the next start`);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const first = this.takeBatch(0);
      // Two writes in flight while a backlog lasts: the second only when a whole batch waits
      // behind the first, and never while a rejected batch is being split.
      const ahead =
        first.messages.length > 0 && this.messageLimit === Number.POSITIVE_INFINITY && this.backoff.failures === 0 && this.fullBatchWaits(first)
          ? this.takeBatch((first.messages[first.messages.length - 1] as QueuedBytes).id)
          : null;
      if (first.messages.length + (ahead?.messages.length ?? 0) >= this.spool.size()) this.waitingSince = null;
      const outcomes = await Promise.all([this.writeBatch(first), ...(ahead && ahead.messages.length > 0 ? [this.writeBatch(ahead)] : [])]);
      if (this.stopping) break;
      if (outcomes.includes("failed")) await this.sleep(this.backoff.current(), true);
      else if (!outcomes.includes("more")) await this.sleep(this.flushWait(), true);
    }
  }

  /**
   * Until the next write of a partial batch: the flush interval from when the oldest sample not
   * taken yet was spooled. Samples spooled while a write was in flight have waited that long already:
   * the end of a burst is written when its interval is up, not an interval after the last write.
   */
  private flushWait(): number {
    const interval = this.options.flushIntervalMs;
    return this.waitingSince === null ? interval : Math.max(0, this.waitingSince + interval - Date.now());
  }

  /** Whether a whole batch more than `taken` is spooled. */
  private fullBatchWaits(taken: TakenBatch): boolean {
    return (this.spool.size() - taken.messages.length) * this.avgLinesPerMessage >= this.options.batchSize;
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

  /**
   * The oldest spooled samples after `afterId` up to a batch of lines; each message's lines go to
   * the writer whole (already joined), as the bytes the spool holds.
   */
  private takeBatch(afterId: number): TakenBatch {
    const limit = this.messageLimit;
    const want = Math.min(limit, Math.max(1, Math.ceil(this.options.batchSize / this.avgLinesPerMessage)));
    const peeked = this.spool.peekBytes(want, afterId);
    const messages: QueuedBytes[] = [];
    let lineCount = 0;
    for (const message of peeked) {
      const own = countLines(message.payload);
      if (messages.length > 0 && lineCount + own > this.options.batchSize) break;
      messages.push(message);
      lineCount += own;
    }
    if (messages.length > 0) this.avgLinesPerMessage = Math.max(1, Math.round((this.avgLinesPerMessage * 3 + lineCount / messages.length) / 4));
    return { messages, lineCount, split: limit !== Number.POSITIVE_INFINITY };
  }

  private async writeBatch(taken: TakenBatch): Promise<BatchOutcome> {
    const { messages, lineCount } = taken;
    if (messages.length === 0) {
      this.pendingLines = 0;
      return "empty";
    }
    try {
      await this.writer.write(messages.map((m) => m.payload));
    } catch (err) {
      return this.onFailure(err, messages);
    }
    this.spool.remove(messages.map((m) => m.id));
    this.metrics.linesWritten.inc(lineCount);
    this.pendingLines = Math.max(0, this.pendingLines - lineCount);
    // A part of a rejected batch went through: the next try takes a whole batch again.
    if (taken.split) this.messageLimit = Number.POSITIVE_INFINITY;
    if (this.backoff.failures > 0) this.log.info({ failures: this.backoff.failures }, "time-series writes work again");
    this.backoff.reset();
    this.state = { lastWriteOk: true };
    this.metrics.writeOk.set(1);
    // A full batch means samples come faster than one write takes: what gathered meanwhile goes at
    // once (the end of a burst too), rather than after the flush interval meant for a trickle.
    const full = lineCount >= this.options.batchSize - this.avgLinesPerMessage;
    return this.spool.size() > 0 && (full || this.spool.size() * this.avgLinesPerMessage >= this.options.batchSize) ? "more" : "partial";
  }

  private async onFailure(err: unknown, messages: QueuedBytes[]): Promise<BatchOutcome> {
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
            payload: utf8.decode(bad.payload),
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

const utf8 = new TextDecoder();

/** Lines in a message's bytes (one sample's lines, joined with newlines). */
function countLines(bytes: Uint8Array): number {
  let n = 1;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}
