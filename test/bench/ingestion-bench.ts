import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startBroker } from "@bms/broker";
import { parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import mqtt, { type MqttClient } from "mqtt";
import { INGESTION_NODE_FLAGS } from "../../services/ingestion/src/node-flags";
import { type RunningScript, runScript } from "../support/cli";
import { freePort, waitFor } from "../support/free-port";
import { cpuSecondsOf } from "../support/process-usage";
import { makeTempDir } from "../support/temp-dir";
import { startVictoriaMetrics } from "../support/victoria-metrics";
import { type BurstMessage, makeBurst, percentile, withoutDelay } from "./burst";

/**
 * The ingestion against a bare MQTT subscriber on the same embedded broker, in one run. The broker
 * and the publisher run in this process; the subscriber and the ingestion each in a process of its
 * own, as deployed (the ingestion from its bundle, `npm run build`), so neither shares an event
 * loop with the broker:
 *  1. bare subscriber (QoS 1): messages/s it receives from a burst of samples (the baseline);
 *  2. the ingestion: messages/s fully handled (validated, spooled, written to VictoriaMetrics
 *     through the InfluxDB write API, rules run) from a burst of the same size; the ratio to 1.
 * Sample → socket.io latency is the live bench's (live-bench.ts: the live service as deployed, at
 * a rate where every sample is sent, not coalesced).
 * With `persistence: "disk"` the broker stores every QoS 1 copy for a persistent session, which
 * the ingestion has (`clean: false`), so the baseline subscriber then has a persistent session too:
 * both pay the same broker cost. The bench's own process (the broker and the publisher) reports its
 * CPU per message for each.
 */
export interface IngestionBenchFigures {
  persistence: "memory" | "disk";
  burst: number;
  bareSubscriberMsgPerS: number;
  ingestionFirstBurstMsgPerS: number;
  ingestionAcceptedMsgPerS: number;
  ingestionMsgPerS: number;
  bareSubscriberCpuUsPerMsg: number;
  ingestionCpuUsPerMsg: number;
  /** VictoriaMetrics taking the ingestion's writes: the same machine's other user of CPU. */
  timeSeriesCpuUsPerMsg: number;
  /** The median of the rounds' ratios (each round: a baseline burst, then an ingestion burst). */
  ingestionToBareRatio: number;
  /** This process's CPU (the broker and the publisher), µs per message, while the baseline and while the ingestion takes its burst. */
  brokerCpuUsPerMsgBaseline: number;
  brokerCpuUsPerMsgIngestion: number;
  rounds: IngestionRound[];
  /** Over all rounds. */
  linesWritten: number;
  samplesReadBackSite0: number;
}

const INGESTION_CLIENT_ID = "bench-ingestion";

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

/** Resolves when `script` prints a line starting with `prefix`; rejects when it exits first. */
function lineFrom(script: RunningScript, prefix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (
        script
          .stdout()
          .split("\n")
          .some((l) => l.startsWith(prefix))
      ) {
        script.child.stdout.off("data", onData);
        resolve();
      }
    };
    script.child.stdout.on("data", onData);
    void script.exited.then((code) => reject(new Error(`exited (${code}) before printing "${prefix}": ${script.output()}`)));
    onData();
  });
}

/**
 * The baseline: a bare subscriber in a process of its own receives `warmup`, then the measured
 * burst; messages/s of the measured burst.
 */
