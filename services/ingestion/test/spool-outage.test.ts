import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { RunningIngestion } from "../src/index";
import {
  baseTs,
  connectPublisher,
  makeSample,
  metricValue,
  points,
  publish,
  startAedes,
  startTestIngestion,
  startVictoriaMetricsOn,
  type TestBroker,
} from "./ingestion-harness";

describe("the write spool while the time-series server is away", () => {
  let broker: TestBroker | undefined;
  let vm: { url: string; stop(): Promise<void> } | undefined;
  let ingestion: RunningIngestion | undefined;
  let publisher: MqttClient | undefined;
  let dir: TempDir | undefined;

  afterEach(async () => {
    await publisher?.endAsync();
    await ingestion?.close();
    await broker?.stop();
    await vm?.stop();
    dir?.remove();
  });

  it("keeps accepting samples, reports the failure, and writes every one after the server is back", async () => {
    dir = makeTempDir("bms-ingestion-");
    const port = await freePort();
    const vmDir = join(dir.path, "vm");
    broker = await startAedes();
    vm = await startVictoriaMetricsOn(port, vmDir);
    const url = vm.url;
    ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir: join(dir.path, "data"), influxUrl: url });
    publisher = await connectPublisher(broker.url);
    const t0 = baseTs();

    await publish(publisher, "bms/s1/p1/telemetry", makeSample(0, t0));
    await waitFor(async () => (await points(url, 'pack_seq{site="s1"}')).length === 1, 10_000, "the first sample");

    await vm.stop();
    vm = undefined;
    for (let seq = 1; seq <= 30; seq++) await publish(publisher, "bms/s1/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    const running = ingestion;
    await waitFor(async () => (await metricValue(running, "bms_ingestion_samples_accepted_total")) === 31, 10_000, "31 accepted samples");
    await waitFor(() => ingestion?.health().lastWriteOk === false, 10_000, "health to report the failed write");
    const health = ingestion.health();
    expect(health.spoolSize).toBe(30);
    expect(health.lastWriteError).toMatch(/cannot reach|ECONNREFUSED|fetch failed/);
    expect(await metricValue(ingestion, "bms_ingestion_write_failures_total")).toBeGreaterThan(0);

    vm = await startVictoriaMetricsOn(port, vmDir);
    await waitFor(async () => (await points(url, 'pack_seq{site="s1"}')).length === 31, 40_000, "all 31 samples after the restart");
    expect((await points(url, 'pack_seq{site="s1"}')).map((p) => p.value)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    await waitFor(() => ingestion?.health().lastWriteOk === true && ingestion.health().spoolSize === 0, 10_000, "health to recover");
    expect(ingestion.health().lastWriteError).toBeUndefined();
  }, 60_000);

  it("keeps the spool across an ingestion restart and gets what the broker held meanwhile", async () => {
    dir = makeTempDir("bms-ingestion-");
    const port = await freePort();
    const vmDir = join(dir.path, "vm");
    const dataDir = join(dir.path, "data");
    const url = `http://127.0.0.1:${port}`;
    broker = await startAedes();
    ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir, influxUrl: url, clientId: "ingestion-restart" });
    publisher = await connectPublisher(broker.url);
    const t0 = baseTs();

    // No time-series server at all: the samples are spooled, then the process stops.
    for (let seq = 0; seq < 10; seq++) await publish(publisher, "bms/s2/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    await waitFor(() => ingestion?.health().spoolSize === 10, 10_000, "10 spooled samples");
    await ingestion.close();
    ingestion = undefined;

    // While the ingestion is down, the broker keeps its persistent session's messages.
    for (let seq = 10; seq < 15; seq++) await publish(publisher, "bms/s2/p1/telemetry", makeSample(seq, t0 + seq * 1000));

    vm = await startVictoriaMetricsOn(port, vmDir);
    ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir, influxUrl: url, clientId: "ingestion-restart" });
    await waitFor(async () => (await points(url, 'pack_seq{site="s2"}')).length === 15, 20_000, "all 15 samples");
    expect((await points(url, 'pack_seq{site="s2"}')).map((p) => p.value)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    await waitFor(() => ingestion?.health().spoolSize === 0, 10_000, "the spool to empty");
  }, 60_000);
});
