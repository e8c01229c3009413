import { performance } from "node:perf_hooks";
import { startBroker } from "@bms/broker";
import { startIngestion } from "@bms/ingestion";
import { startLive } from "@bms/live";
import { LIVE_NAMESPACE, type PackSample, parseConfig, type SitePackSample, topics } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import mqtt, { type MqttClient } from "mqtt";
import type { Registry } from "prom-client";
import { io } from "socket.io-client";
import { waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";
import { startVictoriaMetrics } from "../support/victoria-metrics";
import { type BurstMessage, makeBurst, percentile } from "./burst";

/**
 * The ingestion against a bare MQTT subscriber on the same embedded broker, in one run:
 *  1. bare subscriber (QoS 1): messages/s it receives from a burst of samples (the baseline);
 *  2. the ingestion: messages/s fully handled (validated, spooled, written to VictoriaMetrics
 *     through the InfluxDB write API, rules run) from a burst of the same size; the ratio to 1;
 *  3. sample → socket.io latency p50/p99 through the live service, at a steady rate.
 * With `persistence: "disk"` the broker stores every QoS 1 copy for a persistent session, which
 * the ingestion has (`clean: false`), so the baseline subscriber then has a persistent session too:
 * both pay the same broker cost.
 */
export interface IngestionBenchFigures {
  persistence: "memory" | "disk";
  burst: number;
  bareSubscriberMsgPerS: number;
  ingestionAcceptedMsgPerS: number;
  ingestionMsgPerS: number;
  ingestionToBareRatio: number;
  linesWritten: number;
  samplesReadBackSite0: number;
  latencySamplesSent?: number;
  latencySamplesDelivered?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
}

const LATENCY_RATE_PER_S = 100;
const LATENCY_SECONDS = 10;

function publishBurst(client: MqttClient, burst: readonly BurstMessage[]): Promise<void> {
  let pending = burst.length;
  return new Promise((resolve, reject) => {
    for (const m of burst) {
      client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
        if (err) reject(err);
        else if (--pending === 0) resolve();
      });
    }
  });
}

async function counterValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

async function bareSubscriberRate(brokerUrl: string, publisher: MqttClient, burst: readonly BurstMessage[], persistent: boolean): Promise<number> {
  const clientId = "bench-bare";
  if (persistent) {
    // Create the session and its subscription first, as the ingestion's already exists.
    const setup = await mqtt.connectAsync(brokerUrl, { clientId, clean: false });
    await setup.subscribeAsync("bms/#", { qos: 1 });
    await setup.endAsync();
  }
  const bare = await mqtt.connectAsync(brokerUrl, { clientId, clean: !persistent });
  if (!persistent) await bare.subscribeAsync("bms/#", { qos: 1 });
  let received = 0;
  let done: () => void = () => {};
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  bare.on("message", () => {
    if (++received === burst.length) done();
  });
  const t0 = performance.now();
  await publishBurst(publisher, burst);
  await allReceived;
  const rate = burst.length / ((performance.now() - t0) / 1000);
  if (persistent) {
    await bare.unsubscribeAsync("bms/#");
    await bare.endAsync();
    // Drop the session: a clean connection with the same client ID discards it.
    await (await mqtt.connectAsync(brokerUrl, { clientId, clean: true })).endAsync();
  } else {
    await bare.endAsync();
  }
  return rate;
}

async function latencyThroughLive(
  brokerUrl: string,
  publisher: MqttClient,
  dataDir: string,
): Promise<Pick<IngestionBenchFigures, "latencySamplesSent" | "latencySamplesDelivered" | "latencyP50Ms" | "latencyP99Ms">> {
  const token = "bench-engineer-token-0123456789";
  const live = await startLive(
    parseConfig(LiveConfig, { http: { host: "127.0.0.1", port: 0 }, mqtt: { url: brokerUrl }, dataDir, engineerTokens: [token] }, "bench"),
  );
  const socket = io(`${live.url}${LIVE_NAMESPACE}`, { auth: { token }, transports: ["websocket"] });
  try {
    await socket.timeout(5000).emitWithAck("subscribe", { siteId: "latency-site" });
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    socket.on("sample", (s: SitePackSample) => {
      const at = sentAt.get(s.seq);
      if (at !== undefined) latencies.push(performance.now() - at);
    });
    const total = LATENCY_RATE_PER_S * LATENCY_SECONDS;
    for (let seq = 0; seq < total; seq++) {
      const sample: PackSample = {
        v: 1,
        ts: Date.now(),
        seq,
        packVoltage: 52.8,
        current: -10,
        soc: 60,
        cellVoltages: Array.from({ length: 16 }, () => 3.3),
        cellTemperatures: Array.from({ length: 16 }, () => 25),
      };
      sentAt.set(seq, performance.now());
      publisher.publish(topics.telemetry("latency-site", `pack-${seq % 4}`), JSON.stringify(sample), { qos: 1 });
      await new Promise((r) => setTimeout(r, 1000 / LATENCY_RATE_PER_S));
    }
    await new Promise((r) => setTimeout(r, 1000));
    latencies.sort((a, b) => a - b);
    return {
      latencySamplesSent: total,
      latencySamplesDelivered: latencies.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
    };
  } finally {
    socket.close();
    await live.close();
  }
}