async function bareSubscriberRate(
  brokerUrl: string,
  publisher: MqttClient,
  warmup: readonly BurstMessage[],
  burst: readonly BurstMessage[],
  persistent: boolean,
): Promise<{ rate: number; cpuUsPerMsg: number; brokerCpuUsPerMsg: number }> {
  const clientId = "bench-bare";
  const bare = runScript("test/bench/bare-subscriber.ts", [brokerUrl, String(burst.length), clientId, persistent ? "1" : "0", String(warmup.length)], {
    via: "node",
    env: { PATH: process.env.PATH },
  });
  await lineFrom(bare, "ready");
  const warm = lineFrom(bare, "warm");
  await publishBurst(publisher, warmup);
  await warm;
  const pid = bare.child.pid as number;
  const cpu0 = cpuSecondsOf(pid);
  const ownCpu0 = cpuSecondsOf(process.pid);
  const t0 = performance.now();
  const received = lineFrom(bare, "received");
  await publishBurst(publisher, burst);
  await received;
  const rate = burst.length / ((performance.now() - t0) / 1000);
  const brokerCpuUsPerMsg = ((cpuSecondsOf(process.pid) - ownCpu0) * 1e6) / burst.length;
  const cpuUsPerMsg = ((cpuSecondsOf(pid) - cpu0) * 1e6) / burst.length;
  await bare.exited;
  // A persistent session would keep collecting the next bursts.
  if (persistent) await (await mqtt.connectAsync(brokerUrl, { clientId, clean: true })).endAsync();
  return { rate, cpuUsPerMsg, brokerCpuUsPerMsg };
}

/** The ingestion as shipped (`node --max-semi-space-size=32 services/ingestion/dist/main.js`), its /metrics and /healthz on a free port. */
async function startIngestionProcess(brokerUrl: string, influxUrl: string, dataDir: string): Promise<{ script: RunningScript; url: string }> {
  const port = await freePort();
  const config = join(dataDir, "ingestion.json");
  writeFileSync(
    config,
    JSON.stringify({
      mqtt: { url: brokerUrl, clientId: INGESTION_CLIENT_ID },
      influx: { url: influxUrl, org: "bench", bucket: "bms" },
      dataDir,
      http: { port },
    }),
  );
  // BENCH_CPU_PROF=dir: the ingestion writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF;
  const script = runScript("services/ingestion/dist/main.js", ["--config", config], {
    via: "built",
    env: { PATH: process.env.PATH, LOG_LEVEL: "warn" },
    nodeFlags: [...INGESTION_NODE_FLAGS, ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (script.child.exitCode !== null) throw new Error(`the ingestion exited: ${script.output()}`);
      return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
    },
    30_000,
    "the ingestion to subscribe",
  );
  return { script, url };
}

/** The sum of one metric's values on a /metrics page. */
async function scraped(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name) && /^[a-z_]+(\{[^}]*\})? /.test(line)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}

/** Rounds of the ingestion bench (BENCH_ROUNDS): the baseline and the ingestion alternate, and the medians are reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/**
 * Samples each process takes before its measured burst (BENCH_WARMUP), so that the figures are a
 * running service's, not V8 compiling a process started a moment ago. The ingestion's rate over
 * this first burst is printed too.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10_000);

interface IngestionRound {
  bareSubscriberMsgPerS: number;
  /** CPU time of the process (all threads), µs per message of the measured burst; /proc's 10 ms ticks. */
  bareSubscriberCpuUsPerMsg: number;
  ingestionCpuUsPerMsg: number;
  /** VictoriaMetrics taking the ingestion's writes: the same machine's other user of CPU. */
  timeSeriesCpuUsPerMsg: number;
  /** The warm-up burst, the first a freshly started ingestion takes, fully handled. */
  ingestionFirstBurstMsgPerS: number;
  ingestionAcceptedMsgPerS: number;
  ingestionMsgPerS: number;
  brokerCpuUsPerMsgBaseline: number;
  brokerCpuUsPerMsgIngestion: number;
  ratio: number;
}

