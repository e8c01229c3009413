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
import { benchAgent } from "./agent-bench";
import { type BurstMessage, makeBurst, percentile } from "./burst";
import { benchCases } from "./case-bench";
import { benchLive, formatLiveBench } from "./live-bench";
import { benchScaleOut, formatScaleOutBench } from "./scale-out-bench";
import { benchSimulator } from "./simulator-bench";

/**
 * `npm run bench`: one run, one broker (embedded aedes), figures printed with their baseline.
 *  1. bare MQTT subscriber (QoS 1): messages/s it receives from a burst of samples (the baseline);
 *  2. ingestion: messages/s fully handled (validated, spooled, written to VictoriaMetrics through
 *     the InfluxDB write API, rules run) from the same burst on the same broker; the ratio to 1;
 *  3. sample → socket.io latency p50/p99 through the live service, at a steady rate.
 * BENCH_SAMPLES (default 20000) sets the burst size.
 */
const BURST = Number(process.env.BENCH_SAMPLES ?? 20_000);
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

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= "warn";
  const dir = makeTempDir("bms-bench-");
  const vm = await startVictoriaMetrics();
  // The embedded broker as shipped: its persistence on disk.
  const broker = await startBroker(parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, allowAnonymous: true, dataDir: dir.path }, "bench"));
  const publisher = await mqtt.connectAsync(broker.url, { clientId: "bench-publisher" });
  const results: Record<string, number> = {};

  try {
    // 1. Baseline: a bare subscriber.
    const bare = await mqtt.connectAsync(broker.url, { clientId: "bench-bare", clean: true });
    await bare.subscribeAsync("bms/#", { qos: 1 });
    let received = 0;
    let bareDone: () => void = () => {};
    const allReceived = new Promise<void>((resolve) => (bareDone = resolve));
    bare.on("message", () => {
      if (++received === BURST) bareDone();
    });
    const burst1 = makeBurst(BURST, 0);
    let t0 = performance.now();
    await publishBurst(publisher, burst1);
    await allReceived;
    const bareSeconds = (performance.now() - t0) / 1000;
    results.bareSubscriberMsgPerS = BURST / bareSeconds;
    await bare.endAsync();

    // 2. The ingestion, fully handling the same burst on the same broker.
    const ingestion = await startIngestion(
      parseConfig(
        IngestionConfig,
        { mqtt: { url: broker.url, clientId: "bench-ingestion" }, influx: { url: vm.url, org: "bench", bucket: "bms" }, dataDir: dir.path },
        "bench",
      ),
    );
    await waitFor(() => ingestion.health().mqttConnected, 10_000, "the ingestion to subscribe");
    const burst2 = makeBurst(BURST, BURST);
    t0 = performance.now();
    await publishBurst(publisher, burst2);
    await waitFor(
      async () => (await counterValue(ingestion.registry, "bms_ingestion_samples_accepted_total")) >= BURST,
      120_000,
      "the ingestion to accept the burst",
    );
    results.ingestionAcceptedMsgPerS = BURST / ((performance.now() - t0) / 1000);
    await waitFor(() => ingestion.health().spoolSize === 0, 120_000, "the ingestion to write the burst");
    const ingestSeconds = (performance.now() - t0) / 1000;
    results.ingestionMsgPerS = BURST / ingestSeconds;
    results.ingestionToBareRatio = results.ingestionMsgPerS / results.bareSubscriberMsgPerS;
    results.linesWritten = await counterValue(ingestion.registry, "bms_ingestion_lines_written_total");
    // Every sample of one site must read back: the figure above counts only data that arrived.
    const expectedSite0 = burst2.filter((m) => m.topic.startsWith("bms/bench-site-0/")).length;
    await waitFor(
      async () => {
        const exported = await vm.exportSeries('pack_voltage{site="bench-site-0"}');
        results.samplesReadBackSite0 = exported.reduce((n, s) => n + s.values.length, 0);
        return results.samplesReadBackSite0 === expectedSite0;
      },
      60_000,
      `${expectedSite0} samples of bench-site-0 to read back from VictoriaMetrics`,
    );

    // 3. Sample → socket.io latency through the live service.
    const token = "bench-engineer-token-0123456789";
    const live = await startLive(
      parseConfig(LiveConfig, { http: { host: "127.0.0.1", port: 0 }, mqtt: { url: broker.url }, dataDir: dir.path, engineerTokens: [token] }, "bench"),
    );
    const socket = io(`${live.url}${LIVE_NAMESPACE}`, { auth: { token }, transports: ["websocket"] });
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
    results.latencySamplesSent = total;
    results.latencySamplesDelivered = latencies.length;
    results.latencyP50Ms = percentile(latencies, 50);
    results.latencyP99Ms = percentile(latencies, 99);
    socket.close();
    await live.close();
    await ingestion.close();
  } finally {
    await publisher.endAsync();
    await broker.close();
    await vm.stop();
    dir.remove();
  }

  const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
  process.stdout.write(
    [
      `bench: burst of ${BURST} pack samples (16 cells, 16 sensors, ~${makeBurst(1, 0)[0]!.payload.length} B), QoS 1, embedded aedes, one run`,
      `  bare MQTT subscriber (baseline)      ${f(results.bareSubscriberMsgPerS)} msg/s`,
      `  ingestion, fully handled             ${f(results.ingestionMsgPerS)} msg/s  (validated, spooled, written to VictoriaMetrics, rules run)`,
      `  ratio ingestion / bare subscriber    ${f(results.ingestionToBareRatio, 2)}`,
      `  ingestion, accepted (durable intake and rules, before the write)  ${f(results.ingestionAcceptedMsgPerS)} msg/s`,
      `  lines written                        ${f(results.linesWritten)}  (all ${f(results.samplesReadBackSite0)} samples of one site read back from VictoriaMetrics)`,
      `  sample → socket.io latency           p50 ${f(results.latencyP50Ms, 1)} ms, p99 ${f(results.latencyP99Ms, 1)} ms  (${f(results.latencySamplesDelivered)} of ${f(results.latencySamplesSent)} delivered at ${LATENCY_RATE_PER_S}/s over 4 packs; the live feed coalesces per pack per tick)`,
      `json: ${JSON.stringify(results)}`,
      "",
    ].join("\n"),
  );

  // The edge agent's figures (test/bench/agent-bench.ts prints its own lines).
  process.stdout.write(`agent json: ${JSON.stringify(await benchAgent())}\n`);

  // The simulator's figures: model speed, Modbus TCP registers/s (test/bench/simulator-bench.ts prints its own lines).
  process.stdout.write(`simulator json: ${JSON.stringify(await benchSimulator())}\n`);

  // Triggering sample → case stored and announced on socket.io, with 1000 packs streaming (test/bench/case-bench.ts).
  const c = await benchCases();
  process.stdout.write(
    `  fault → case on socket.io            p50 ${f(c.caseLatencyP50Ms, 1)} ms, p99 ${f(c.caseLatencyP99Ms, 1)} ms, max ${f(c.caseLatencyMaxMs, 1)} ms  (${f(c.caseOpenedAnnounced)} of ${f(c.caseFaults)} cases, ${f(c.casePacks)} packs streaming ${f(c.caseStreamedSamplesPerS)} samples/s, all rules)\njson-cases: ${JSON.stringify(c)}\n`,
  );

  // Partitioned ingestion on RabbitMQ: 1 and 2 workers against the bare consumer, failover (test/bench/scale-out-bench.ts).
  process.stdout.write(formatScaleOutBench(await benchScaleOut()));

  // The live service in its own process: latency and memory with 1000 and 10000 packs streaming, and the subscribe flood (test/bench/live-bench.ts).
  process.stdout.write(formatLiveBench(await benchLive()));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
