import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { startMosquitto } from "../../../test/support/mosquitto";
import { startVictoriaMetrics } from "../../../test/support/victoria-metrics";
import { baseTs, connectPublisher, makeSample, metricValue, points, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

const brokers: Array<[string, () => Promise<{ url: string; stop(): Promise<void> }>]> = [
  ["aedes", startAedesBroker],
  ["Mosquitto", startMosquitto],
];

describe.each(brokers)("samples through %s end up in the time-series server", (_name, startBroker) => {
  const t = useIngestionTestbed();

  it("writes pack, cells and alarm series with site/pack tags and the sample timestamps", async () => {
    [t.broker, t.timeSeries] = await Promise.all([startBroker(), startVictoriaMetrics()]);
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, influxUrl: t.timeSeries.url });
    t.publisher = await connectPublisher(t.broker.url);

    const t0 = baseTs();
    const samples = [
      makeSample(1, t0, { soh: 97.5, cycleCount: 120, remainingCapacity: 80.5, bmsAlarms: ["OVER_TEMP_WARNING"] }),
      makeSample(2, t0 + 1000, { packVoltage: 51.4, current: -20.25, cellVoltages: [3.31, 3.4, 3.28, 3.3], cellTemperatures: [27, 28.5] }),
      makeSample(3, t0 + 2000, { packVoltage: 51.6 }),
    ];
    for (const sample of samples) await publish(t.publisher, "bms/s1/p1/telemetry", sample);
    await publish(t.publisher, "bms/s1/p2/telemetry", makeSample(7, t0, { packVoltage: 48 }));

    const url = t.timeSeries.url;
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

    // Cells and sensors are fields of one `cells` line per sample, numbered from 1 as on the device label.
    const cell2 = await points(url, 'cells_v2{site="s1",pack="p1"}');
    expect(cell2.map((p) => [p.ts, p.value])).toEqual([
      [t0, 3.31],
      [t0 + 1000, 3.4],
      [t0 + 2000, 3.31],
    ]);
    expect(new Set((await points(url, '{__name__=~"cells_v[0-9]+",pack="p1"}')).map((p) => p.labels.__name__))).toEqual(
      new Set(["cells_v1", "cells_v2", "cells_v3", "cells_v4"]),
    );
    expect((await points(url, 'cells_t2{pack="p1"}')).map((p) => p.value)).toEqual([26.5, 28.5, 26.5]);
    expect((await points(url, 'pack_temperature_min{pack="p1"}')).map((p) => p.value)).toEqual([25, 27, 25]);
    const alarms = await points(url, 'bms_alarm_active{pack="p1"}');
    expect(alarms.map((p) => [p.ts, p.value, p.labels.code])).toEqual([[t0, 1, "OVER_TEMP_WARNING"]]);

    expect(await metricValue(t.ingestion, "bms_ingestion_samples_accepted_total")).toBe(4);
    expect(await metricValue(t.ingestion, "bms_ingestion_messages_received_total", { kind: "telemetry" })).toBe(4);
    await waitFor(() => t.ingestion?.health().spoolSize === 0, 5000, "the spool to empty");
    expect(t.ingestion.health()).toMatchObject({ mqttConnected: true, spoolSize: 0, lastWriteOk: true, deadLetters: 0 });
    expect(await metricValue(t.ingestion, "bms_ingestion_lines_written_total")).toBeGreaterThan(0);
    const exposition = await t.ingestion.registry.metrics();
    expect(exposition).toContain("bms_ingestion_spool_size 0");
  });
});
