import type { Channel } from "amqplib";

/**
 * What the partitioned intake declares in RabbitMQ (idempotently, by every worker at every connect):
 *
 *   MQTT plugin ── amq.topic ── "bms.*.*.telemetry" ──▶ bms.telemetry (x-consistent-hash)
 *                                                         ├─ "1" ─▶ bms.telemetry.000 (quorum, single active consumer)
 *                                                         ├─ ...
 *                                                         └─ "1" ─▶ bms.telemetry.063
 *   workers ── bms.ingestion.presence (fanout) ──▶ one exclusive queue per worker, and bms.ingestion.leader (single active consumer)
 *
 * RabbitMQ's MQTT plugin publishes `bms/{site}/{pack}/telemetry` to amq.topic with `/` turned into
 * `.`, so the routing key names the pack and the consistent-hash exchange sends every sample of a
 * pack to the same queue. A queue has one active consumer at a time (the others stand by), so one
 * pack's samples reach one worker, in order. A QoS 1 publish that no binding routes is acknowledged
 * to the agent and dropped: the topology must exist before agents connect (the workers declare it
 * when they start; docs/scale-out.md).
 */
export const TOPOLOGY = {
  /** Where RabbitMQ's MQTT plugin publishes. */
  mqttExchange: "amq.topic",
  /** Binding key of the samples (MQTT topic filter `bms/+/+/telemetry`). */
  telemetryKey: "bms.*.*.telemetry",
  hashExchange: "bms.telemetry",
  presenceExchange: "bms.ingestion.presence",
  leaderQueue: "bms.ingestion.leader",
} as const;

/** The queue of partition `p`: `bms.telemetry.007`. */
export function partitionQueue(p: number): string {
  return `${TOPOLOGY.hashExchange}.${String(p).padStart(3, "0")}`;
}

/** The MQTT topic of a message the MQTT plugin routed (`bms.s1.p1.telemetry` → `bms/s1/p1/telemetry`): the plugin swaps `/` and `.`. */
export function topicOfRoutingKey(routingKey: string): string {
  return routingKey.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

/** Declares the exchanges, partition queues and bindings; safe to run again with the same partition count. */
export async function declarePartitions(channel: Channel, partitions: number): Promise<void> {
  await channel.assertExchange(TOPOLOGY.hashExchange, "x-consistent-hash", { durable: true });
  for (let p = 0; p < partitions; p++) {
    const queue = partitionQueue(p);
    await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum", "x-single-active-consumer": true } });
    // The binding key of a consistent-hash exchange is the queue's weight on the ring.
    await channel.bindQueue(queue, TOPOLOGY.hashExchange, "1");
  }
  await channel.bindExchange(TOPOLOGY.hashExchange, TOPOLOGY.mqttExchange, TOPOLOGY.telemetryKey);
}

/**
 * Declares what the workers use to know each other: a fanout exchange for presence messages, and a
 * queue with a single active consumer that gets them too; the worker consuming it is the leader.
 * Presence messages live 5 s there, and no more than 100 wait, so a queue nobody reads stays small.
 */
export async function declareWorkerGroup(channel: Channel): Promise<void> {
  await channel.assertExchange(TOPOLOGY.presenceExchange, "fanout", { durable: true });
  await channel.assertQueue(TOPOLOGY.leaderQueue, {
    durable: true,
    arguments: { "x-single-active-consumer": true, "x-message-ttl": 5000, "x-max-length": 100 },
  });
  await channel.bindQueue(TOPOLOGY.leaderQueue, TOPOLOGY.presenceExchange, "");
}
