import type { Logger } from "@bms/shared";
import type { IngestionConfig } from "@bms/shared/config/ingestion-config";
import type { Intake } from "../partitions/partitioned-intake";
import type { BatchProcessor, IntakeMessage } from "./batch-processor";
import { IntakeBatcher } from "./intake-batcher";
import { type Delivery, startMqttSource } from "./mqtt-source";

/** The single-process intake: one persistent MQTT subscription to `bms/#`, PUBACKs after each batch is durable. */
export async function startMqttIntake(config: IngestionConfig, processor: BatchProcessor, log: Logger, now: () => number): Promise<Intake> {
  type Taken = IntakeMessage & { delivery: Delivery };
  const batcher = new IntakeBatcher<Taken>(config.intake, async (batch) => {
    try {
      await processor.process(batch);
      source.release(batch.map((t) => t.delivery));
    } catch (err) {
      // Only while closing (stores that keep failing): nothing of the batch is acknowledged.
      log.error({ err, messages: batch.length }, "a batch could not be made durable; the broker delivers it again");
      source.reconnect("a batch could not be made durable");
    }
  });
  const source = startMqttSource(
    config.mqtt,
    (delivery) => batcher.take({ topic: delivery.topic, payload: delivery.payload, receivedAt: now(), delivery }),
    log,
  );
  if (!(await source.waitReady(config.mqtt.connectTimeoutMs))) {
    log.warn({ url: config.mqtt.url }, "not subscribed to the MQTT broker yet; retrying in the background");
  }
  return {
    isReady: () => source.isReady(),
    publish: (topic, payload) => source.publish(topic, payload),
    stopTaking: () => source.stopTaking(),
    drain: () => batcher.drain(),
    close: () => source.close(),
  };
}
