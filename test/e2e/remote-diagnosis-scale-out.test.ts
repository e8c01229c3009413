import { existsSync } from "node:fs";
import { join } from "node:path";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { type RunningLive, startLive } from "@bms/live";
import { type CommandRecord, createLogger, parseConfig, type SupportCase } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import { loadDeviceProfile, parseScenario, type RunningModbusTcpServer, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";
import { openPostgresStores, type PostgresStores } from "@bms/storage/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AedesBroker, startAedesBroker } from "../support/aedes-broker";
import { REPO_ROOT } from "../support/cli";
import { waitFor } from "../support/free-port";
import { type PostgresServer, startPostgres } from "../support/postgres";
import { type RedisServer, startRedis } from "../support/redis";
import { makeTempDir, type TempDir } from "../support/temp-dir";

/**
 * Remote diagnosis in scale-out mode: two live nodes with DATABASE_URL (PostgreSQL) and REDIS_URL
 * (Redis), one broker, a site's agent and its simulated BMS. Commands live in PostgreSQL, so any
 * node answers for any command; every node receives each result from MQTT and applies it, and the
 * case's timeline still gets one entry per result.
 */
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");
const ENGINEER = "rds-engineer-token-0123456789";

let dir: TempDir;
let pg: PostgresServer;
let redis: RedisServer;
let broker: AedesBroker;
let sim: RunningModbusTcpServer;
let stores: PostgresStores;
let agent: RunningAgent;
const nodes: RunningLive[] = [];

async function api(node: RunningLive, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${node.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${ENGINEER}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Posts on one node, polls on the other until the command is final. */
async function run(posting: RunningLive, polling: RunningLive, body: Record<string, unknown>): Promise<CommandRecord> {
  const posted = await api(posting, "/api/packs/site-1/pack-1/commands", body);
  expect(posted.status, JSON.stringify(posted.json)).toBe(202);
  let record: CommandRecord | undefined;
  await waitFor(
    async () => {
      const polled = await api(polling, `/api/commands/${String(posted.json.id)}`);
      record = polled.json as unknown as CommandRecord;
      return polled.status === 200 && !["pending", "sent"].includes(record.status);
    },
    20_000,
    `command ${String(posted.json.id)} to finish`,
  );
  if (!record) throw new Error("no record");
  return record;
}

function liveConfig(name: string, databaseUrl: string) {
  return parseConfig(
    LiveConfig,
    {
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: broker.url },
      dataDir: join(dir.path, name),
      databaseUrl,
      redisUrl: redis.url,
      engineerTokens: [{ token: ENGINEER, role: "engineer", name: "Erin" }],
      loginThrottleInitialMs: 0,
    },
    `${name} config`,
  );
}

beforeAll(async () => {
  dir = makeTempDir("bms-rd-scale-out-");
  [pg, redis, broker] = await Promise.all([startPostgres(), startRedis(), startAedesBroker()]);
  const databaseUrl = await pg.createDatabase();
  stores = await openPostgresStores(databaseUrl);
  const runner = new ScenarioRunner(parseScenario({ name: "rds", seed: 5, packs: 1, packDefaults: { load: { kind: "constant", amps: -20 } } }));
  runner.advance(60);
  sim = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
  for (const name of ["live-1", "live-2"]) {
    nodes.push(await startLive(liveConfig(name, databaseUrl), { commandRepublishMs: 300, log: createLogger("live", "warn") }));
  }
  for (const node of nodes) await waitFor(async () => (await fetch(`${node.url}/healthz`)).ok, 10_000, "a live node to subscribe");
  agent = await startEdgeAgent(
    EdgeAgentConfig.parse({
      siteId: "site-1",
      mqtt: { url: broker.url, reconnectPeriodMs: 200 },
      pollIntervalMs: 500,
      dataDir: join(dir.path, "agent"),
      devices: [{ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: sim.port, unitId: 1 }, profile: { file: VENDOR_PROFILE } }],
    }),
    { log: createLogger("edge-agent", "warn") },
  );
  await waitFor(() => agent.health().mqttConnected, 10_000, "the agent to connect");
}, 120_000);

afterAll(async () => {
  await agent?.close();
  for (const node of nodes) await node.close();
  await stores?.close();
  await sim?.close();
  await broker?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
  dir?.remove();
});

describe("remote diagnosis with two live nodes, PostgreSQL and Redis", () => {
  it("keeps commands in PostgreSQL: posted on one node, followed on the other, in no SQLite file", async () => {
    const [one, two] = nodes as [RunningLive, RunningLive];
    const record = await run(one, two, { kind: "read-event-log" });
    expect(record).toMatchObject({ status: "succeeded", requestedBy: "Erin", caseId: null });
    expect(await stores.commands.get(record.id)).toEqual(record);
    const log = (await api(two, "/api/packs/site-1/pack-1/commands")).json as { commands: CommandRecord[] };
    expect(log.commands.map((c) => c.id)).toContain(record.id);
    for (const name of ["live-1", "live-2"]) expect(existsSync(join(dir.path, name, "commands.db"))).toBe(false);
  });

  it("both nodes receive each result; the case's timeline gets one entry per (command, status), its evidence the capture once", async () => {
    const [one, two] = nodes as [RunningLive, RunningLive];
    const opened = await stores.cases.recordFiring({
      siteId: "site-1",
      packId: "pack-1",
      ruleId: "over-temperature",
      severity: "major",
      title: "Over-temperature on pack-1",
      evidence: { sample: null, value: 61, threshold: 55, index: 0, detail: "sensor 1 at 61 °C", meta: null, bmsAlarms: [], rulesFired: [] },
      warranty: null,
      at: Date.now(),
      firingKey: `rds-${Date.now()}`,
      escalation: false,
      attachTo: [],
      reopenWithinMs: 0,
    });
    const caseId = opened.case.id;
    const read = await run(two, one, { kind: "read-event-log", caseId });
    const capture = await run(one, two, { kind: "capture", params: { hz: 5, seconds: 2 }, caseId });
    expect([read.status, capture.status]).toEqual(["succeeded", "succeeded"]);
    // Let the slower node's copy of the last result arrive and be applied (or not) before counting.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const c = (await api(two, `/api/cases/${caseId}`)).json as unknown as SupportCase;
    const entries = (c.timeline ?? []).filter((e) => e.kind === "command" || e.kind === "command-result").map((e) => [e.kind, e.message.split(" ")[0]]);
    expect(entries).toEqual([
      ["command", "read-event-log"],
      ["command-result", "read-event-log"],
      ["command", "capture"],
      ["command-result", "capture"],
    ]);
    expect(c.evidence.capture?.commandId).toBe(capture.id);
    expect(c.evidence.bmsHistory?.commandId).toBe(read.id);
  });
});
