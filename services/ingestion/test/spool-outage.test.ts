import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { freePort, waitFor } from "../../../test/support/free-port";
import { startVictoriaMetrics } from "../../../test/support/victoria-metrics";
import { baseTs, connectPublisher, makeSample, metricValue, points, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

describe("the write spool while the time-series server is away", () => {
  const t = useIngestionTestbed();

  it("keeps accepting samples, reports the failure, and writes every one after the server is back", async () => {
    const port = await freePort();
    const vmDir = join(t.dir.path, "vm");
    t.broker = await startAedesBroker();
    t.timeSeries = await startVictoriaMetrics({ port, storageDir: vmDir });
    const url = t.timeSeries.url;
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: join(t.dir.path, "data"), influxUrl: url });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();

    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(0, t0));
    await waitFor(async () => (await points(url, 'pack_seq{site="s1"}')).length === 1, 10_000, "the first sample");

    await t.timeSeries.stop();
    t.timeSeries = undefined;
    for (let seq = 1; seq <= 30; seq++) await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    const running = t.ingestion;
    await waitFor(async () => (await metricValue(running, "bms_ingestion_samples_accepted_total")) === 31, 10_000, "31 accepted samples");
    await waitFor(() => t.ingestion?.health().lastWriteOk === false, 10_000, "health to report the failed write");
    const health = t.ingestion.health();
    expect(health.spoolSize).toBe(30);
    expect(health.lastWriteError).toMatch(/cannot reach|ECONNREFUSED|fetch failed/);
    expect(await metricValue(t.ingestion, "bms_ingestion_write_failures_total")).toBeGreaterThan(0);

    t.timeSeries = await startVictoriaMetrics({ port, storageDir: vmDir });
    await waitFor(async () => (await points(url, 'pack_seq{site="s1"}')).length === 31, 40_000, "all 31 samples after the restart");
    expect((await points(url, 'pack_seq{site="s1"}')).map((p) => p.value)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    await waitFor(() => t.ingestion?.health().lastWriteOk === true && t.ingestion.health().spoolSize === 0, 10_000, "health to recover");
    expect(t.ingestion.health().lastWriteError).toBeUndefined();
  }, 60_000);

  it("keeps the spool across an ingestion restart and gets what the broker held meanwhile", async () => {
    const port = await freePort();
    const vmDir = join(t.dir.path, "vm");
    const dataDir = join(t.dir.path, "data");
    const url = `http://127.0.0.1:${port}`;
    t.broker = await startAedesBroker();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir, influxUrl: url, clientId: "ingestion-restart" });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();

    // No time-series server at all: the samples are spooled, then the process stops.
    for (let seq = 0; seq < 10; seq++) await publish(t.publisher, "bms/s2/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    await waitFor(() => t.ingestion?.health().spoolSize === 10, 10_000, "10 spooled samples");
    await t.ingestion.close();
    t.ingestion = undefined;

    // While the ingestion is down, the broker keeps its persistent session's messages.
    for (let seq = 10; seq < 15; seq++) await publish(t.publisher, "bms/s2/p1/telemetry", makeSample(seq, t0 + seq * 1000));

    t.timeSeries = await startVictoriaMetrics({ port, storageDir: vmDir });
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir, influxUrl: url, clientId: "ingestion-restart" });
    await waitFor(async () => (await points(url, 'pack_seq{site="s2"}')).length === 15, 20_000, "all 15 samples");
    expect((await points(url, 'pack_seq{site="s2"}')).map((p) => p.value)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    await waitFor(() => t.ingestion?.health().spoolSize === 0, 10_000, "the spool to empty");
  }, 60_000);
});
