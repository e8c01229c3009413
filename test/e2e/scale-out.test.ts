import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LIVE_NAMESPACE, type PackMeta, type PackSample, type SitePackSample, topics } from "@bms/shared";
import { type Scenario, ScenarioRunner, ScenarioSchema } from "@bms/simulators";
import mqtt, { type MqttClient } from "mqtt";
import { Client } from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityToMeta, snapshotToSample, startFastEngine } from "../../services/ingestion/test/fixtures/scenario-feed";
import { type RunningScript, runScript } from "../support/cli";
import { freePort, waitFor } from "../support/free-port";
import { type PostgresServer, startPostgres } from "../support/postgres";
import { type RabbitMqServer, startRabbitMq } from "../support/rabbitmq";
import { type RedisServer, startRedis } from "../support/redis";
import { makeTempDir, type TempDir } from "../support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../support/victoria-metrics";

/**
 * Scale-out on the engines of docs/scale-out.md, each started from its Debian package on free
 * ports: RabbitMQ (MQTT plugin, consistent-hash exchange, quorum queues with a single active
 * consumer), PostgreSQL, Redis, VictoriaMetrics; two ingestion workers and two live nodes as
 * processes of their own. A simulated fleet of 200 packs (20 sites, faults in 10 packs) publishes
 * over RabbitMQ's MQTT listener; one worker is SIGKILLed mid-stream and started again.
 *
 * What must hold: every sample stored once (by seq); every pack's samples taken by the rules
 * exactly once each, in order (the per-pack count the rules save with each batch equals what the
 * pack sent: a sample overtaken by a later one would have been skipped, a redelivered one counted
 * twice); exactly the cases one single-process engine opens on the same samples, once each; a
 * socket.io client on either live node gets samples and case events of the packs it watches,
 * including a change an engineer made on the other node.
 */
const SITES = 20;
const PACKS_PER_SITE = 10;
const SECONDS = 150;
const PARTITIONS = 32;
const TOKEN = "scale-out-test-token";
/**
 * The fleet sends 150 s of samples in about 20 s, and after the kill the taken-over partitions
 * drain behind the others by more than no-data's 60 s of sample time: a pack there would look
 * silent next to its site's packs on other partitions (docs/scale-out.md, "no-data"). At 1 Hz in
 * real time a takeover backlog is seconds long; the test lifts the timeout instead of running for minutes.
 */
const RULES = { rules: { "no-data": { timeoutS: 3600 } } };

let dir: TempDir;
let rabbit: RabbitMqServer;
let pg: PostgresServer;
let redis: RedisServer;
let vm: VictoriaMetricsServer;
let databaseUrl: string;
const processes: RunningScript[] = [];
const sockets: Socket[] = [];
const publishers: MqttClient[] = [];

const siteId = (i: number) => `site-${String(i).padStart(2, "0")}`;

/** Site i: 10 packs under a constant load; faults in sites 0-4 (over-temperature, pack 3) and 5-9 (a cell running ahead, pack 7). */
function siteScenario(i: number): Scenario {
  const faults =
    i < 5
      ? [{ atS: 20, pack: 3, fault: { kind: "over-temperature", sensor: 2, ratePerSecond: 1, maxC: 80 } }]
      : i < 10
        ? [{ atS: 10, pack: 7, fault: { kind: "cell-over-voltage", cell: 2, ratePerSecond: 0.008, maxV: 3.9 } }]
        : [];
  return ScenarioSchema.parse({
    name: siteId(i),
    seed: 100 + i,
    packs: PACKS_PER_SITE,
    packDefaults: { load: { kind: "constant", amps: i >= 5 && i < 10 ? 30 : -20 }, initialSoc: 55 },
    faults,
    durationS: SECONDS,
  });
}

interface Fleet {
  metas: { siteId: string; packId: string; meta: PackMeta }[];
  /** Per site, the samples in publishing order. */
  samples: { siteId: string; packId: string; sample: PackSample }[][];
}

