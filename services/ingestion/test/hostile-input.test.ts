import { join } from "node:path";
import { type PackSample, SITE_PACK_ID, type SiteStatus } from "@bms/shared";
import { openSqliteCaseStore, openSqliteDeadLetterStore } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { startVictoriaMetrics } from "../../../test/support/victoria-metrics";
import { INGESTION_FILES } from "../src/index";
import { baseTs, connectPublisher, META, makeSample, metricValue, points, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

/** A discharging pack's sample at second `i` after `t0`. */
function at(t0: number, i: number, over: Partial<PackSample> = {}): PackSample {
  const sample = makeSample(i, t0 + i * 1000, { current: -12.5, ...over });
  return { ...sample, packVoltage: Math.round(sample.cellVoltages.reduce((a, b) => a + b, 0) * 100) / 100 };
}

describe("hostile input and broken clocks cannot blind the rules or grow the ingestion", () => {
  const t = useIngestionTestbed();

  it("a sample dated 2099 is dead-lettered as clock ahead; the pack's heat still opens a case and the site's no-data checks go on", async () => {
    [t.broker, t.timeSeries] = await Promise.all([startAedesBroker(), startVictoriaMetrics()]);
    t.caseStore = openSqliteCaseStore(join(t.dir.path, "cases.db"));
    t.ingestion = await startTestIngestion(
      { mqttUrl: t.broker.url, dataDir: t.dir.path, influxUrl: t.timeSeries.url, rules: { rules: { "no-data": { timeoutS: 20 } } } },
      { caseStore: t.caseStore },
    );
    const running = t.ingestion;
    const store = t.caseStore;
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    await publish(t.publisher, "bms/s1/p1/meta", META, true);
    await publish(t.publisher, "bms/s1/p2/meta", META, true);
    for (let i = 0; i < 5; i++) {
      await publish(t.publisher, "bms/s1/p1/telemetry", at(t0, i));
      await publish(t.publisher, "bms/s1/p2/telemetry", at(t0, i));
    }
    const future = at(t0, 5, { cellTemperatures: [80, 80] });
    future.ts = Date.UTC(2099, 0, 1);
    await publish(t.publisher, "bms/s1/p1/telemetry", future);
    await publish(t.publisher, "bms/s1/status", { state: "online", ts: Date.UTC(2099, 0, 1) } satisfies SiteStatus);
    await waitFor(
      async () => (await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "clock_ahead" })) === 2,
      10_000,
      "2 clock-ahead letters",
    );
    // p1 heats up for real (2 °C/s to 80 °C, held): the over-temperature case opens as usual.
    for (let i = 6; i < 120; i++) {
      const temp = Math.min(80, 30 + 2 * (i - 6));
      await publish(t.publisher, "bms/s1/p1/telemetry", at(t0, i, { cellTemperatures: [temp - 1, temp] }));
      // p2 goes silent after second 30 while p1 keeps reporting: no-data must still see it.
      if (i <= 30) await publish(t.publisher, "bms/s1/p2/telemetry", at(t0, i));
    }
    await waitFor(
      async () => (await store.list({ siteId: "s1", packId: "p1" })).some((c) => c.ruleId === "over-temperature"),
      15_000,
      "the over-temperature case",
    );
    await waitFor(async () => (await store.list({ siteId: "s1", packId: "p2", ruleId: "no-data" })).length === 1, 15_000, "p2's no-data case");
    const noData = await store.list({ ruleId: "no-data" });
    expect(noData.map((c) => c.packId)).toEqual(["p2"]);
    expect(noData[0]?.openedAt).toBeLessThan(Date.UTC(2030, 0, 1));
    expect(await store.list({ siteId: "s1", packId: SITE_PACK_ID })).toEqual([]);
    // Nothing of 2099 in the time series; the letter says why.
    await waitFor(async () => (await points(t.timeSeries!.url, 'pack_seq{site="s1",pack="p1"}')).length === 119, 15_000, "p1's 119 good samples");
    expect((await points(t.timeSeries.url, 'pack_seq{site="s1",pack="p1"}')).every((p) => p.ts < Date.UTC(2030, 0, 1))).toBe(true);
    await running.close();
    t.ingestion = undefined;
    const letters = openSqliteDeadLetterStore(join(t.dir.path, INGESTION_FILES.deadLetters));
    const reasons = (await letters.list(10)).map((l) => l.reason);
    await letters.close();
    expect(reasons.filter((r) => r.startsWith("clock ahead: ts 2099-01-01T00:00:00.000Z is "))).toHaveLength(2);
  });

  it("a 120 000-deep JSON array is dead-lettered once and acknowledged: it does not come back after a restart", async () => {
    const broker = await startAedesBroker();
    t.broker = broker;
    t.ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir: t.dir.path });
    t.publisher = await connectPublisher(broker.url);
    const deep = `${"[".repeat(120_000)}${"]".repeat(120_000)}`;
    await publish(t.publisher, "bms/s1/p1/telemetry", deep);
    await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(1, baseTs()));
    const first = t.ingestion;
    await waitFor(async () => (await metricValue(first, "bms_ingestion_samples_accepted_total")) === 1, 10_000, "the good sample after it");
    expect(await metricValue(first, "bms_ingestion_dead_letters_total", { reason: "too_deep" })).toBe(1);
    await first.close();
    // Same client ID, same session: nothing is delivered again.
    t.ingestion = await startTestIngestion({ mqttUrl: broker.url, dataDir: t.dir.path });
    const second = t.ingestion;
    await new Promise((r) => setTimeout(r, 1000));
    expect(await metricValue(second, "bms_ingestion_messages_received_total")).toBe(0);
    expect(second.health().deadLetters).toBe(1);
  });

  it("refuses packs past the per-site limit and samples past the cell limit: dead-lettered and counted, not stored", async () => {
    [t.broker, t.timeSeries] = await Promise.all([startAedesBroker(), startVictoriaMetrics()]);
    t.ingestion = await startTestIngestion({
      mqttUrl: t.broker.url,
      dataDir: t.dir.path,
      influxUrl: t.timeSeries.url,
      extra: { limits: { maxPacksPerSite: 5, maxCellsPerPack: 8 } },
    });
    const running = t.ingestion;
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    for (let p = 0; p < 8; p++) await publish(t.publisher, `bms/s1/p${p}/telemetry`, makeSample(p, t0));
    // Another site has its own allowance.
    await publish(t.publisher, "bms/s2/p0/telemetry", makeSample(0, t0));
    await publish(t.publisher, "bms/s1/p0/telemetry", makeSample(10, t0 + 1000, { cellVoltages: Array(9).fill(3.3), cellTemperatures: [25] }));
    await waitFor(async () => (await metricValue(running, "bms_ingestion_messages_received_total")) === 10, 10_000, "10 messages");
    expect(await metricValue(running, "bms_ingestion_samples_accepted_total")).toBe(6);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "over_limit" })).toBe(4);
    await waitFor(async () => (await points(t.timeSeries!.url, "pack_seq")).length === 6, 10_000, "6 samples stored");
    expect(new Set((await points(t.timeSeries.url, 'pack_seq{site="s1"}')).map((p) => p.labels.pack))).toEqual(new Set(["p0", "p1", "p2", "p3", "p4"]));
  });
});
