import type { Logger } from "@bms/shared";
import type { DurableQueue, QueuedMessage } from "@bms/storage/sqlite-durable-queue";
import type { MqttClient } from "mqtt";

export interface OutboxPublisherOptions {
  queue: DurableQueue;
  client: MqttClient;
  log: Logger;
  siteId: string;
  /** Messages published but not yet acknowledged (PUBACK), at most. @default 100 */
  maxInFlight?: number;
  /** Wait after a publish the broker refused before trying again, ms. @default 1000 */
  retryDelayMs?: number;
}

/**
 * Store-and-forward: every sample goes into the durable queue first; this drains it to MQTT with
 * QoS 1 and removes a message only once its PUBACK arrived. While the broker is away messages stay
 * queued (on disk), so neither an outage nor an agent restart loses them.
 *
 * Two lanes, each oldest first: on every (re)connect, what is queued is the backlog; samples read
 * after that are live. Live samples go out as they come (an engineer sees the pack now), the
 * backlog fills the rest of the window with its original timestamps, until it is gone and the lanes
 * are one again. So each lane is in order per pack, the stream as a whole is not (the ingestion's
 * rules run the backlog as a lane of its own: docs/rules-and-cases.md, late samples).
 *
 * Delivery is at least once: after a reconnect the unacknowledged window (≤ maxInFlight) is sent
 * again, so a few duplicates are possible; `seq` lets consumers drop them.
 */
export class OutboxPublisher {
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  /** Ids published on the current connection and not yet removed. */
  private readonly inFlight = new Set<number>();
  private acked: number[] = [];
  private flushScheduled = false;
  /** Bumped on every connect/close: callbacks of an older connection only remove, never steer. */
  private generation = 0;
  /** Ids up to this one were queued before the current connection: the backlog. */
  private boundary = 0;
  /** The last id sent in each lane on the current connection. */
  private backlogCursor = 0;
  private liveCursor = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  published = 0;
  dropped = 0;

  constructor(private readonly options: OutboxPublisherOptions) {
    this.maxInFlight = options.maxInFlight ?? 100;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    options.client.on("connect", () => {
      this.resetWindow();
      this.boundary = options.queue.newestId();
      this.liveCursor = this.boundary;
      if (this.boundary > 0) {
        const backlog = options.queue.size();
        options.log.info({ siteId: options.siteId, backlog, oldestTs: this.oldestTs() }, "sending the outbox backlog");
      }
      this.pump();
    });
    options.client.on("close", () => this.resetWindow());
  }

  /** Appends one message durably, then tries to send. Never throws for a broker problem. */
  enqueue(topic: string, payload: string): void {
    const { dropped } = this.options.queue.push([{ topic, payload }]);
    if (dropped > 0) {
      this.dropped += dropped;
      this.options.log.warn({ siteId: this.options.siteId, dropped, totalDropped: this.dropped }, "outbox full: dropped the oldest samples");
    }
    this.pump();
  }

  size(): number {
    return this.options.queue.size();
  }

  bytes(): number {
    return this.options.queue.bytes();
  }

  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** `ts` of the oldest queued sample (its enqueue time when the payload has none). */
  oldestTs(): number | undefined {
    const [oldest] = this.options.queue.peek(1);
    if (!oldest) return undefined;
    try {
      const ts: unknown = (JSON.parse(oldest.payload) as { ts?: unknown }).ts;
      if (typeof ts === "number" && Number.isSafeInteger(ts)) return ts;
    } catch {
      // not JSON: fall back to when it was queued
    }
    return oldest.enqueuedAt;
  }

  /** Resolves once the queue is empty or `timeoutMs` passed; true when empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.pump();
    while (this.size() > 0 && Date.now() < deadline && this.options.client.connected) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.flushAcked();
    return this.size() === 0;
  }

  /** Stops sending; what is not acknowledged stays queued for the next start. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.flushAcked();
  }

  private resetWindow(): void {
    this.generation += 1;
    this.flushAcked();
    this.inFlight.clear();
    this.backlogCursor = 0;
    this.liveCursor = this.boundary;
  }

  private pump(): void {
    const { client, queue } = this.options;
    if (this.stopped || !client.connected) return;
    let room = this.maxInFlight - this.inFlight.size;
    if (room <= 0) return;
    const batch: QueuedMessage[] = [];
    // Live first: they are few (one per pack per poll), and the newest is what an engineer watches.
    const live = queue.peek(room, this.liveCursor);
    batch.push(...live);
    room -= live.length;
    if (room > 0 && this.backlogCursor < this.boundary) {
      const backlog = queue.peek(room, this.backlogCursor).filter((m) => m.id <= this.boundary);
      batch.push(...backlog);
      const last = backlog[backlog.length - 1];
      // Past the boundary nothing is left: the backlog lane is done for this connection.
      this.backlogCursor = last && backlog.length === room ? last.id : this.boundary;
    }
    const lastLive = live[live.length - 1];
    if (lastLive) this.liveCursor = lastLive.id;
    const generation = this.generation;
    for (const message of batch) {
      this.inFlight.add(message.id);
      client.publish(message.topic, message.payload, { qos: 1 }, (err) => this.settled(message.id, generation, err));
    }
  }

  private settled(id: number, generation: number, err: Error | undefined): void {
    if (!err) {
      this.acked.push(id);
      this.scheduleFlush();
      return;
    }
    if (generation !== this.generation) return; // the reconnect re-sends it anyway
    this.options.log.warn({ siteId: this.options.siteId, err: err.message }, "publish not acknowledged; will retry");
    // Send the window again from the start of both lanes, after a pause.
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.resetWindow();
      this.pump();
    }, this.retryDelayMs);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // PUBACKs arrive in bursts: one SQLite delete per burst, not per message.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushAcked();
      this.pump();
    });
  }

  private flushAcked(): void {
    if (this.acked.length === 0) return;
    const ids = this.acked;
    this.acked = [];
    try {
      this.options.queue.remove(ids);
    } catch (err) {
      // The queue is closed (shutdown): those will be sent again after the restart.
      this.options.log.warn({ siteId: this.options.siteId, err: (err as Error).message }, "could not remove acknowledged messages");
      return;
    }
    this.published += ids.length;
    for (const id of ids) this.inFlight.delete(id);
  }
}