/** Publishes `burst` and resolves when the ingestion has accepted it and when it has written it; messages/s of each. */
async function handledRate(
  url: string,
  pids: { ingestion: number; timeSeries: number },
  publisher: MqttClient,
  burst: readonly BurstMessage[],
): Promise<{ accepted: number; handled: number; cpuUsPerMsg: number; timeSeriesCpuUsPerMsg: number; brokerCpuUsPerMsg: number }> {
  if (burst.length === 0) return { accepted: 0, handled: 0, cpuUsPerMsg: 0, timeSeriesCpuUsPerMsg: 0, brokerCpuUsPerMsg: 0 };
  const before = await scraped(url, "bms_ingestion_samples_accepted_total");
  const cpu0 = cpuSecondsOf(pids.ingestion);
  const tsCpu0 = cpuSecondsOf(pids.timeSeries);
  const ownCpu0 = cpuSecondsOf(process.pid);
  const t0 = performance.now();
  await publishBurst(publisher, burst);
  await waitFor(
    async () => (await scraped(url, "bms_ingestion_samples_accepted_total")) - before >= burst.length,
    300_000,
    "the ingestion to accept the burst",
  );
  const accepted = burst.length / ((performance.now() - t0) / 1000);
  // The broker has sent the whole burst by now; the PUBACKs of the last batch follow at once.
  const brokerCpuUsPerMsg = ((cpuSecondsOf(process.pid) - ownCpu0) * 1e6) / burst.length;
  await waitFor(
    async () => ((await (await fetch(`${url}/healthz`)).json()) as { spoolSize: number }).spoolSize === 0,
    300_000,
    "the ingestion to write the burst",
  );
  const handled = burst.length / ((performance.now() - t0) / 1000);
  const usPerMsg = (seconds: number) => (seconds * 1e6) / burst.length;
  return {
    accepted,
    handled,
    cpuUsPerMsg: usPerMsg(cpuSecondsOf(pids.ingestion) - cpu0),
    timeSeriesCpuUsPerMsg: usPerMsg(cpuSecondsOf(pids.timeSeries) - tsCpu0),
    brokerCpuUsPerMsg,
  };
}

/**
 * A warm-up burst, then the measured one, through a freshly started ingestion (its data
 * directory, and so its spool and rule state, kept from round to round).
 */
async function ingestionRound(
  brokerUrl: string,
  timeSeries: { url: string; pid: number },
  dataDir: string,
  publisher: MqttClient,
  warmup: readonly BurstMessage[],
  burst: readonly BurstMessage[],
) {
  const ingestion = await startIngestionProcess(brokerUrl, timeSeries.url, dataDir);
  try {
    const pids = { ingestion: ingestion.script.child.pid as number, timeSeries: timeSeries.pid };
    const first = await handledRate(ingestion.url, pids, publisher, warmup);
    const measured = await handledRate(ingestion.url, pids, publisher, burst);
    // A fresh process: its counter holds the warm-up's and the measured burst's lines.
    const linesWritten = await scraped(ingestion.url, "bms_ingestion_lines_written_total");
    return {
      ingestionFirstBurstMsgPerS: first.handled,
      ingestionAcceptedMsgPerS: measured.accepted,
      ingestionMsgPerS: measured.handled,
      ingestionCpuUsPerMsg: measured.cpuUsPerMsg,
      timeSeriesCpuUsPerMsg: measured.timeSeriesCpuUsPerMsg,
      brokerCpuUsPerMsgIngestion: measured.brokerCpuUsPerMsg,
      linesWritten,
    };
  } finally {
    ingestion.script.child.kill("SIGTERM");
    await ingestion.script.exited;
    // Its persistent session would collect the baseline's next burst.
    await (await mqtt.connectAsync(brokerUrl, { clientId: INGESTION_CLIENT_ID, clean: true })).endAsync();
  }
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  ) ?? 0;

