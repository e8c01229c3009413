import { hostname } from "node:os";
import { Backoff, type Logger, parseTopic } from "@bms/shared";
import type { AmqpIntakeConfig } from "@bms/shared/config/scale-out-config";
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from "amqplib";
import type { IngestionMetrics } from "../ingestion-metrics";
import { declarePartitions, partitionQueue, topicOfRoutingKey } from "./amqp-topology";
import { homeOf } from "./rendezvous";
import { WorkerGroup } from "./worker-group";

/** One consumer of one partition queue, on a channel of its own (closing it gives back what it holds, in order). */
interface Lease {
  partition: number;
  channel: Channel;
  /** When its first message came: the queue made this consumer the active one. Null while standing by. */
  activeSince: number | null;
  /** Messages handed on and not acknowledged yet. */
  outstanding: number;
  /** Handing over: messages that come now are not handed on (they go back to the queue with the channel). */
  leaving: boolean;
  closed: boolean;
  /** `site/pack` of every sample it brought: what the rules forget when the partition goes. */
  packs: Set<string>;
  drained: (() => void) | null;
}

/** One sample as a partition brought it; acknowledged with `PartitionSource.ack` once durable. */
export interface PartitionDelivery {
  topic: string;
  payload: Uint8Array;
  partition: number;
  lease: Lease;
  message: ConsumeMessage;
}

export interface PartitionSourceEvents {
  delivery(delivery: PartitionDelivery): void;
  /** This worker no longer consumes `partition`: its packs may change on another worker from now on. */
  lost(partition: number, packs: string[]): void;
  leadership(leader: boolean): void;
}

/** A partition handed over and taken back within this is left alone for HANDOVER_PAUSE_MS (its home worker is not consuming it). */
const BOUNCE_MS = 10_000;
const HANDOVER_PAUSE_MS = 30_000;

function withHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  u.searchParams.set("heartbeat", String(seconds));
  return u.toString();
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password !== "") u.password = "***";
  return u.toString();
}

/**
 * The partitioned intake's side of RabbitMQ: declares the topology, consumes every partition queue
 * on a channel of its own (`prefetch` messages at a time) and hands the samples on. Each queue has a
 * single active consumer: this worker receives from the partitions where it is active and stands
 * by for the others, which RabbitMQ gives it when their worker's connection closes (a killed
 * worker's at once; a vanished machine's after the heartbeat). Acknowledgements are one
 * multiple-ack per partition per batch.
 *
 * Placement: every partition has a home worker among the live ones (rendezvous.ts). A worker active
 * on a partition whose home worker said it is alive since the partition came here hands it over:
 * it stops handing on that partition's messages, waits until what it handed on is acknowledged,
 * then closes the partition's channel (RabbitMQ returns the rest to the queue, in order, and makes
 * the next consumer in line active) and consumes again, now last in line. So load spreads when
 * workers join and comes back when a worker returns.
 */
export class PartitionSource {
  readonly workerId: string;
  private readonly group: WorkerGroup;
  private readonly leases: (Lease | null)[];
  private readonly handedOverAt = new Map<number, number>();
  private connection: ChannelModel | null = null;
  private connected = false;
  private closing = false;
  private loop: Promise<void> | null = null;
  private readonly backoff: Backoff;

  constructor(
    private readonly config: AmqpIntakeConfig,
    private readonly events: PartitionSourceEvents,
    private readonly metrics: IngestionMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.workerId = config.workerId ?? `${hostname()}-${process.pid}`;
    this.leases = Array.from({ length: config.partitions }, () => null);
    this.backoff = new Backoff({ minMs: config.reconnectPeriodMs, maxMs: 30_000 });
    this.group = new WorkerGroup(
      this.workerId,
      config.presenceIntervalMs,
      {
        leadership: (leader) => {
          metrics.leader.set(leader ? 1 : 0);
          events.leadership(leader);
        },
        heard: () => this.rebalance(),
      },
      log.child({ worker: this.workerId }),
      now,
    );
  }

  /** Connected, topology declared, every partition consumed or stood by for. */
  isReady(): boolean {
    return this.connected;
  }

  get isLeader(): boolean {
    return this.group.isLeader;
  }

  /** Partitions this worker is the active consumer of. */
  activePartitions(): number[] {
    return this.leases.filter((l): l is Lease => l !== null && !l.closed && l.activeSince !== null).map((l) => l.partition);
  }

