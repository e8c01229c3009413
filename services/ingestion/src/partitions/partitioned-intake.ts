import type { Logger } from "@bms/shared";
import type { IngestionConfig } from "@bms/shared/config/ingestion-config";
import type { AmqpIntakeConfig } from "@bms/shared/config/scale-out-config";
import type { IngestionMetrics } from "../ingestion-metrics";
import type { BatchProcessor, IntakeMessage } from "../intake/batch-processor";
import { IntakeBatcher } from "../intake/intake-batcher";
import type { RuleEngine } from "../rules/rule-engine";
import { startBrokerContext } from "./broker-context";
import { type PartitionDelivery, PartitionSource } from "./partition-source";

/** How the ingestion takes messages in: one MQTT subscription, or partitions of RabbitMQ. */
export interface Intake {
  isReady(): boolean;
  /** Publishes a case event (QoS 1); resolves on the broker's PUBACK. */
  publish(topic: string, payload: string): Promise<void>;
  /** Takes no more messages; what is not acknowledged is delivered again (here after a restart, or to another worker). */
  stopTaking(): void;
  /** Resolves when every batch taken so far is done. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface PartitionedIntakeDeps {
  config: IngestionConfig & { amqp: AmqpIntakeConfig };
  processor: BatchProcessor;
  rules: RuleEngine;
  /** The leader runs what must run once (the webhook dispatcher): told when this worker becomes it or stops being it. */
  onLeadership(leader: boolean): void;
  metrics: IngestionMetrics;
  log: Logger;
  now: () => number;
}

/**
 * Partitioned ingestion (AMQP_URL): samples from the partitions of RabbitMQ's consistent-hash
 * exchange (partition-source.ts) through the same group commit as the MQTT intake (validated,
 * spooled, dead-lettered, rules committed), then acknowledged; a partition's packs are forgotten by
 * the rules when it goes; pack meta and site status from the MQTT broker (broker-context.ts).
 */
export async function startPartitionedIntake(deps: PartitionedIntakeDeps): Promise<Intake & { source: PartitionSource }> {
  const { config, processor, rules, metrics, log, now } = deps;
  let taking = true;
  type Taken = IntakeMessage & { delivery: PartitionDelivery };
  const batcher = new IntakeBatcher<Taken>(config.intake, async (taken) => {
    // A partition lost meanwhile: another worker has these messages now.
    const batch = taken.filter((t) => source.isCurrent(t.delivery));
    try {
      await processor.process(batch);
      source.ack(batch.map((t) => t.delivery));
    } catch (err) {
      // Only while closing (stores that keep failing): nothing of the batch is acknowledged.
      log.error({ err, messages: batch.length }, "a batch could not be made durable; RabbitMQ delivers it again");
    }
  });
  const source = new PartitionSource(
    config.amqp,
    {
      delivery: (delivery) => {
        if (taking) void batcher.take({ topic: delivery.topic, payload: delivery.payload, receivedAt: now(), delivery });
      },
      lost: (_partition, packs) => {
        void rules.forget(
          packs.map((key) => {
            const [siteId = "", packId = ""] = key.split("/");
            return { siteId, packId };
          }),
        );
      },
      leadership: (leader) => {
        void rules.setLeader(leader);
        deps.onLeadership(leader);
      },
    },
    metrics,
    log,
    now,
  );
  const context = startBrokerContext(
    config.mqtt,
    source.workerId,
    (topic, payload) => {
      if (!taking) return;
      processor.process([{ topic, payload, receivedAt: now() }], { keepRejects: source.isLeader }).catch((err: unknown) => {
        log.warn({ err, topic }, "could not take a meta or status message (the broker sends the retained one again after a reconnect)");
      });
    },
    log,
  );
  if (!(await source.start(config.mqtt.connectTimeoutMs))) {
    log.warn({ partitions: config.amqp.partitions }, "not connected to RabbitMQ yet; retrying in the background");
  }
  return {
    source,
    isReady: () => source.isReady() && context.isReady(),
    publish: (topic, payload) => context.publish(topic, payload),
    stopTaking() {
      taking = false;
    },
    drain: () => batcher.drain(),
    async close() {
      taking = false;
      await source.close();
      await context.close();
    },
  };
}
