import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startBroker } from "@bms/broker";
import { startIngestion } from "@bms/ingestion";
import { startLive } from "@bms/live";
import { type CaseEvent, createLogger, LIVE_NAMESPACE, type PackSample, parseConfig, topics } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import mqtt, { type MqttClient } from "mqtt";
import { io } from "socket.io-client";
import { waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";
import { percentile, withoutDelay } from "./burst";
import { startServiceProcess } from "./service-processes";

/**
 * Fault → case latency with a fleet streaming: 1000 packs (10 sites × 100) send a sample a second
 * each through the embedded broker into the ingestion (all rules) and the live service; now and then
 * one pack sends a triggering sample (a cell at 3.7 V that the BMS confirms with OVER_VOLT_ALARM,
 * which fires at once). Measured: from publishing that sample to its case, stored, arriving as an
 * `opened` event on an engineer's socket.io connection. One run, figures in ms.
 * BENCH_CASE_PACKS (1000), BENCH_CASE_SECONDS (30), BENCH_CASE_FAULTS (200) change the run.
 */
const SITES = 10;
const PACKS = Number(process.env.BENCH_CASE_PACKS ?? 1000);
const SECONDS = Number(process.env.BENCH_CASE_SECONDS ?? 30);
const FAULTS = Number(process.env.BENCH_CASE_FAULTS ?? 200);
const WARMUP_SECONDS = 5;
const TICKS_PER_SECOND = 10;
const TOKEN = "bench-engineer-token-0123456789";

function sample(seq: number, ts: number, fault: boolean): PackSample {
  const cells = Array.from({ length: 16 }, (_, c) => 3.3 + ((seq + c) % 10) * 0.001);
  if (fault) cells[3] = 3.7;
  return {
    v: 1,
    ts,
    seq,
    packVoltage: Math.round(cells.reduce((a, b) => a + b, 0) * 100) / 100,
    current: -20 + (seq % 10),
    soc: 60,
    soh: 97.5,
    cellVoltages: cells,
    cellTemperatures: Array.from({ length: 16 }, (_, c) => 25 + ((seq + c) % 5) * 0.1),
    bmsAlarms: fault ? ["OVER_VOLT_ALARM"] : [],
  };
}

const siteOf = (pack: number) => `case-site-${pack % SITES}`;
const packOf = (pack: number) => `pack-${Math.floor(pack / SITES)}`;

/** Publishes one tick's share of the fleet (QoS 1); resolves once the broker took them all. */
function publishAll(clients: readonly MqttClient[], messages: readonly { topic: string; payload: string }[]): Promise<void> {
  let pending = messages.length;
  if (pending === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    messages.forEach((m, i) => {
      (clients[i % clients.length] as MqttClient).publish(m.topic, m.payload, { qos: 1 }, (err) => {
        if (err) reject(err);
        else if (--pending === 0) resolve();
      });
    });
  });
}

/** The broker, the ingestion and the live service under test, however they run. */
interface Stack {
  brokerUrl: string;
  liveUrl: string;
  close(): Promise<void>;
}

/** `npm start`'s way: the broker, the ingestion and the live service in this process. */
async function oneProcess(_dir: string, broker: Record<string, unknown>, ingestion: Record<string, unknown>, live: Record<string, unknown>): Promise<Stack> {
  const quiet = createLogger("bench", "error");
  const b = await startBroker(parseConfig(BrokerConfig, { ...broker, host: "127.0.0.1", port: 0 }, "case bench"));
  const i = await startIngestion(parseConfig(IngestionConfig, { ...ingestion, mqtt: { ...(ingestion.mqtt as object), url: b.url } }, "case bench"), {
    log: quiet,
  });
  await waitFor(() => i.health().mqttConnected, 20_000, "the ingestion to subscribe");
  const l = await startLive(
    parseConfig(LiveConfig, { ...live, http: { host: "127.0.0.1", port: 0 }, mqtt: { ...(live.mqtt as object), url: b.url } }, "case bench"),
    { log: quiet },
  );
  return {
    brokerUrl: b.url,
    liveUrl: l.url,
    async close() {
      await l.close();
      await i.close();
      await b.close();
    },
  };
}

/** docker-compose's way: each service a process of its own, from its bundle. */
async function processes(dir: string, broker: Record<string, unknown>, ingestion: Record<string, unknown>, live: Record<string, unknown>): Promise<Stack> {
  const b = await startServiceProcess("broker", dir, broker);
  const i = await startServiceProcess("ingestion", dir, { ...ingestion, mqtt: { ...(ingestion.mqtt as object), url: b.url } });
  const l = await startServiceProcess("live", dir, { ...live, mqtt: { ...(live.mqtt as object), url: b.url } });
  return {
    brokerUrl: b.url,
    liveUrl: l.url,
    async close() {
      await l.stop();
      await i.stop();
      await b.stop();
    },
  };
}