function buildFleet(t0: number): Fleet {
  const fleet: Fleet = { metas: [], samples: [] };
  for (let i = 0; i < SITES; i++) {
    const runner = new ScenarioRunner(siteScenario(i));
    const site = siteId(i);
    for (const pack of runner.packs)
      fleet.metas.push({ siteId: site, packId: `pack-${pack.unitId}`, meta: identityToMeta(pack.identity, pack.model.chemistry, t0) });
    const own: Fleet["samples"][number] = [];
    for (let t = 1; t <= SECONDS; t++) {
      runner.advance(1);
      for (const pack of runner.packs) own.push({ siteId: site, packId: `pack-${pack.unitId}`, sample: snapshotToSample(pack.snapshot(), t0 + t * 1000, t) });
    }
    fleet.samples.push(own);
  }
  return fleet;
}

/** The cases one single-process engine opens on the same samples: what the cluster must open, once each. */
async function expectedCases(fleet: Fleet): Promise<string[]> {
  const ref = makeTempDir("bms-scale-ref-");
  const fast = await startFastEngine(ref.path, { rules: RULES });
  try {
    for (const m of fleet.metas) fast.engine.onMeta(m.siteId, m.packId, m.meta);
    for (const site of fleet.samples) {
      for (let k = 0; k < site.length; k += 500) {
        await fast.engine.run(site.slice(k, k + 500).map((s) => ({ kind: "sample", ...s, arrivedAt: s.sample.ts })));
      }
    }
    const cases = await fast.store.list({ limit: 1000 });
    return cases.map((c) => `${c.siteId}/${c.packId}/${c.ruleId}`).sort();
  } finally {
    await fast.close();
    ref.remove();
  }
}

async function query<T>(sql: string): Promise<T[]> {
  const client = new Client(databaseUrl);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function startWorker(name: string): RunningScript {
  const config = join(dir.path, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({ amqp: { partitions: PARTITIONS, workerId: name, presenceIntervalMs: 500 }, influx: { url: vm.url, flushIntervalMs: 200 }, rules: RULES }),
  );
  const proc = runScript("services/ingestion/src/main.ts", ["--config", config], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "info",
      AMQP_URL: rabbit.amqpUrl,
      MQTT_URL: rabbit.mqttUrl,
      DATABASE_URL: databaseUrl,
      DATA_DIR: join(dir.path, name),
    },
  });
  processes.push(proc);
  return proc;
}

async function startLiveNode(name: string): Promise<string> {
  const port = await freePort();
  const proc = runScript("services/live/src/main.ts", [], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "info",
      HTTP_PORT: String(port),
      MQTT_URL: rabbit.mqttUrl,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      ENGINEER_TOKEN: TOKEN,
      DATA_DIR: join(dir.path, name),
    },
  });
  processes.push(proc);
  await waitFor(() => proc.output().includes("live service started"), 60_000, `live node ${name} to start:\n${proc.output()}`);
  return `http://127.0.0.1:${port}`;
}