export async function benchIngestion(persistence: "memory" | "disk", burstSize: number): Promise<IngestionBenchFigures> {
  const dir = makeTempDir("bms-bench-");
  const vm = await startVictoriaMetrics();
  const broker = await startBroker(parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, allowAnonymous: true, dataDir: dir.path, persistence }, "bench"));
  const publisher = withoutDelay(await mqtt.connectAsync(broker.url, { clientId: "bench-publisher" }));
  try {
    // The baseline and the ingestion alternate, so that a slower spell of the machine weighs on both.
    const rounds: IngestionRound[] = [];
    let linesWritten = 0;
    let expectedSite0 = 0;
    // Each ingestion burst starts after the last one's newest sample (samples are 1 ms apart), so
    // that every round's samples are new to the rules, not a backlog.
    let nextTs = Date.now();
    const perRound = WARMUP + burstSize;
    for (let round = 0; round < ROUNDS; round++) {
      const firstSeq = 2 * round * perRound;
      const bare = await bareSubscriberRate(
        broker.url,
        publisher,
        makeBurst(WARMUP, firstSeq),
        makeBurst(burstSize, firstSeq + WARMUP),
        persistence === "disk",
      );
      const base = Math.max(Date.now(), nextTs);
      nextTs = base + perRound + 1000;
      const warmup = makeBurst(WARMUP, firstSeq + perRound, 10, 10, base);
      const burst = makeBurst(burstSize, firstSeq + perRound + WARMUP, 10, 10, base + WARMUP);
      expectedSite0 += [...warmup, ...burst].filter((m) => m.topic.startsWith("bms/bench-site-0/")).length;
      const r = await ingestionRound(broker.url, vm, dir.path, publisher, warmup, burst);
      linesWritten = r.linesWritten;
      rounds.push({
        bareSubscriberMsgPerS: bare.rate,
        bareSubscriberCpuUsPerMsg: bare.cpuUsPerMsg,
        brokerCpuUsPerMsgBaseline: bare.brokerCpuUsPerMsg,
        ...r,
        ratio: r.ingestionMsgPerS / bare.rate,
      });
    }
    // Every sample of one site must read back: the figures count only data that arrived.
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
    return {
      persistence,
      burst: burstSize,
      bareSubscriberMsgPerS: median(rounds.map((r) => r.bareSubscriberMsgPerS)),
      ingestionFirstBurstMsgPerS: median(rounds.map((r) => r.ingestionFirstBurstMsgPerS)),
      bareSubscriberCpuUsPerMsg: median(rounds.map((r) => r.bareSubscriberCpuUsPerMsg)),
      ingestionCpuUsPerMsg: median(rounds.map((r) => r.ingestionCpuUsPerMsg)),
      timeSeriesCpuUsPerMsg: median(rounds.map((r) => r.timeSeriesCpuUsPerMsg)),
      ingestionAcceptedMsgPerS: median(rounds.map((r) => r.ingestionAcceptedMsgPerS)),
      ingestionMsgPerS: median(rounds.map((r) => r.ingestionMsgPerS)),
      ingestionToBareRatio: median(rounds.map((r) => r.ratio)),
      brokerCpuUsPerMsgBaseline: median(rounds.map((r) => r.brokerCpuUsPerMsgBaseline)),
      brokerCpuUsPerMsgIngestion: median(rounds.map((r) => r.brokerCpuUsPerMsgIngestion)),
      rounds,
      linesWritten,
      samplesReadBackSite0,
    };
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
    `  ${r.rounds.length} rounds, each a baseline burst then an ingestion burst, each process warmed up by ${WARMUP} samples first; medians:`,
    `  bare MQTT subscriber (baseline)      ${f(r.bareSubscriberMsgPerS)} msg/s`,
    `  ingestion, fully handled             ${f(r.ingestionMsgPerS)} msg/s  (validated, spooled, written to VictoriaMetrics, rules run)`,
    `  ratio ingestion / bare subscriber    ${f(r.ingestionToBareRatio, 2)}  (rounds: ${r.rounds.map((x) => x.ratio.toFixed(2)).join(", ")})`,
    `  ingestion, accepted (durable intake and rules, before the write)  ${f(r.ingestionAcceptedMsgPerS)} msg/s`,
    `  CPU per message (process, all threads)  bare subscriber ${f(r.bareSubscriberCpuUsPerMsg)} µs, ingestion ${f(r.ingestionCpuUsPerMsg)} µs, VictoriaMetrics taking its writes ${f(r.timeSeriesCpuUsPerMsg)} µs;`,
    `    the bench's own process (broker and publisher) ${f(r.brokerCpuUsPerMsgBaseline)} µs for the baseline, ${f(r.brokerCpuUsPerMsgIngestion)} µs for the ingestion`,
    `  ingestion, first ${WARMUP} samples after its start (the warm-up, fully handled)  ${f(r.ingestionFirstBurstMsgPerS)} msg/s`,
    `  lines written, last round            ${f(r.linesWritten)} for ${f(WARMUP + r.burst)} samples  (all ${f(r.samplesReadBackSite0)} samples of one site read back from VictoriaMetrics)`,
  ];
  return `${lines.join("\n")}\njson-ingestion-${r.persistence}: ${JSON.stringify(r)}\n`;
}