/**
 * `topology`: "processes" runs the broker, the ingestion and the live service each in a process of
 * its own (as docker-compose deploys them), "one-process" all three in this one (as `npm start`).
 */
export async function benchCases(persistence: "memory" | "disk", topology: "processes" | "one-process"): Promise<Record<string, number>> {
  const dir = makeTempDir("bms-case-bench-");
  // Agents publish anonymously under bms/; the services publish case events with their accounts.
  const service = { username: "bench-service", password: "bench-service-password" };
  const start = topology === "processes" ? processes : oneProcess;
  const stack = await start(
    dir.path,
    {
      allowAnonymous: true,
      dataDir: join(dir.path, "broker"),
      persistence,
      users: [{ ...service, role: "service", clientIds: ["case-bench-ingestion", "bms-live-*"] }],
    },
    { mqtt: { ...service, clientId: "case-bench-ingestion" }, dataDir: join(dir.path, "ingestion") },
    { mqtt: service, dataDir: join(dir.path, "live"), engineerTokens: [TOKEN] },
  );
  const publishers = await Promise.all([0, 1, 2, 3].map((i) => mqtt.connectAsync(stack.brokerUrl, { clientId: `case-bench-pub-${i}` }).then(withoutDelay)));
  const socket = io(`${stack.liveUrl}${LIVE_NAMESPACE}`, { auth: { token: TOKEN }, transports: ["websocket"] });
  const results: Record<string, number> = {};
  try {
    await waitFor(() => socket.connected, 20_000, "an engineer's socket");
    for (let s = 0; s < SITES; s++) await socket.timeout(5000).emitWithAck("subscribe", { siteId: `case-site-${s}` });
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    socket.on("case", (event: CaseEvent) => {
      if (event.type !== "opened") return;
      const at = sentAt.get(`${event.case.siteId}/${event.case.packId}`);
      if (at !== undefined) latencies.push(performance.now() - at);
    });

    // Every pack once a second, spread over ticks; a fault now and then during the measured part.
    const totalTicks = (WARMUP_SECONDS + SECONDS) * TICKS_PER_SECOND;
    const perTick = Math.ceil(PACKS / TICKS_PER_SECOND);
    const faultEvery = Math.max(1, Math.floor((SECONDS * TICKS_PER_SECOND) / FAULTS));
    const t0 = Date.now() - (WARMUP_SECONDS + SECONDS + 60) * 1000;
    let seq = 0;
    let faults = 0;
    let streamed = 0;
    const started = performance.now();
    for (let tick = 0; tick < totalTicks; tick++) {
      const second = Math.floor(tick / TICKS_PER_SECOND);
      const ts = t0 + second * 1000;
      const messages: { topic: string; payload: string }[] = [];
      for (let k = 0; k < perTick; k++) {
        const pack = (tick % TICKS_PER_SECOND) * perTick + k;
        if (pack >= PACKS) break;
        messages.push({ topic: topics.telemetry(siteOf(pack), packOf(pack)), payload: JSON.stringify(sample(++seq, ts, false)) });
      }
      streamed += messages.length;
      const measured = tick >= WARMUP_SECONDS * TICKS_PER_SECOND;
      const publishing = publishAll(publishers, messages);
      if (measured && tick % faultEvery === 0 && faults < FAULTS) {
        // A pack that has not had a fault: its next sample is the trigger, sent after this tick's share.
        const pack = (faults * 7919) % PACKS;
        faults++;
        const key = `${siteOf(pack)}/${packOf(pack)}`;
        await publishing;
        sentAt.set(key, performance.now());
        await publishAll(publishers, [{ topic: topics.telemetry(siteOf(pack), packOf(pack)), payload: JSON.stringify(sample(++seq, ts + 500, true)) }]);
      } else {
        await publishing;
      }
      const due = started + ((tick + 1) * 1000) / TICKS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const streamSeconds = (performance.now() - started) / 1000;
    await waitFor(() => latencies.length >= faults, 60_000, `${faults} opened cases on socket.io`).catch(() => undefined);
    latencies.sort((a, b) => a - b);
    results.caseSeparateProcesses = topology === "processes" ? 1 : 0;
    results.casePacks = PACKS;
    results.caseStreamedSamplesPerS = streamed / streamSeconds;
    results.caseFaults = faults;
    results.caseOpenedAnnounced = latencies.length;
    results.caseLatencyP50Ms = percentile(latencies, 50);
    results.caseLatencyP99Ms = percentile(latencies, 99);
    results.caseLatencyMaxMs = latencies[latencies.length - 1] ?? Number.NaN;
  } finally {
    socket.close();
    for (const p of publishers) await p.endAsync();
    await stack.close();
    dir.remove();
  }
  return results;
}
