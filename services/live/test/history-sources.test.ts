import { sampleToLines } from "@bms/ingestion";
import type { PackSample } from "@bms/shared";
import { afterAll, beforeAll, expect } from "vitest";
import { type InfluxDbServer, startInfluxDb } from "../../../test/support/influxdb";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../../../test/support/victoria-metrics";
import { InfluxQlHistory } from "../src/history/influxql-history";
import { LiveBufferHistory } from "../src/history/live-buffer-history";
import { VictoriaMetricsHistory } from "../src/history/victoria-metrics-history";
import { PackState } from "../src/pack-state";
import { describeHistorySource, type HistoryFixture } from "./history-source.conformance";

const lines = (siteId: string, packId: string, samples: readonly PackSample[]) => samples.flatMap((s) => sampleToLines(siteId, packId, s));

let vm: VictoriaMetricsServer;
let influx: InfluxDbServer;
beforeAll(async () => {
  [vm, influx] = await Promise.all([startVictoriaMetrics(), startInfluxDb("bms")]);
}, 60_000);
afterAll(async () => {
  await Promise.all([vm?.stop(), influx?.stop()]);
});

/** As the ingestion writes: line protocol with ms timestamps through /api/v2/write, then made searchable. */
async function writeVictoria(siteId: string, packId: string, samples: readonly PackSample[]) {
  const res = await fetch(`${vm.url}/api/v2/write?org=bms&bucket=bms&precision=ms`, { method: "POST", body: lines(siteId, packId, samples).join("\n") });
  expect(res.status).toBe(204);
  await fetch(`${vm.url}/internal/force_flush`);
}

describeHistorySource("VictoriaMetrics (Prometheus query API)", () => ({
  source: new VictoriaMetricsHistory({ url: vm.url, token: "", timeoutMs: 10_000 }),
  write: writeVictoria,
}));

describeHistorySource("InfluxDB 1.6.7 (InfluxQL over /query)", () => ({
  source: new InfluxQlHistory({ url: influx.url, token: "", timeoutMs: 10_000, database: influx.database }),
  // InfluxDB 1.6 has no /api/v2/write: its own /write takes the same lines.
  write: async (siteId, packId, samples) => influx.write(lines(siteId, packId, samples)),
}));

const state = new PackState({ historyPerPack: 2000, maxPacks: 100 });
describeHistorySource(
  "the live buffer",
  (): HistoryFixture => ({
    source: new LiveBufferHistory(state),
    write: async (siteId, packId, samples) => {
      for (const s of samples) state.addSample(siteId, packId, s, Date.now());
    },
  }),
);
