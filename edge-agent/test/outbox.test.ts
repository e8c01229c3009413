import { join } from "node:path";
import { createLogger, SiteStatus } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { openSqliteDurableQueue } from "@bms/storage";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { OutboxPublisher } from "../src/outbox-publisher";
import { type RecordingBroker, retained, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";
import { startRegisterServer } from "./fixtures/register-server";
import { sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();

async function site(options: { outboxMaxBytes?: number; statusIntervalMs?: number; shutdownFlushMs?: number } = {}) {
  const units = [1, 2];
  const modbus = await startRegisterServer({ units: new Map(units.map((u) => [u, sunspecDevice().registers])) });
  const broker = await startRecordingBroker();
  const dir = makeTempDir("bms-outbox-");
  cleanups.push(
    () => dir.remove(),
    () => modbus.close(),
    () => broker.stop(),
  );
  const config = EdgeAgentConfig.parse({
    siteId: "site-t",
    mqtt: { url: broker.url, reconnectPeriodMs: 100, connectTimeoutMs: 1000 },
    pollIntervalMs: 100,
    retryMinMs: 100,
    retryMaxMs: 500,
    dataDir: dir.path,
    ...options,
    devices: units.map((unitId) => ({ packId: `pack-${unitId}`, transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbus.port, unitId } })),
  });
  const start = async () => {
    const agent = await startEdgeAgent(config, { log: captureLog().log });
    cleanups.push(() => agent.close());
    return agent;
  };
  return { broker, dir, start };
}

function statuses(broker: RecordingBroker): SiteStatus[] {
  return broker.received.filter((m) => m.topic === "bms/site-t/status").map((m) => SiteStatus.parse(JSON.parse(m.payload)));
}

const seqs = (broker: RecordingBroker) => [...new Set(telemetry(broker.received).map((s) => s.seq))].sort((a, b) => a - b);

describe("outbox lanes", () => {
  it("sends the backlog oldest first while samples read after the reconnect go out as they come", async () => {
    const broker = await startRecordingBroker();
    const dir = makeTempDir("bms-lanes-");
    const queue = openSqliteDurableQueue(join(dir.path, "outbox.db"));
    cleanups.push(
      () => dir.remove(),
      () => broker.stop(),
      () => queue.close(),
    );
    const message = (lane: string, n: number) => ({ topic: "bms/site-t/pack-1/telemetry", payload: JSON.stringify({ lane, n, ts: Date.now() }) });
    const BACKLOG = 1000;
    queue.push(Array.from({ length: BACKLOG }, (_, n) => message("backlog", n)));
    // A slow broker: each publish is acknowledged 300 ms late, so 100 in flight drain ~330 a second.
    broker.setPublishDelay(300);
    const client = mqtt.connect(broker.url, { reconnectPeriod: 100 });
    const outbox = new OutboxPublisher({ queue, client, log: createLogger("test", "silent"), siteId: "site-t" });
    cleanups.push(async () => {
      outbox.stop();
      await client.endAsync(true);
    });
    let live = 0;
    const timer = setInterval(() => outbox.enqueue(message("live", live).topic, message("live", live++).payload), 50);
    cleanups.push(() => clearInterval(timer));
    const arrivals = () => broker.received.map((m) => JSON.parse(m.payload) as { lane: string; n: number });
    await waitFor(() => arrivals().filter((a) => a.lane === "backlog").length >= BACKLOG, 30_000, "the whole backlog");
    clearInterval(timer);
    await waitFor(() => outbox.size() === 0, 10_000, "an empty outbox");
    const seen = arrivals();
    const lane = (name: string) => seen.filter((a) => a.lane === name).map((a) => a.n);
    // Each lane in order, nothing missing.
    expect(lane("backlog")).toEqual(Array.from({ length: BACKLOG }, (_, n) => n));
    expect(lane("live")).toEqual(Array.from({ length: live }, (_, n) => n));
    // Live samples did not wait for the backlog: some arrived before its last message.
    const lastBacklog = seen.findIndex((a) => a.lane === "backlog" && a.n === BACKLOG - 1);
    expect(seen.slice(0, lastBacklog).filter((a) => a.lane === "live").length).toBeGreaterThan(5);
    expect(outbox.published).toBe(BACKLOG + live);
  }, 60_000);
});

describe("outbox budget, status and shutdown", () => {
  it("past its byte budget drops the oldest samples, counts them and reports them in the retained status", async () => {
    const { broker, start } = await site({ outboxMaxBytes: 64 * 1024, statusIntervalMs: 1000 });
    await broker.stop();
    const agent = await start();
    await waitFor(() => agent.health().dropped >= 20, 30_000, "samples dropped past the budget");
    const health = agent.health();
    expect(health.outboxBytes).toBeLessThanOrEqual(64 * 1024);
    expect(health.outboxBytes).toBeGreaterThan(60 * 1024);
    expect(agent.status()).toMatchObject({ dropped: health.dropped, queueDepth: health.outboxSize });
    await broker.start();
    await waitFor(() => agent.health().outboxSize < 5, 20_000, "the outbox to drain");
    await waitFor(
      async () => {
        const status = await retained(broker.url, "bms/site-t/status");
        return status !== undefined && (SiteStatus.parse(JSON.parse(status)).agent?.dropped ?? 0) >= 20;
      },
      10_000,
      "the retained status to report the dropped samples",
    );
    // What was kept is a gap-free run: only the oldest went.
    const kept = seqs(broker);
    expect(kept[0]).toBeGreaterThan(20);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => (kept[0] ?? 0) + i));
  });

  it("republishes the retained status with the counters while online; the last will stays offline", async () => {
    const { broker, start } = await site({ statusIntervalMs: 1000 });
    const agent = await start();
    await waitFor(() => statuses(broker).filter((s) => s.agent).length >= 3, 20_000, "three status messages");
    const online = statuses(broker).filter((s) => s.state === "online");
    expect(online.map((s) => s.ts)).toEqual([...online.map((s) => s.ts)].sort((a, b) => a - b));
    const last = online.at(-1);
    expect(last?.agent?.devices.map((d) => [d.packId, d.state])).toEqual([
      ["pack-1", "ok"],
      ["pack-2", "ok"],
    ]);
    expect(last?.agent?.devices[0]?.polls).toBeGreaterThan(3);
    expect(last?.agent?.published).toBeGreaterThan(3);
    expect(last?.agent?.devices[0]?.lastOkTs).toBeGreaterThan(0);
    // A crash (connection cut) leaves the last will.
    broker.dropConnections();
    await waitFor(async () => /"offline"/.test((await retained(broker.url, "bms/site-t/status")) ?? ""), 10_000, "the offline last will");
    await agent.close();
  });

  it("a clean shutdown hands the broker what is queued before it goes offline", async () => {
    const { broker, start } = await site({ shutdownFlushMs: 20_000 });
    await broker.stop();
    const agent = await start();
    await waitFor(() => agent.health().outboxSize >= 40, 20_000, "a backlog");
    // The broker comes back slow: the backlog would take seconds to send.
    broker.setPublishDelay(400);
    await broker.start();
    await waitFor(() => agent.health().mqttConnected, 10_000, "the agent to reconnect");
    await agent.close();
    const delivered = seqs(broker);
    expect(delivered.length).toBeGreaterThanOrEqual(40);
    expect(delivered).toEqual(Array.from({ length: delivered.length }, (_, i) => i + 1));
    const final = statuses(broker).at(-1);
    expect(final).toMatchObject({ state: "offline", agent: { queueDepth: 0 } });
  });
});
