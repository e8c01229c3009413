import { join } from "node:path";
import { type RunningBroker, startBroker } from "@bms/broker";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { INGESTION_FILES, type RunningIngestion, startIngestion } from "@bms/ingestion";
import { type RunningLive, startLive } from "@bms/live";
import { type CaseEvent, LIVE_NAMESPACE, parseConfig, type SitePackSample, type SupportCase } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import { type RunningSimulator, startSimulator } from "@bms/simulators";
import { openSqliteDeadLetterStore } from "@bms/storage";
import mqtt from "mqtt";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/free-port";
import { makeTempDir, type TempDir } from "../support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../support/victoria-metrics";

/**
 * The whole path on real parts: simulator (Modbus TCP) → edge agent → aedes → ingestion →
 * VictoriaMetrics (InfluxDB write API) + SQLite cases → live service (REST, socket.io).
 */
const SITE = "site-e2e";
const PACK = "pack-1";
const TOKEN = "engineer-token-for-e2e-tests";
const AGENT = { username: "agent-site-e2e", password: "agent-password-1" };
const SERVICE = { username: "ingestion", password: "service-password-1" };
/** The client IDs each account may use: the agent's default and the test's own clients; the ingestion's and the live service's. */
const AGENT_IDS = ["edge-site-e2e", "e2e-agent-*"];
const SERVICE_IDS = ["e2e-ingestion", "bms-live-*"];

let dir: TempDir;
let vm: VictoriaMetricsServer;
let broker: RunningBroker;
let simulator: RunningSimulator;
let ingestion: RunningIngestion;
let live: RunningLive;
let agent: RunningAgent;
let engineer: Socket;
const samples: SitePackSample[] = [];
const caseEvents: CaseEvent[] = [];

async function getJson<T>(path: string, token = TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${live.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  dir = makeTempDir("bms-e2e-");
  vm = await startVictoriaMetrics();
  broker = await startBroker(
    parseConfig(
      BrokerConfig,
      {
        host: "127.0.0.1",
        port: 0,
        dataDir: dir.path,
        users: [
          { ...AGENT, role: "agent", siteId: SITE, clientIds: AGENT_IDS },
          { ...SERVICE, role: "service", clientIds: SERVICE_IDS },
        ],
      },
      "e2e",
    ),
  );
  simulator = await startSimulator({ host: "127.0.0.1", port: 0, packs: 1, seed: 7 });
  const mqttService = { url: broker.url, ...SERVICE };
  ingestion = await startIngestion(
    parseConfig(
      IngestionConfig,
      {
        mqtt: { ...mqttService, clientId: "e2e-ingestion" },
        influx: { url: vm.url, token: "", org: "e2e", bucket: "bms", flushIntervalMs: 200 },
        dataDir: dir.path,
      },
      "e2e",
    ),
  );
  live = await startLive(
    // Login throttling off: the refused-intruder test sends wrong tokens from the address every other test uses (services/live/test/login-throttle.test.ts covers it).
    parseConfig(
      LiveConfig,
      { http: { host: "127.0.0.1", port: 0 }, mqtt: mqttService, dataDir: dir.path, engineerTokens: [TOKEN], loginThrottleInitialMs: 0 },
      "e2e",
    ),
  );
  agent = await startEdgeAgent(
    parseConfig(
      EdgeAgentConfig,
      {
        siteId: SITE,
        mqtt: { url: broker.url, ...AGENT },
        pollIntervalMs: 200,
        dataDir: dir.path,
        devices: [{ packId: PACK, transport: { kind: "modbus-tcp", host: "127.0.0.1", port: simulator.port!, unitId: 1 } }],
      },
      "e2e",
    ),
  );
  engineer = io(`${live.url}${LIVE_NAMESPACE}`, { auth: { token: TOKEN }, transports: ["websocket"] });
  engineer.on("sample", (s: SitePackSample) => samples.push(s));
  engineer.on("case", (e: CaseEvent) => caseEvents.push(e));
}, 60_000); // six servers and processes start here: give a loaded machine time

afterAll(async () => {
  engineer?.close();
  await agent?.close();
  await simulator?.close();
  await live?.close();
  await ingestion?.close();
  await broker?.close();
  await vm?.stop();
  dir?.remove();
});

