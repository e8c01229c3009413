import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { startMosquitto } from "../../../test/support/mosquitto";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../../../test/support/victoria-metrics";
import type { RunningIngestion } from "../src/index";
import { baseTs, connectPublisher, makeSample, metricValue, points, publish, startAedes, startTestIngestion, type TestBroker } from "./ingestion-harness";

const brokers: Array<[string, () => Promise<TestBroker>]> = [
  ["aedes", startAedes],
  ["Mosquitto", startMosquitto],
];

describe.each(brokers)("samples through %s end up in the time-series server", (_name, startBroker) => {
  let broker: TestBroker | undefined;
  let vm: VictoriaMetricsServer | undefined;
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

  it("writes pack, cell, sensor and alarm series with site/pack tags and the sample timestamps", async () => {
    dir = makeTempDir("bms-ingestion-");
    [broker, vm] = await Promise.all([startBroker(), startVictoriaMetrics()]);
    ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir: dir.path, influxUrl: vm.url });
    publisher = await connectPublisher(broker.url);

    const t0 = baseTs();
    const samples = [
      makeSample(1, t0, { soh: 97.5, cycleCount: 120, remainingCapacity: 80.5, bmsAlarms: ["OVER_TEMP_WARNING"] }),
      makeSample(2, t0 + 1000, { packVoltage: 51.4, current: -20.25, cellVoltages: [3.31, 3.4, 3.28, 3.3], cellTemperatures: [27, 28.5] }),
      makeSample(3, t0 + 2000, { packVoltage: 51.6 }),
    ];
    for (const sample of samples) await publish(publisher, "bms/s1/p1/telemetry", sample);
    await publish(publisher, "bms/s1/p2/telemetry", makeSample(7, t0, { packVoltage: 48 }));

    const url = vm.url;
    await waitFor(async () => (await points(url, 'pack_voltage{site="s1"}')).length === 4, 15_000, "4 pack_voltage points");
    const voltage = await points(url, 'pack_voltage{site="s1",pack="p1"}');
    expect(voltage.map((p) => [p.ts, p.value])).toEqual([
      [t0, 51.2],
      [t0 + 1000, 51.4],
      [t0 + 2000, 51.6],
    ]);
    expect(voltage[0]?.labels).toMatchObject({ __name__: "pack_voltage", site: "s1", pack: "p1" });
    expect((await points(url, 'pack_voltage{pack="p2"}')).map((p) => p.value)).toEqual([48]);
    expect((await points(url, 'pack_current{pack="p1"}')).map((p) => p.value)).toEqual([12.5, -20.25, 12.5]);
    expect((await points(url, 'pack_seq{pack="p1"}')).map((p) => p.value)).toEqual([1, 2, 3]);
    expect((await points(url, 'pack_cell_voltage_max{pack="p1"}')).map((p) => p.value)).toEqual([3.31, 3.4, 3.31]);
    expect((await points(url, 'pack_temperature_max{pack="p1"}')).map((p) => p.value)).toEqual([26.5, 28.5, 26.5]);
    // Optional fields only where the sample had them.
    expect((await points(url, 'pack_soh{pack="p1"}')).map((p) => [p.ts, p.value])).toEqual([[t0, 97.5]]);
    expect((await points(url, 'pack_cycle_count{pack="p1"}')).map((p) => p.value)).toEqual([120]);
    expect(await points(url, 'pack_insulation_resistance{pack="p1"}')).toEqual([]);

    const cell1 = await points(url, 'cell_voltage{site="s1",pack="p1",cell="1"}');
    expect(cell1.map((p) => [p.ts, p.value])).toEqual([
      [t0, 3.31],
      [t0 + 1000, 3.4],
      [t0 + 2000, 3.31],
    ]);
    expect(new Set((await points(url, 'cell_voltage{pack="p1"}')).map((p) => p.labels.cell))).toEqual(new Set(["0", "1", "2", "3"]));
    expect((await points(url, 'sensor_temperature{pack="p1",sensor="1"}')).map((p) => p.value)).toEqual([26.5, 28.5, 26.5]);
    const alarms = await points(url, 'bms_alarm_active{pack="p1"}');
    expect(alarms.map((p) => [p.ts, p.value, p.labels.code])).toEqual([[t0, 1, "OVER_TEMP_WARNING"]]);

    expect(await metricValue(ingestion, "bms_ingestion_samples_accepted_total")).toBe(4);
    expect(await metricValue(ingestion, "bms_ingestion_messages_received_total", { kind: "telemetry" })).toBe(4);
    await waitFor(() => ingestion?.health().spoolSize === 0, 5000, "the spool to empty");
    expect(ingestion.health()).toMatchObject({ mqttConnected: true, spoolSize: 0, lastWriteOk: true, deadLetters: 0 });
    expect(await metricValue(ingestion, "bms_ingestion_lines_written_total")).toBeGreaterThan(0);
    const exposition = await ingestion.registry.metrics();
    expect(exposition).toContain("bms_ingestion_spool_size 0");
  });
});
