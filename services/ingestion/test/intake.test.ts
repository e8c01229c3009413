import { createLogger } from "@bms/shared";
import { MqttConnectionConfig } from "@bms/shared/config/mqtt-connection";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { type Delivery, startMqttSource } from "../src/intake/mqtt-source";
import { baseTs, connectPublisher, makeSample, metricValue, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

const log = createLogger("intake-test", "error");

/** A source whose deliveries the test keeps (and releases when it says so). */
function collectingSource(url: string, clientId: string) {
  const deliveries: Delivery[] = [];
  const source = startMqttSource(MqttConnectionConfig.parse({ url, clientId, reconnectPeriodMs: 200 }), async (d) => void deliveries.push(d), log);
  return { source, deliveries, payloads: () => deliveries.map((d) => Buffer.from(d.payload).toString()) };
}

describe("group commit: PUBACKs wait for the batch", () => {
  const t = useIngestionTestbed();

  it("a message whose PUBACK was held is delivered again in the next session; a released one is not", async () => {
    const broker = await startAedesBroker();
    t.broker = broker;
    t.publisher = await connectPublisher(broker.url);
    const first = collectingSource(broker.url, "gate-test");
    expect(await first.source.waitReady(5000)).toBe(true);
    for (let i = 0; i < 10; i++) await publish(t.publisher, "bms/s1/p1/telemetry", `m${i}`);
    await waitFor(() => first.deliveries.length === 10, 5000, "10 deliveries");
    // The first six are durable; the other four are not, when the connection goes.
    first.source.release(first.deliveries.slice(0, 6));
    // The broker has what it needs once it received the six PUBACKs: give them a moment on loopback.
    await new Promise((r) => setTimeout(r, 300));
    await first.source.close();

    const second = collectingSource(broker.url, "gate-test");
    try {
      await waitFor(() => second.deliveries.length >= 4, 5000, "the four unacknowledged messages again");
      await new Promise((r) => setTimeout(r, 300));
      expect(second.payloads()).toEqual(["m6", "m7", "m8", "m9"]);
      second.source.release(second.deliveries);
    } finally {
      await second.source.close();
    }
  });

  it("a PUBACK released out of order waits for the ones before it (MQTT sends them in arrival order)", async () => {
    const broker = await startAedesBroker();
    t.broker = broker;
    t.publisher = await connectPublisher(broker.url);
    const first = collectingSource(broker.url, "gate-order");
    expect(await first.source.waitReady(5000)).toBe(true);
    for (let i = 0; i < 4; i++) await publish(t.publisher, "bms/s1/p1/telemetry", `m${i}`);
    await waitFor(() => first.deliveries.length === 4, 5000, "4 deliveries");
    // m2 and m3 are released, m0 and m1 are not: none of the four may be acknowledged.
    first.source.release(first.deliveries.slice(2));
    await new Promise((r) => setTimeout(r, 300));
    await first.source.close();
    const second = collectingSource(broker.url, "gate-order");
    try {
      await waitFor(() => second.deliveries.length >= 4, 5000, "all four again");
      expect(second.payloads()).toEqual(["m0", "m1", "m2", "m3"]);
    } finally {
      await second.source.close();
    }
  });

  it("takes a burst in batches: one commit per batch, far fewer batches than messages", async () => {
    t.broker = await startAedesBroker();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => t.publisher?.publishAsync(`bms/s1/p${i % 20}/telemetry`, JSON.stringify(makeSample(i, t0 + i * 10)), { qos: 1 })),
    );
    const ingestion = t.ingestion;
    await waitFor(async () => (await metricValue(ingestion, "bms_ingestion_samples_accepted_total")) === 2000, 30_000, "2000 samples accepted");
    const histogram = await ingestion.registry.getSingleMetric("bms_ingestion_intake_batch_messages")?.get();
    const part = (name: string) =>
      histogram?.values.find((v) => "metricName" in v && v.metricName === `bms_ingestion_intake_batch_messages_${name}`)?.value ?? Number.NaN;
    const batches = part("count");
    expect(part("sum")).toBe(2000);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(400);
  });

  it("after the broker drops the connection and keeps the session, subscribes again and is ready", async () => {
    const broker = await startAedesBroker();
    t.broker = broker;
    t.ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir: t.dir.path });
    t.publisher = await connectPublisher(broker.url);
    const ingestion = t.ingestion;
    const t0 = baseTs();
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(1, t0));
    await waitFor(async () => (await metricValue(ingestion, "bms_ingestion_samples_accepted_total")) === 1, 5000, "the first sample");
    for (let blip = 0; blip < 3; blip++) {
      broker.dropConnections();
      await waitFor(() => !ingestion.health().mqttConnected, 5000, "the ingestion to notice");
      await waitFor(() => ingestion.health().mqttConnected, 10_000, `the ingestion to be ready again after blip ${blip + 1}`);
    }
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(2, t0 + 1000));
    await waitFor(async () => (await metricValue(ingestion, "bms_ingestion_samples_accepted_total")) === 2, 5000, "a sample after the blips");
  });
});
