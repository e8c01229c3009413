import type { Logger } from "@bms/shared";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import { z } from "zod";
import { declareWorkerGroup, TOPOLOGY } from "./amqp-topology";

/** What a worker says every presence interval. */
const Presence = z.object({ worker: z.string().min(1).max(64), at: z.number() });

/** A worker not heard for this many intervals is gone; so is a leadership not confirmed for as long. */
const MISSED_INTERVALS = 3;

export interface WorkerGroupEvents {
  /** This worker became the leader, or stopped being it. */
  leadership(leader: boolean): void;
  /** A worker said it is alive (the placement of partitions may have changed). */
  heard(worker: string): void;
}

/**
 * The ingestion workers as a group, over RabbitMQ itself: every worker publishes a presence message
 * each interval to a fanout exchange, and reads everyone's from an exclusive queue of its own, so
 * each knows who is alive (for placing partitions, rendezvous.ts). The same messages also go to one
 * queue with a single active consumer: the worker that consumes it is the **leader**, which runs
 * what must run once in the deployment (the webhook dispatcher, the site-offline rules). A leader
 * that dies loses its consumer with its connection and the next worker in line is leader within an
 * interval; a leader cut off from RabbitMQ stops being one when its connection closes, or at the
 * latest after three intervals without a message on that queue.
 */
export class WorkerGroup {
  private readonly seen = new Map<string, number>();
  private channel: Channel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private leaderHeardAt = 0;
  private leader = false;

  constructor(
    readonly workerId: string,
    private readonly intervalMs: number,
    private readonly events: WorkerGroupEvents,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** Workers heard within three intervals, this one included. */
  members(): string[] {
    this.prune();
    return [this.workerId, ...[...this.seen.keys()].filter((w) => w !== this.workerId)];
  }

  /** When `worker` was last heard (ms), undefined when it is not a member. */
  lastHeard(worker: string): number | undefined {
    return this.seen.get(worker);
  }

  /** Joins the group on a new connection: declares its queues, listens and starts saying it is alive. */
  async attach(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    this.channel = channel;
    channel.on("error", () => {}); // the connection's close handler deals with it
    await declareWorkerGroup(channel);
    const own = await channel.assertQueue("", { exclusive: true, autoDelete: true });
    await channel.bindQueue(own.queue, TOPOLOGY.presenceExchange, "");
    await channel.consume(own.queue, (msg) => this.onPresence(msg), { noAck: true });
    await channel.consume(TOPOLOGY.leaderQueue, (msg) => this.onLeaderTick(msg), { noAck: true });
    this.announce();
    this.timer = setInterval(() => {
      this.announce();
      this.prune();
      if (this.leader && this.now() - this.leaderHeardAt > MISSED_INTERVALS * this.intervalMs) this.setLeader(false, "no message on the leader queue");
    }, this.intervalMs);
    this.timer.unref();
  }

  /** The connection is gone: no leadership, nobody known but this worker. */
  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.channel = null;
    this.seen.clear();
    if (this.leader) this.setLeader(false, "lost the connection to RabbitMQ");
  }

  private announce(): void {
    const body = JSON.stringify({ worker: this.workerId, at: this.now() });
    try {
      this.channel?.publish(TOPOLOGY.presenceExchange, "", Buffer.from(body), { contentType: "application/json" });
    } catch {
      // The channel closed under us; the connection's close handler detaches.
    }
  }

  private onPresence(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const presence = parsePresence(msg);
    if (!presence) return;
    const isNew = !this.seen.has(presence.worker) && presence.worker !== this.workerId;
    this.seen.set(presence.worker, this.now());
    if (isNew) this.log.info({ worker: presence.worker, members: this.members().length }, "an ingestion worker joined");
    this.events.heard(presence.worker);
  }

  private onLeaderTick(msg: ConsumeMessage | null): void {
    if (!msg) return; // cancelled by RabbitMQ (queue deleted): the next attach consumes again
    this.leaderHeardAt = this.now();
    if (!this.leader) this.setLeader(true, "consuming the leader queue");
  }

  private setLeader(leader: boolean, why: string): void {
    this.leader = leader;
    this.log.info({ worker: this.workerId, why }, leader ? "this worker is the leader" : "this worker is no longer the leader");
    this.events.leadership(leader);
  }

  private prune(): void {
    const horizon = this.now() - MISSED_INTERVALS * this.intervalMs;
    for (const [worker, at] of this.seen) {
      if (at >= horizon || worker === this.workerId) continue;
      this.seen.delete(worker);
      this.log.info({ worker }, "an ingestion worker left (not heard for three intervals)");
    }
  }
}

function parsePresence(msg: ConsumeMessage): z.infer<typeof Presence> | null {
  try {
    const parsed = Presence.safeParse(JSON.parse(msg.content.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