  /** Connects (and keeps reconnecting with backoff); resolves after the first connection or `timeoutMs`. */
  async start(timeoutMs: number): Promise<boolean> {
    let first: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      first = resolve;
    });
    this.loop = this.run(first);
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([ready.then(() => true), timer]);
  }

  /** False when the message came on a partition this worker no longer consumes (another has it now). */
  isCurrent(delivery: PartitionDelivery): boolean {
    return !delivery.lease.closed;
  }

  /** Acknowledges these deliveries: one multiple-ack per partition, up to its newest. */
  ack(deliveries: readonly PartitionDelivery[]): void {
    const newest = new Map<Lease, { message: ConsumeMessage; count: number }>();
    for (const d of deliveries) {
      const seen = newest.get(d.lease);
      if (!seen) newest.set(d.lease, { message: d.message, count: 1 });
      else {
        seen.count++;
        if (d.message.fields.deliveryTag > seen.message.fields.deliveryTag) seen.message = d.message;
      }
    }
    for (const [lease, { message, count }] of newest) {
      lease.outstanding -= count;
      if (!lease.closed) {
        try {
          lease.channel.ack(message, true);
        } catch (err) {
          this.log.warn(
            { partition: lease.partition, err: (err as Error).message },
            "could not acknowledge (the channel closed): RabbitMQ delivers those messages again",
          );
        }
      }
      if (lease.outstanding <= 0) lease.drained?.();
    }
  }

  /** Closes the connection: what is not acknowledged goes back to the queues, for the other workers. */
  async close(): Promise<void> {
    this.closing = true;
    const connection = this.connection;
    this.connection = null;
    await connection?.close().catch(() => undefined);
    await this.loop;
  }

  private async run(first: () => void): Promise<void> {
    while (!this.closing) {
      let closed: Promise<void> = Promise.resolve();
      try {
        const connection = await connect(withHeartbeat(this.config.url, this.config.heartbeatS));
        this.connection = connection;
        closed = new Promise((resolve) => connection.once("close", () => resolve()));
        connection.on("error", (err: Error) => this.log.warn({ err: err.message }, "RabbitMQ connection error"));
        const setup = await connection.createChannel();
        await declarePartitions(setup, this.config.partitions);
        await setup.close();
        for (let p = 0; p < this.config.partitions; p++) await this.consume(connection, p);
        await this.group.attach(connection);
        this.connected = true;
        this.backoff.reset();
        this.log.info(
          { url: redactUrl(this.config.url), worker: this.workerId, partitions: this.config.partitions },
          "consuming the partitions (active on some, standing by for the others)",
        );
        first();
      } catch (err) {
        this.log.warn({ err: (err as Error).message, url: redactUrl(this.config.url) }, "could not set up the partitioned intake on RabbitMQ; retrying");
        await this.connection?.close().catch(() => undefined);
      }
      await closed;
      this.lostAll();
      if (this.closing) break;
      const waitMs = this.backoff.next();
      this.log.warn({ url: redactUrl(this.config.url), retryInMs: waitMs }, "lost RabbitMQ; reconnecting (its partitions go to the other workers meanwhile)");
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  private async consume(connection: ChannelModel, partition: number): Promise<void> {
    const channel = await connection.createChannel();
    const lease: Lease = { partition, channel, activeSince: null, outstanding: 0, leaving: false, closed: false, packs: new Set(), drained: null };
    this.leases[partition] = lease;
    channel.on("error", (err: Error) => this.log.warn({ partition, err: err.message }, "partition channel error"));
    channel.on("close", () => this.release(lease, "its channel closed"));
    await channel.prefetch(this.config.prefetch);
    await channel.consume(partitionQueue(partition), (msg) => this.onMessage(lease, msg), { noAck: false });
  }

  private onMessage(lease: Lease, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // RabbitMQ cancelled the consumer (the queue was deleted): consume again after a reconnect.
      this.log.error({ partition: lease.partition }, "RabbitMQ cancelled a partition consumer; reconnecting to declare the topology again");
      void this.connection?.close().catch(() => undefined);
      return;
    }
    if (lease.leaving || lease.closed) return;
    if (lease.activeSince === null) {
      lease.activeSince = this.now();
      this.metrics.partitionChanges.inc({ change: "taken" });
      this.metrics.partitionsActive.set(this.activePartitions().length);
      this.log.info({ partition: lease.partition, worker: this.workerId }, "consuming a partition");
      this.rebalance();
    }
    const topic = topicOfRoutingKey(msg.fields.routingKey);
    const parsed = parseTopic(topic);
    if (parsed?.kind === "telemetry") lease.packs.add(`${parsed.siteId}/${parsed.packId}`);
    lease.outstanding++;
    this.events.delivery({ topic, payload: msg.content, partition: lease.partition, lease, message: msg });
  }

  /** Hands over the partitions whose home is another live worker that said so since they came here. */
  private rebalance(): void {
    if (!this.connected || this.closing) return;
    const members = this.group.members();
    const now = this.now();
    for (const lease of this.leases) {
      if (!lease || lease.closed || lease.leaving || lease.activeSince === null) continue;
      const home = homeOf(lease.partition, members);
      if (home === null || home === this.workerId) continue;
      const heard = this.group.lastHeard(home);
      if (heard === undefined || heard <= lease.activeSince) continue;
      const handedAt = this.handedOverAt.get(lease.partition);
      if (handedAt !== undefined && lease.activeSince - handedAt < BOUNCE_MS && now - handedAt < HANDOVER_PAUSE_MS) continue;
      void this.handOver(lease, home);
    }
  }

  private async handOver(lease: Lease, home: string): Promise<void> {
    lease.leaving = true;
    if (lease.outstanding > 0) await new Promise<void>((resolve) => (lease.drained = resolve));
    if (lease.closed) return;
    this.handedOverAt.set(lease.partition, this.now());
    this.release(lease, `handed to its home worker ${home}`);
    await lease.channel.close().catch(() => undefined);
    const connection = this.connection;
    if (!connection || this.closing) return;
    try {
      await this.consume(connection, lease.partition);
    } catch (err) {
      this.log.warn({ partition: lease.partition, err: (err as Error).message }, "could not stand by for a partition again; reconnecting");
      void connection.close().catch(() => undefined);
    }
  }

  /** The partition is no longer this worker's: told once, whichever way it went. */
  private release(lease: Lease, why: string): void {
    if (lease.closed) return;
    lease.closed = true;
    lease.drained?.();
    if (lease.activeSince === null) return;
    this.metrics.partitionChanges.inc({ change: why.startsWith("handed") ? "handed_over" : "lost" });
    this.metrics.partitionsActive.set(this.activePartitions().length);
    this.log.info({ partition: lease.partition, worker: this.workerId, packs: lease.packs.size, why }, "no longer consuming a partition");
    this.events.lost(lease.partition, [...lease.packs]);
  }

  private lostAll(): void {
    this.connected = false;
    this.connection = null;
    for (const lease of this.leases) if (lease) this.release(lease, "lost the connection to RabbitMQ");
    this.group.detach();
  }
}
