import { PackMeta, type PackSample, SiteStatus } from "@bms/shared";
import { MODEL_LITHIUM_MODULE } from "@bms/shared/sunspec/models";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { type RunningAgent, startEdgeAgent } from "../src/index";
import { agentConfig, retained, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";
import { startRegisterServer } from "./fixtures/register-server";
import { pointAddress, sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();

async function world(units = [1, 2]) {
  const maps = units.map(() => sunspecDevice());
  const modbus = await startRegisterServer({ units: new Map(units.map((u, i) => [u, maps[i]?.registers ?? new Map()])) });
  const broker = await startRecordingBroker();
  const dir = makeTempDir("bms-agent-");
  cleanups.push(
    () => dir.remove(),
    () => modbus.close(),
    () => broker.stop(),
  );
  const agents: RunningAgent[] = [];
  const start = async (overrides: { reconnectPeriodMs?: number } = {}) => {
    const captured = captureLog();
    const agent = await startEdgeAgent(agentConfig({ brokerUrl: broker.url, dataDir: dir.path, modbusPort: modbus.port, units, ...overrides }), {
      log: captured.log,
    });
    agents.push(agent);
    cleanups.push(() => agent.close());
    return { agent, captured };
  };
  return { maps, modbus, broker, dir, start };
}

/** Every seq from 1 to the highest seen arrived (duplicates allowed: delivery is at least once). */
function expectNoGaps(samples: PackSample[]): void {
  const seqs = samples.map((s) => s.seq);
  // A seq that names two different samples would mean the counter restarted.
  const tsBySeq = new Map<number, Set<number>>();
  for (const s of samples) tsBySeq.set(s.seq, (tsBySeq.get(s.seq) ?? new Set()).add(s.ts));
  expect([...tsBySeq.values()].filter((t) => t.size > 1)).toEqual([]);
  const seen = new Set(seqs);
  const max = Math.max(...seqs);
  const missing = Array.from({ length: max }, (_, i) => i + 1).filter((s) => !seen.has(s));
  expect(missing).toEqual([]);
}

describe("edge agent", () => {
  it("publishes samples of every pack, retained meta and online status; a clean close says offline", async () => {
    const { broker, start } = await world();
    const { agent } = await start();
    await waitFor(
      () => telemetry(broker.received, "pack-1").length >= 2 && telemetry(broker.received, "pack-2").length >= 2,
      10_000,
      "telemetry of both packs",
    );
    const meta = broker.received.find((m) => m.topic === "bms/site-t/pack-2/meta");
    expect(meta?.retain).toBe(true);
    expect(PackMeta.parse(JSON.parse(meta?.payload ?? "{}"))).toMatchObject({ chemistry: "LFP", cellCount: 16, manufacturer: "SimBattery" });
    expect(SiteStatus.parse(JSON.parse((await retained(broker.url, "bms/site-t/status")) ?? "{}")).state).toBe("online");
    const health = agent.health();
    expect(health.mqttConnected).toBe(true);
    expect(health.devices.map((d) => [d.packId, d.state])).toEqual([
      ["pack-1", "ok"],
      ["pack-2", "ok"],
    ]);
    await waitFor(() => agent.health().published >= 4, 10_000, "published count");
    await agent.close();
    expect(SiteStatus.parse(JSON.parse((await retained(broker.url, "bms/site-t/status")) ?? "{}")).state).toBe("offline");
  });

  it("keeps samples in the outbox while the broker is down and delivers them, in order, once it is back", async () => {
    const { broker, start } = await world();
    const { agent } = await start();
    await waitFor(() => agent.health().published >= 2, 10_000, "first samples");
    await broker.stop();
    await waitFor(() => !agent.health().mqttConnected && agent.health().outboxSize >= 10, 15_000, "a backlog while the broker is away");
    await broker.start();
    await waitFor(() => agent.health().mqttConnected && agent.health().outboxSize < 3, 15_000, "the backlog to drain");
    const samples = telemetry(broker.received);
    const seqs = samples.map((s) => s.seq);
    expect(Math.max(...seqs)).toBeGreaterThanOrEqual(12);
    expectNoGaps(samples);
    // In order: the first delivery of each seq is increasing.
    const firsts = [...new Set(seqs)];
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
  });

  it("re-sends what was not acknowledged after an agent restart, and continues the sequence", async () => {
    const { broker, start } = await world([1]);
    const first = await start();
    await waitFor(() => first.agent.health().published >= 1, 10_000, "first samples");
    await broker.stop();
    await waitFor(() => first.agent.health().outboxSize >= 5, 15_000, "a backlog");
    await first.agent.close();
    await broker.start();
    const second = await start();
    await waitFor(() => second.agent.health().outboxSize === 0 && second.agent.health().published >= 8, 15_000, "backlog delivered after restart");
    expectNoGaps(telemetry(broker.received));
    expect(second.captured.lines.some((l) => l.msg === "edge agent started" && Number(l.backlog) >= 5)).toBe(true);
  });

  it("its last will marks the site offline when its connection drops", async () => {
    const { broker, start } = await world([1]);
    const { agent } = await start({ reconnectPeriodMs: 60_000 });
    await waitFor(() => agent.health().mqttConnected, 10_000, "connected");
    await waitFor(() => broker.received.some((m) => m.topic === "bms/site-t/status" && m.payload.includes("online")), 10_000, "online status");
    broker.dropConnections();
    await waitFor(() => broker.received.some((m) => m.topic === "bms/site-t/status" && m.payload.includes("offline")), 10_000, "the last will");
    const status = SiteStatus.parse(JSON.parse((await retained(broker.url, "bms/site-t/status")) ?? "{}"));
    expect(status.state).toBe("offline");
    expect(agent.health().mqttConnected).toBe(false);
  });

  it("rejects and counts implausible samples of one pack, keeps the other publishing and keeps running", async () => {
    const { broker, maps, start } = await world();
    const bad = maps[1];
    if (!bad) throw new Error("no map");
    bad.registers.set(pointAddress(bad.layout.modules[0] ?? 0, MODEL_LITHIUM_MODULE, "CellV", 0), 65000); // a 65 V cell
    const { agent, captured } = await start();
    await waitFor(
      () => (agent.health().devices[1]?.rejectedSamples ?? 0) >= 3 && telemetry(broker.received, "pack-1").length >= 3,
      10_000,
      "rejections and good samples",
    );
    expect(telemetry(broker.received, "pack-2")).toEqual([]);
    expect(agent.health().devices[1]).toMatchObject({ packId: "pack-2", state: "failing" });
    const line = captured.lines.find((l) => l.msg === "device sends bad replies");
    expect(line).toMatchObject({ siteId: "site-t", packId: "pack-2" });
    expect(String(line?.err)).toMatch(/cellVoltages/);
  });
});
