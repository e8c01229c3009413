import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type PackSample, SiteStatus } from "@bms/shared";
import { driveInRealTime, startModbusTcpServer } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { runScript } from "../../test/support/cli";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { type ReceivedMessage, startRecordingBroker } from "./fixtures/agent-setup";
import { quietRunner } from "./fixtures/simulated-bus";

const cleanups = cleanupAfterEach();
const OUTAGE_MS = 60_000;
const PACKS = ["pack-1", "pack-2", "pack-3"];

interface Delivery {
  packId: string;
  sample: PackSample;
}

/** Telemetry in arrival order, with the first delivery of each seq marked (QoS 1 may deliver twice). */
function deliveries(received: readonly ReceivedMessage[]): { all: Delivery[]; first: Delivery[] } {
  const all = received
    .filter((m) => m.topic.endsWith("/telemetry"))
    .map((m) => ({ packId: m.topic.split("/")[2] ?? "", sample: JSON.parse(m.payload) as PackSample }));
  const seen = new Set<number>();
  const first = all.filter((d) => !seen.has(d.sample.seq) && seen.add(d.sample.seq));
  return { all, first };
}

describe("outbox across a 60 s broker outage and an agent killed mid-backlog", () => {
  it("delivers every sample read, at least once, per pack in order, with its original ts: zero gaps by seq", async () => {
    const runner = quietRunner(3, { load: { kind: "constant", amps: -20 } });
    const driver = driveInRealTime(runner, { timeScale: 1 });
    const modbus = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs });
    const broker = await startRecordingBroker();
    const dir = makeTempDir("bms-outage-");
    cleanups.push(
      () => driver.stop(),
      () => modbus.close(),
      () => broker.stop(),
      () => dir.remove(),
    );
    const config = join(dir.path, "site.json");
    writeFileSync(
      config,
      JSON.stringify({
        siteId: "site-t",
        mqtt: { reconnectPeriodMs: 500, connectTimeoutMs: 2000 },
        pollIntervalMs: 100,
        retryMinMs: 100,
        retryMaxMs: 500,
        statusIntervalMs: 1000,
        devices: [1, 2, 3].map((unitId) => ({ packId: `pack-${unitId}`, transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbus.port, unitId } })),
      }),
    );
    const env = { ...process.env, MQTT_URL: broker.url, DATA_DIR: join(dir.path, "data"), LOG_LEVEL: "warn" };
    const startAgent = () => {
      const agent = runScript("edge-agent/src/main.ts", ["--config", config], { env });
      cleanups.push(() => {
        if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill("SIGKILL");
      });
      return agent;
    };

    const first = startAgent();
    await waitFor(() => deliveries(broker.received).first.length >= 30, 30_000, "samples before the outage");

    // 1. The broker is gone for 60 s; the agent keeps reading into its outbox.
    const outageStart = Date.now();
    await broker.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    // 2. It comes back slow (every PUBACK 500 ms late), so the backlog takes a while to send...
    broker.setPublishDelay(500);
    const receivedBefore = broker.received.length;
    await broker.start();
    const brokerBack = Date.now();
    await waitFor(() => broker.received.length > receivedBefore, 15_000, "publishing to resume within seconds of the broker's return");
    const inOutage = (d: Delivery) => d.sample.ts >= outageStart && d.sample.ts < brokerBack;
    // ...and live samples flow meanwhile. 3. The agent is killed half-way through the backlog.
    await waitFor(
      () => {
        const { first: got } = deliveries(broker.received);
        return got.filter(inOutage).length >= 300 && got.some((d) => d.sample.ts > brokerBack);
      },
      60_000,
      "part of the backlog and some live samples",
    );
    const backlogAtKill = deliveries(broker.received).first.filter(inOutage).length;
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();

    // 4. Restarted, it sends the rest from its outbox and goes on reading.
    broker.setPublishDelay(0);
    const restartedAt = Date.now();
    const second = startAgent();
    await waitFor(
      () => {
        const status = broker.received.filter((m) => m.topic === "bms/site-t/status").map((m) => SiteStatus.parse(JSON.parse(m.payload)));
        return status.some((s) => s.ts > restartedAt + 2000 && s.agent?.queueDepth === 0);
      },
      60_000,
      "the restarted agent to report an empty outbox",
    );
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    const { all, first: firsts } = deliveries(broker.received);
    const outageSamples = firsts.filter(inOutage);
    // The outage held a backlog (up to 30 samples a second, fewer on a loaded machine: the count is
    // not a speed test); the kill came after 300 of them and with part of them still queued.
    expect(backlogAtKill).toBeGreaterThanOrEqual(300);
    expect(backlogAtKill).toBeLessThan(outageSamples.length);
    // Zero gaps by seq: every sample the agents read reached the broker at least once.
    const seqs = firsts.map((d) => d.sample.seq).sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    // One seq, one reading: a re-sent sample is the same sample, with its original ts and pack.
    const bySeq = new Map<number, string>();
    for (const d of all) {
      const key = `${d.packId}@${d.sample.ts}`;
      expect(bySeq.get(d.sample.seq) ?? key).toBe(key);
      bySeq.set(d.sample.seq, key);
    }
    for (const packId of PACKS) {
      const mine = firsts.filter((d) => d.packId === packId);
      // Original timestamps: read order, whatever the order of delivery.
      const bySeqOrder = [...mine].sort((a, b) => a.sample.seq - b.sample.seq).map((d) => d.sample.ts);
      expect(bySeqOrder).toEqual([...bySeqOrder].sort((a, b) => a - b));
      // The backlog arrived in order per pack, across the kill and restart.
      const backlogSeqs = mine.filter(inOutage).map((d) => d.sample.seq);
      expect(backlogSeqs).toEqual([...backlogSeqs].sort((a, b) => a - b));
      expect(backlogSeqs.length).toBeGreaterThan(100);
    }
  }, 240_000);
});