export async function benchIngestion(persistence: "memory" | "disk", burstSize: number, withLatency: boolean): Promise<IngestionBenchFigures> {
  const dir = makeTempDir("bms-bench-");
  const vm = await startVictoriaMetrics();
  const broker = await startBroker(parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, allowAnonymous: true, dataDir: dir.path, persistence }, "bench"));
  const publisher = await mqtt.connectAsync(broker.url, { clientId: "bench-publisher" });
  try {
    const bareSubscriberMsgPerS = await bareSubscriberRate(broker.url, publisher, makeBurst(burstSize, 0), persistence === "disk");

    const ingestion = await startIngestion(
      parseConfig(
        IngestionConfig,
        { mqtt: { url: broker.url, clientId: "bench-ingestion" }, influx: { url: vm.url, org: "bench", bucket: "bms" }, dataDir: dir.path },
        "bench",
      ),
    );
    try {
      await waitFor(() => ingestion.health().mqttConnected, 10_000, "the ingestion to subscribe");
      const burst = makeBurst(burstSize, burstSize);
      const t0 = performance.now();
      await publishBurst(publisher, burst);
      await waitFor(
        async () => (await counterValue(ingestion.registry, "bms_ingestion_samples_accepted_total")) >= burstSize,
        300_000,
        "the ingestion to accept the burst",
      );
      const ingestionAcceptedMsgPerS = burstSize / ((performance.now() - t0) / 1000);
      await waitFor(() => ingestion.health().spoolSize === 0, 300_000, "the ingestion to write the burst");
      const ingestionMsgPerS = burstSize / ((performance.now() - t0) / 1000);
      const linesWritten = await counterValue(ingestion.registry, "bms_ingestion_lines_written_total");
      // Every sample of one site must read back: the figure above counts only data that arrived.
      const expectedSite0 = burst.filter((m) => m.topic.startsWith("bms/bench-site-0/")).length;
      let samplesReadBackSite0 = 0;
      await waitFor(
        async () => {
          const exported = await vm.exportSeries('pack_voltage{site="bench-site-0"}');
          samplesReadBackSite0 = exported.reduce((n, s) => n + s.values.length, 0);
          return samplesReadBackSite0 === expectedSite0;
        },
        60_000,
        `${expectedSite0} samples of bench-site-0 to read back from VictoriaMetrics`,
      );
      const latency = withLatency ? await latencyThroughLive(broker.url, publisher, dir.path) : {};
      return {
        persistence,
        burst: burstSize,
        bareSubscriberMsgPerS,
        ingestionAcceptedMsgPerS,
        ingestionMsgPerS,
        ingestionToBareRatio: ingestionMsgPerS / bareSubscriberMsgPerS,
        linesWritten,
        samplesReadBackSite0,
        ...latency,
      };
    } finally {
      await ingestion.close();
    }
  } finally {
    await publisher.endAsync();
    await broker.close();
    await vm.stop();
    dir.remove();
  }
}

export function formatIngestionBench(r: IngestionBenchFigures): string {
  const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
  const broker =
    r.persistence === "memory"
      ? "embedded aedes, persistence in memory (the ingestion's own capacity)"
      : "embedded aedes, persistence on disk as shipped (baseline: a bare subscriber with a persistent session)";
  const lines = [
    `ingestion: burst of ${r.burst} pack samples (16 cells, 16 sensors, ~${makeBurst(1, 0)[0]?.payload.length} B), QoS 1, ${broker}`,
    `  bare MQTT subscriber (baseline)      ${f(r.bareSubscriberMsgPerS)} msg/s`,
    `  ingestion, fully handled             ${f(r.ingestionMsgPerS)} msg/s  (validated, spooled, written to VictoriaMetrics, rules run)`,
    `  ratio ingestion / bare subscriber    ${f(r.ingestionToBareRatio, 2)}`,
    `  ingestion, accepted (durable intake and rules, before the write)  ${f(r.ingestionAcceptedMsgPerS)} msg/s`,
    `  lines written                        ${f(r.linesWritten)}  (all ${f(r.samplesReadBackSite0)} samples of one site read back from VictoriaMetrics)`,
  ];
  if (r.latencyP99Ms !== undefined) {
    lines.push(
      `  sample → socket.io latency           p50 ${f(r.latencyP50Ms, 1)} ms, p99 ${f(r.latencyP99Ms, 1)} ms  (${f(r.latencySamplesDelivered)} of ${f(r.latencySamplesSent)} delivered at ${LATENCY_RATE_PER_S}/s over 4 packs; the live feed coalesces per pack per tick)`,
    );
  }
  return `${lines.join("\n")}\njson-ingestion-${r.persistence}: ${JSON.stringify(r)}\n`;
}
