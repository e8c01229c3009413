import type { Logger } from "@bms/shared";
import type { DurableQueue } from "@bms/storage";
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
 * QoS 1, oldest first, and removes a message only once its PUBACK arrived. While the broker is away
 * messages stay queued (on disk), so neither an outage nor an agent restart loses them.
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
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  published = 0;
  dropped = 0;

  constructor(private readonly options: OutboxPublisherOptions) {
    this.maxInFlight = options.maxInFlight ?? 100;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    options.client.on("connect", () => {
      this.resetWindow();
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

  inFlightCount(): number {
    return this.inFlight.size;
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
  }

  private pump(): void {
    const { client, queue } = this.options;
    if (this.stopped || !client.connected) return;
    const room = this.maxInFlight - this.inFlight.size;
    if (room <= 0) return;
    const batch = queue
      .peek(this.inFlight.size + room)
      .filter((m) => !this.inFlight.has(m.id))
      .slice(0, room);
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
    this.inFlight.delete(id);
    this.options.log.warn({ siteId: this.options.siteId, err: err.message }, "publish not acknowledged; will retry");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.pump(), this.retryDelayMs);
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
