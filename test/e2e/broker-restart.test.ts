import { join } from "node:path";
import { type RunningBroker, startBroker } from "@bms/broker";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { type RunningIngestion, startIngestion } from "@bms/ingestion";
import { parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { type RunningSimulator, startSimulator } from "@bms/simulators";
import { openSqliteDurableQueue } from "@bms/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/free-port";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { makeTempDir, type TempDir } from "../support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../support/victoria-metrics";

/**
 * The embedded broker restarts while an agent is running: down 20 s, the agent keeps reading into
 * its outbox; when the broker is back the agent sends its backlog before the ingestion has
 * reconnected (the ingestion reaches the broker through a proxy the test opens only then). Every
 * sample the agent read must end up in the time-series server, by `seq`.
 */
const SITE = "site-restart";
const PACK = "pack-1";
const OUTAGE_MS = 20_000;
const AGENT = { username: "agent-site-restart", password: "agent-password-r" };
const INGESTION = { username: "ingestion", password: "ingestion-password-r" };

let dir: TempDir;
let vm: VictoriaMetricsServer;
let simulator: RunningSimulator;
let proxy: TcpProxy;
let ingestion: RunningIngestion;
let agent: RunningAgent;
const brokers: RunningBroker[] = [];

function brokerConfig(port: number) {
  return parseConfig(
    BrokerConfig,
    {
      host: "127.0.0.1",
      port,
      dataDir: join(dir.path, "broker"),
      users: [
        { ...AGENT, role: "agent", siteId: SITE },
        { ...INGESTION, role: "service" },
      ],
    },
    "restart test",
  );
}

beforeAll(async () => {
  dir = makeTempDir("bms-broker-restart-");
  vm = await startVictoriaMetrics();
  brokers.push(await startBroker(brokerConfig(0)));
  const broker = brokers[0] as RunningBroker;
  proxy = await startTcpProxy(broker.port);
  ingestion = await startIngestion(
    parseConfig(
      IngestionConfig,
      {
        mqtt: { url: `mqtt://127.0.0.1:${proxy.port}`, ...INGESTION, clientId: "bms-ingestion", reconnectPeriodMs: 300 },
        influx: { url: vm.url, token: "", org: "e2e", bucket: "bms", flushIntervalMs: 200 },
        dataDir: join(dir.path, "ingestion"),
      },
      "restart test",
    ),
  );
  simulator = await startSimulator({ host: "127.0.0.1", port: 0, packs: 1, seed: 11 });
  agent = await startEdgeAgent(
    parseConfig(
      EdgeAgentConfig,
      {
        siteId: SITE,
        mqtt: { url: broker.url, ...AGENT, reconnectPeriodMs: 200, connectTimeoutMs: 2000 },
        pollIntervalMs: 200,
        dataDir: join(dir.path, "agent"),
        devices: [{ packId: PACK, transport: { kind: "modbus-tcp", host: "127.0.0.1", port: simulator.port ?? 0, unitId: 1 } }],
      },
      "restart test",
    ),
  );
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await simulator?.close();
  await ingestion?.close();
  await proxy?.stop();
  for (const b of brokers) await b.close();
  await vm?.stop();
  dir?.remove();
});

describe("the embedded broker restarts while an agent has a backlog", () => {
  it("stores as many samples as the agent read, by seq, though the backlog arrives before the ingestion is back", async () => {
    await waitFor(() => agent.health().published >= 10 && ingestion.health().mqttConnected, 20_000, "samples before the restart");
    const first = brokers[0] as RunningBroker;
    proxy.block();
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const backlog = agent.health().outboxSize;
    expect(backlog).toBeGreaterThanOrEqual(50);

    const publishedAtRestart = agent.health().published;
    const second = await startBroker(brokerConfig(first.port));
    brokers.push(second);
    let ingestionBack = false;
    second.aedes.on("clientReady", (client) => {
      if (client.id === "bms-ingestion") ingestionBack = true;
    });
    // The whole backlog is acknowledged by the broker while the ingestion is still away (its proxy
    // blocks it)... The agent's own count of acknowledged messages says so: a count of publishes
    // seen by a listener attached after startBroker returns could miss them all, as the agent may
    // reconnect and send its backlog before that.
    await waitFor(() => agent.health().outboxSize === 0, 20_000, "the agent's backlog to be sent");
    expect(agent.health().published - publishedAtRestart).toBeGreaterThanOrEqual(backlog);
    expect(ingestionBack).toBe(false);
    // ...then the ingestion returns to its session.
    proxy.unblock();
    await waitFor(() => ingestionBack, 20_000, "the ingestion to reconnect");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await agent.close();

    const outbox = openSqliteDurableQueue(join(dir.path, "agent", `outbox-${SITE}.db`));
    const lastSeq = Number(outbox.getState("seq"));
    expect(outbox.size()).toBe(0);
    outbox.close();
    const stored = async () => {
      const series = await vm.exportSeries(`pack_seq{site="${SITE}",pack="${PACK}"}`);
      return new Set(series.flatMap((s) => s.values));
    };
    await waitFor(async () => (await stored()).size >= lastSeq, 30_000, `${lastSeq} samples in the time-series server`);
    expect([...(await stored())].sort((a, b) => a - b)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
  }, 120_000);
});
