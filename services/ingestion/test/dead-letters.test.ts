import { join } from "node:path";
import { openSqliteDeadLetterStore } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { startVictoriaMetrics } from "../../../test/support/victoria-metrics";
import { INGESTION_FILES } from "../src/index";
import {
  baseTs,
  captureLogger,
  connectPublisher,
  META,
  makeSample,
  metricValue,
  points,
  publish,
  startTestIngestion,
  useIngestionTestbed,
} from "./ingestion-harness";

describe("bad messages are dead-lettered while valid samples keep flowing", () => {
  const t = useIngestionTestbed();

  it("rejects malformed JSON, wrong types, out-of-range values, unknown topics, huge and binary payloads with a reason", async () => {
    [t.broker, t.timeSeries] = await Promise.all([startAedesBroker(), startVictoriaMetrics()]);
    const captured = captureLogger();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, influxUrl: t.timeSeries.url }, { log: captured.log });
    const running = t.ingestion;
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    const topic = "bms/s1/p1/telemetry";

    await publish(t.publisher, topic, makeSample(1, t0));
    await publish(t.publisher, topic, '{"v":1,"ts":');
    await publish(t.publisher, topic, makeSample(2, t0 + 1000));
    await publish(t.publisher, topic, { ...makeSample(3, t0 + 2000), packVoltage: "51.2" });
    await publish(t.publisher, topic, makeSample(4, t0 + 3000, { cellVoltages: [3.3, 65, 3.3, 3.3] }));
    await publish(t.publisher, "bms/s1/p1/firmware", makeSample(5, t0 + 4000));
    await publish(t.publisher, "bms/s1/../telemetry", makeSample(6, t0 + 5000));
    await publish(t.publisher, topic, `{"pad":"${"x".repeat(300 * 1024)}"}`);
    await publish(t.publisher, topic, Buffer.from([0xff, 0xfe, 0x00, 0x81]));
    await publish(t.publisher, "bms/s1/p1/meta", { ...META, chemistry: "plutonium" });
    await publish(t.publisher, topic, { ...makeSample(7, 1_700_000_000), ts: 1_700_000_000 });
    await publish(t.publisher, topic, "null");
    await publish(t.publisher, topic, makeSample(8, t0 + 6000));

    await waitFor(async () => (await metricValue(running, "bms_ingestion_samples_accepted_total")) === 3, 10_000, "3 valid samples");
    await waitFor(() => running.health().deadLetters === 10, 10_000, "10 dead letters");
    // The valid ones reach the time-series server in order.
    const url = t.timeSeries.url;
    await waitFor(async () => (await points(url, 'pack_seq{site="s1"}')).length === 3, 10_000, "3 points");
    expect((await points(url, 'pack_seq{site="s1"}')).map((p) => p.value)).toEqual([1, 2, 8]);

    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "malformed_json" })).toBe(1);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "schema" })).toBe(3);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "out_of_range" })).toBe(2);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "unknown_topic" })).toBe(2);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "oversized" })).toBe(1);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "not_utf8" })).toBe(1);
    expect(await metricValue(running, "bms_ingestion_messages_received_total", { kind: "unknown" })).toBe(2);

    await running.close();
    t.ingestion = undefined;
    const store = openSqliteDeadLetterStore(join(t.dir.path, INGESTION_FILES.deadLetters));
    const letters = (await store.list(100)).reverse();
    await store.close();
    const reasons = letters.map((l) => l.reason);
    expect(reasons).toHaveLength(10);
    expect(reasons[0]).toMatch(/^malformed JSON: /);
    expect(reasons[1]).toMatch(/^schema violation: packVoltage: expected number, got "51.2"/);
    expect(reasons[2]).toMatch(/^out of range: cellVoltages\.1: .*5.*, got 65/);
    expect(letters[3]).toMatchObject({ topic: "bms/s1/p1/firmware" });
    expect(reasons[3]).toMatch(/^unknown topic/);
    expect(reasons[4]).toMatch(/^unknown topic/);
    expect(reasons[5]).toMatch(/^payload of \d+ bytes exceeds the limit of 262144 bytes/);
    expect(letters[5]?.payload.length).toBeLessThanOrEqual(1024);
    expect(reasons[6]).toBe("payload is not UTF-8 text (expected JSON)");
    expect(letters[6]?.payload).toBe(`base64:${Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString("base64")}`);
    expect(reasons[7]).toMatch(/^schema violation: chemistry: .*got "plutonium"$/);
    expect(reasons[8]).toMatch(/^out of range: ts: /);
    expect(reasons[9]).toMatch(/^schema violation: \(root\): expected object, got null/);
    for (const reason of reasons) expect(reason).not.toContain("\n");
    // The payload is kept as received.
    expect(letters[0]?.payload).toBe('{"v":1,"ts":');
  });

  it("logs a flood of one problem once, and drops duplicated deliveries", async () => {
    t.broker = await startAedesBroker();
    const captured = captureLogger();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path }, { log: captured.log });
    const running = t.ingestion;
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();

    for (let i = 0; i < 50; i++) await publish(t.publisher, "bms/s1/p1/telemetry", `not json ${i}`);
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(1, t0));
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(1, t0));
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(1, t0 + 1000));
    await publish(t.publisher, "bms/s1/p2/telemetry", makeSample(1, t0));
    await waitFor(async () => (await metricValue(running, "bms_ingestion_messages_received_total")) === 54, 10_000, "54 messages");

    expect(running.health().deadLetters).toBe(50);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "malformed_json" })).toBe(50);
    expect(captured.lines().filter((l) => l.msg.startsWith("message rejected"))).toHaveLength(1);
    expect(await metricValue(running, "bms_ingestion_duplicates_total")).toBe(1);
    expect(await metricValue(running, "bms_ingestion_samples_accepted_total")).toBe(3);
    expect(captured.lines().some((l) => l.msg.startsWith("no InfluxDB configured (set INFLUX_URL"))).toBe(true);
    expect(running.health()).toMatchObject({ spoolSize: 0, lastWriteOk: true });
  });
});