/** Lines of a process's JSON log with this message. */
function logLines(proc: RunningScript, msg: string): Record<string, unknown>[] {
  return proc
    .output()
    .split("\n")
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

interface Watcher {
  samples: SitePackSample[];
  cases: { type: string; case: { siteId: string; packId: string; ruleId: string; status: string } }[];
}

async function watch(url: string, subscription: { siteId: string; packId?: string }): Promise<Watcher> {
  const socket = io(`${url}${LIVE_NAMESPACE}`, { auth: { token: TOKEN }, transports: ["websocket"] });
  sockets.push(socket);
  const seen: Watcher = { samples: [], cases: [] };
  socket.on("sample", (s: SitePackSample) => seen.samples.push(s));
  socket.on("case", (e: Watcher["cases"][number]) => seen.cases.push(e));
  const ack = (await socket.timeout(10_000).emitWithAck("subscribe", subscription)) as { ok: boolean };
  expect(ack.ok).toBe(true);
  return seen;
}

beforeAll(async () => {
  dir = makeTempDir("bms-scale-out-");
  [rabbit, pg, redis, vm] = await Promise.all([startRabbitMq(), startPostgres(), startRedis(), startVictoriaMetrics({ dedup: true })]);
  databaseUrl = await pg.createDatabase();
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(publishers.map((p) => p.endAsync(true)));
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all([rabbit?.stop(), pg?.stop(), redis?.stop(), vm?.stop()]);
  dir?.remove();
});

describe("scale-out: partitioned ingestion on RabbitMQ, cases in PostgreSQL, live nodes behind Redis", () => {
  it("survives a worker killed mid-stream: every sample stored and taken by the rules once, in order, one case per fault, live on both nodes", {
    timeout: 360_000,
  }, async () => {
    const t0 = Date.now() - (SECONDS + 60) * 1000;
    const fleet = buildFleet(t0);
    const published = SITES * PACKS_PER_SITE * SECONDS;
    const expectedPromise = expectedCases(fleet);

    // Two workers: the first declares the topology; both are up before any agent publishes.
    const workerA = startWorker("worker-a");
    const workerB = startWorker("worker-b");
    for (const w of [workerA, workerB]) await waitFor(() => w.output().includes("ingestion started"), 90_000, `a worker to start:\n${w.output()}`);
    // Both consume: placement gave each a share of the partitions (a partition shows once it brings samples).
    const [live1, live2] = await Promise.all([startLiveNode("live-1"), startLiveNode("live-2")]);

    // An engineer on each node: one watches a whole site, the other one pack of another site (both with a fault).
    const onNode1 = await watch(live1, { siteId: siteId(0) });
    const onNode2 = await watch(live2, { siteId: siteId(5), packId: "pack-7" });

    // The fleet: one MQTT connection per site (its agent), meta first (retained), then the samples in order.
    for (let i = 0; i < SITES; i++) publishers.push(await mqtt.connectAsync(rabbit.mqttUrl, { clientId: `agent-${siteId(i)}`, clean: true }));
    await Promise.all(
      fleet.metas.map((m, k) =>
        publishers[Math.floor(k / PACKS_PER_SITE)]!.publishAsync(topics.meta(m.siteId, m.packId), JSON.stringify(m.meta), { qos: 1, retain: true }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let acked = 0;
    const streams = fleet.samples.map(async (site, i) => {
      const client = publishers[i]!;
      for (let k = 0; k < site.length; k += 50) {
        await Promise.all(site.slice(k, k + 50).map((s) => client.publishAsync(topics.telemetry(s.siteId, s.packId), JSON.stringify(s.sample), { qos: 1 })));
        acked += Math.min(50, site.length - k);
      }
    });
    // Mid-stream: worker A dies without a word; its partitions go to worker B.
    await waitFor(() => acked >= published * 0.4, 120_000, "40 % of the stream at the broker");
    const killedAt = Date.now();
    workerA.child.kill("SIGKILL");
    await workerA.exited;
    await waitFor(() => logLines(workerB, "consuming a partition").some((l) => (l.time as number) > killedAt), 30_000, "worker B to take over partitions");
    // Worker A comes back (its spool drains; placement gives it its partitions back).
    const workerA2 = startWorker("worker-a");
    await Promise.all(streams);

    // Every pack's samples taken by the rules once each, in order.
    await waitFor(
      async () => {
        const rows = await query<{ state: string }>("SELECT state FROM pack_state WHERE pack_id <> '_site'");
        return (
          rows.length === SITES * PACKS_PER_SITE && rows.every((r) => (JSON.parse(r.state) as { lanes: { liveCount: number } }).lanes.liveCount >= SECONDS)
        );
      },
      120_000,
      "every pack's samples to be taken by the rules",
    );
    const states = await query<{ site_id: string; pack_id: string; state: string }>("SELECT site_id, pack_id, state FROM pack_state WHERE pack_id <> '_site'");
    const counts = states.map((r) => (JSON.parse(r.state) as { lanes: { liveCount: number; liveTs: number } }).lanes);
    expect(counts.every((c) => c.liveCount === SECONDS && c.liveTs === t0 + SECONDS * 1000)).toBe(true);

    // Every sample stored once: each pack's seq 1..SECONDS, no more, no fewer.
    await waitFor(
      async () => {
        const series = await vm.exportSeries('pack_seq{site=~"site-.*"}');
        return series.reduce((n, s) => n + s.values.length, 0) >= published;
      },
      60_000,
      "every sample in the time-series server",
    );
    const series = await vm.exportSeries('pack_seq{site=~"site-.*"}');
    expect(series).toHaveLength(SITES * PACKS_PER_SITE);
    for (const s of series) expect([...s.values].sort((a, b) => a - b)).toEqual(Array.from({ length: SECONDS }, (_, k) => k + 1));

    // Exactly one case per faulty (pack, rule): the cases one engine opens on the same samples.
    const expected = await expectedPromise;
    expect(expected.length).toBeGreaterThanOrEqual(10);
    await waitFor(async () => (await query("SELECT id FROM support_cases")).length >= expected.length, 30_000, "the cases");
    const opened = await query<{ site_id: string; pack_id: string; rule_id: string }>("SELECT site_id, pack_id, rule_id FROM support_cases");
    expect(opened.map((c) => `${c.site_id}/${c.pack_id}/${c.rule_id}`).sort()).toEqual(expected);

    // Live: samples and case events of the watched packs on both nodes.
    await waitFor(() => onNode1.cases.length > 0 && onNode2.cases.length > 0, 30_000, "case events on both nodes");
    expect(onNode1.samples.length).toBeGreaterThan(0);
    expect(onNode1.samples.every((s) => s.siteId === siteId(0))).toBe(true);
    expect(onNode2.samples.length).toBeGreaterThan(0);
    expect(onNode2.samples.every((s) => s.siteId === siteId(5) && s.packId === "pack-7")).toBe(true);
    expect(onNode1.cases.every((e) => e.case.siteId === siteId(0))).toBe(true);
    expect(onNode2.cases.map((e) => `${e.case.siteId}/${e.case.packId}/${e.type}`)).toContain(`${siteId(5)}/pack-7/opened`);

    // A change made on node 2 reaches the watcher on node 1 through Redis.
    // An open case of site 0 that node 1 was told of (by whichever of its events came first).
    const caseOnSite0 = onNode1.cases.find((e) => e.case.status === "open");
    expect(caseOnSite0).toBeDefined();
    const [row] = await query<{ id: string }>(
      `SELECT id FROM support_cases WHERE site_id = '${siteId(0)}' AND pack_id = '${caseOnSite0!.case.packId}' AND rule_id = '${caseOnSite0!.case.ruleId}'`,
    );
    const res = await fetch(`${live2}/api/cases/${row?.id}/acknowledge`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    await waitFor(() => onNode1.cases.some((e) => e.case.status === "acknowledged"), 15_000, "the acknowledgement on node 1");

    // Each node read from the broker only what its engineers watch.
    const packsOn = async (url: string) =>
      (
        (await (await fetch(`${url}/api/packs`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          siteId: string;
          packId: string;
          sample: unknown;
        }[]
      )
        .filter((p) => p.sample !== null)
        .map((p) => `${p.siteId}/${p.packId}`);
    expect((await packsOn(live1)).every((p) => p.startsWith(`${siteId(0)}/`))).toBe(true);
    expect(await packsOn(live2)).toEqual([`${siteId(5)}/pack-7`]);

    // Worker A, back, consumes partitions again. It learns it is active on a partition from the
    // partition's next message (RabbitMQ does not announce it), and worker B hands a partition back
    // only once it has heard from A since it took it (and not within 30 s of a hand-over the other
    // way): the stream goes on a second at a time until A has one.
    const next = fleet.samples.map((site) => site.slice(-PACKS_PER_SITE));
    const lastTs = next[0]?.[0]?.sample.ts ?? t0;
    for (let k = 1; logLines(workerA2, "consuming a partition").length === 0; k++) {
      if (k > 60)
        throw new Error(
          `worker A got no partition back in 60 s of the stream:\n${workerA2.output().slice(-2000)}\nworker B:\n${workerB.output().slice(-2000)}`,
        );
      await Promise.all(
        next.flatMap((site, i) =>
          site.map((s) =>
            publishers[i]!.publishAsync(topics.telemetry(s.siteId, s.packId), JSON.stringify({ ...s.sample, seq: SECONDS + k, ts: lastTs + k * 1000 }), {
              qos: 1,
            }),
          ),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });
});