describe("the whole path", () => {
  it("an engineer's socket gets the latest sample at once on subscribe, then live samples", async () => {
    await waitFor(() => agent.health().published >= 3, 20_000, "the agent to publish samples");
    const ack = await engineer.timeout(5000).emitWithAck("subscribe", { siteId: SITE });
    expect(ack).toMatchObject({ ok: true });
    await waitFor(() => samples.length > 0, 5000, "the snapshot sample");
    const first = samples[0]!;
    expect(first).toMatchObject({ siteId: SITE, packId: PACK, v: 1 });
    await waitFor(() => samples.some((s) => s.seq > first.seq), 10_000, "a live sample after the snapshot");
  });

  it("samples read back from the time-series server carry the simulator's values", async () => {
    const truth = simulator.snapshot(1);
    const latest = samples.at(-1)!;
    expect(latest.packVoltage).toBeCloseTo(truth.packVoltage, 0);
    expect(latest.cellVoltages).toHaveLength(truth.cellVoltages.length);
    expect(Math.abs(latest.soc - truth.soc)).toBeLessThan(1);
    // The very sample the engineer saw is in VictoriaMetrics at its edge timestamp, same value.
    await waitFor(
      async () => {
        const series = await vm.exportSeries(`pack_voltage{site="${SITE}",pack="${PACK}"}`);
        const at = series[0]?.timestamps.indexOf(latest.ts) ?? -1;
        return at >= 0 && series[0]?.values[at] === latest.packVoltage;
      },
      15_000,
      "the engineer's sample in VictoriaMetrics",
    );
    const cells = await vm.exportSeries(`cells_v1{site="${SITE}",pack="${PACK}"}`);
    const cellAt = cells[0]!.timestamps.indexOf(latest.ts);
    expect(cells[0]!.values[cellAt]).toBe(latest.cellVoltages[0]);
    const temps = await vm.exportSeries(`{__name__=~"cells_t[0-9]+",site="${SITE}",pack="${PACK}"}`);
    expect(temps.length).toBe(latest.cellTemperatures.length);
  });

  it("an over-temperature fault opens exactly one case, with its triggering sample, over REST and socket.io", async () => {
    // 2 °C/s: fast, yet a rise a cell can make (a faster jump is a sensor fault, kept out of the rules).
    simulator.injectFault(1, { kind: "over-temperature", sensor: 0, ratePerSecond: 2, maxC: 75 });
    let opened: SupportCase | undefined;
    await waitFor(
      async () => {
        const { body } = await getJson<SupportCase[]>(`/api/cases?siteId=${SITE}&packId=${PACK}`);
        opened = body.find((c) => c.ruleId === "over-temperature");
        return opened !== undefined;
      },
      45_000,
      "an over-temperature case",
    );
    // Keep the fault on for a while: more samples over the threshold must not open a second case.
    const seqNow = samples.at(-1)!.seq;
    await waitFor(() => samples.some((s) => s.seq >= seqNow + 10), 15_000, "ten more samples");
    const { body: all } = await getJson<SupportCase[]>(`/api/cases?siteId=${SITE}&packId=${PACK}`);
    expect(all.filter((c) => c.ruleId === "over-temperature")).toHaveLength(1);

    const { status, body: one } = await getJson<SupportCase>(`/api/cases/${opened!.id}`);
    expect(status).toBe(200);
    expect(one).toMatchObject({ siteId: SITE, packId: PACK, ruleId: "over-temperature", severity: "critical", status: "open" });
    const trigger = one.evidence.sample!;
    expect(Math.max(...trigger.cellTemperatures)).toBeGreaterThan(55);
    expect(one.evidence.value).toBeGreaterThan(55);
    expect(one.evidence.threshold).toBe(55);

    await waitFor(() => caseEvents.some((e) => e.type === "opened" && e.case.id === opened!.id), 5000, "the case event on socket.io");
    // No sensor-fault case: the ramp was physical.
    expect((await getJson<SupportCase[]>(`/api/cases?siteId=${SITE}&packId=${PACK}`)).body.map((c) => c.ruleId)).toEqual(["over-temperature"]);
  }, 75_000);

  it("a socket.io client without a valid token is refused", async () => {
    for (const auth of [{}, { token: "wrong-token-wrong-token" }]) {
      const intruder = io(`${live.url}${LIVE_NAMESPACE}`, { auth, transports: ["websocket"], reconnection: false });
      const error = await new Promise<Error>((resolve) => intruder.on("connect_error", resolve));
      expect(error.message).toMatch(/unauthori[sz]ed/i);
      intruder.close();
    }
    expect((await getJson("/api/cases", "not-the-token")).status).toBe(401);
  });

  it("a malformed payload from an agent lands in the dead-letter table while samples keep flowing", async () => {
    const client = await mqtt.connectAsync(broker.url, { ...AGENT, clientId: "e2e-agent-bad-payload" });
    await client.publishAsync(`bms/${SITE}/${PACK}/telemetry`, '{"v":1,"ts":"yesterday"', { qos: 1 });
    await client.publishAsync(`bms/${SITE}/${PACK}/telemetry`, JSON.stringify({ ...samples.at(-1), cellVoltages: [65] }), { qos: 1 });
    await client.endAsync();
    const deadLetters = openSqliteDeadLetterStore(join(dir.path, INGESTION_FILES.deadLetters));
    try {
      await waitFor(async () => (await deadLetters.count()) >= 2, 10_000, "two dead letters");
      const reasons = (await deadLetters.list(10)).map((d) => d.reason).join("\n");
      expect(reasons).toMatch(/JSON/i);
      expect(reasons).toMatch(/cellVoltages/);
    } finally {
      await deadLetters.close();
    }
    const seqNow = samples.at(-1)!.seq;
    await waitFor(() => samples.some((s) => s.seq > seqNow + 2), 10_000, "samples after the bad payloads");
  });

  it("the broker refuses an agent publishing under another site's topic", async () => {
    const client = await mqtt.connectAsync(broker.url, { ...AGENT, clientId: "e2e-agent-wrong-site", reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.publish("bms/other-site/pack-1/telemetry", JSON.stringify(samples.at(-1)), { qos: 1 });
    await closed; // aedes disconnects a client whose publish is not authorised
    client.end(true);
    // Nothing of the other site reached the ingestion or the time-series server.
    await new Promise((r) => setTimeout(r, 500));
    expect(await vm.exportSeries('pack_voltage{site="other-site"}')).toEqual([]);
  });
});
