import { join } from "node:path";
import { type CommandMessage, CommandResultMessage, PackParameters } from "@bms/shared";
import { EdgeAgentConfig, type EdgeAgentConfigInput } from "@bms/shared/config/edge-agent-config";
import { loadDeviceProfile, type ScenarioRunner, startModbusRtuServer, startModbusTcpServer, startPtyPair } from "@bms/simulators";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { REPO_ROOT } from "../../test/support/cli";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { type RecordingBroker, startRecordingBroker } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";
import { quietRunner } from "./fixtures/simulated-bus";

const cleanups = cleanupAfterEach();
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");
const SUNSPEC_DIAGNOSTICS = join(REPO_ROOT, "simulators", "profiles", "sunspec-diagnostics.yaml");
const SITE = "site-t";

/** Pack 1 overheated and cooled again: OVER_TEMP_ALARM stays latched, the BMS logged it and counted it. */
function overheatedRunner(): ScenarioRunner {
  const runner = quietRunner(2, { load: { kind: "constant", amps: -20 } });
  runner.injectFault(1, { kind: "over-temperature", ratePerSecond: 5, maxC: 60 });
  runner.advance(10);
  runner.clearFaults(1);
  runner.advance(3600);
  return runner;
}

async function setup(devices: EdgeAgentConfigInput["devices"], commands: EdgeAgentConfigInput["commands"] = {}) {
  const broker: RecordingBroker = await startRecordingBroker();
  const dir = makeTempDir("bms-agent-commands-");
  const captured = captureLog();
  const agent = await startEdgeAgent(
    EdgeAgentConfig.parse({ siteId: SITE, mqtt: { url: broker.url, reconnectPeriodMs: 100 }, pollIntervalMs: 500, dataDir: dir.path, commands, devices }),
    { log: captured.log },
  );
  const engineer = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  cleanups.push(
    () => broker.stop(),
    () => dir.remove(),
    () => agent.close(),
    () => engineer.endAsync(true),
  );
  await waitFor(() => agent.health().mqttConnected, 10_000, "the agent to connect");
  let n = 0;
  const results = (id: string) =>
    broker.received
      .filter((m) => m.topic === `bms/${SITE}/cmd/result`)
      .map((m) => CommandResultMessage.parse(JSON.parse(m.payload)))
      .filter((r) => r.id === id);
  const outcome = async (id: string, timeoutMs = 15_000) => {
    await waitFor(() => results(id).some((r) => r.type === "outcome"), timeoutMs, `the outcome of ${id}`);
    const found = results(id).find((r) => r.type === "outcome");
    if (found?.type !== "outcome") throw new Error("no outcome");
    return found;
  };
  const send = async (spec: Pick<CommandMessage, "kind" | "params"> & { packId: string; id?: string; expiresAt?: number }) => {
    const id = spec.id ?? `cmd-test-${++n}-${Date.now()}`;
    const now = Date.now();
    const message = { v: 1, id, issuedAt: now, expiresAt: spec.expiresAt ?? now + 60_000, requestedBy: "erin", ...spec };
    await engineer.publishAsync(`bms/${SITE}/cmd`, JSON.stringify({ ...message, id }), { qos: 1 });
    return id;
  };
  return { broker, agent, captured, send, outcome, results };
}

const device = (packId: string, unitId: number, port: number, extra: Record<string, unknown> = {}) => ({
  packId,
  transport: { kind: "modbus-tcp" as const, host: "127.0.0.1", port, unitId },
  ...extra,
});

describe("remote commands in the edge agent, against the simulators", () => {
  it("vendor profile over Modbus TCP: event log and counters, alarm reset read back, a setting written within bounds, a capture", async () => {
    const runner = overheatedRunner();
    const pack = runner.pack(1);
    expect(pack.snapshot().alarms).toContain("OVER_TEMP_ALARM");
    const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
    cleanups.push(() => server.close());
    const t = await setup([device("pack-1", 1, server.port, { profile: { file: VENDOR_PROFILE } })], { setParameter: true });

    const log = await t.outcome(await t.send({ packId: "pack-1", kind: "read-event-log", params: {} }));
    expect(log.status).toBe("succeeded");
    const history = log.result as { events: { code: string }[]; counters: Record<string, number>; capacity: number };
    expect(history.capacity).toBe(32);
    expect(history.events.map((e) => e.code)).toContain("OVER_TEMP_ALARM");
    expect(history.counters.overTemperature).toBeGreaterThanOrEqual(1);
    expect(history.counters.highestTemperatureC).toBeGreaterThan(45);

    const reset = await t.outcome(await t.send({ packId: "pack-1", kind: "reset-alarms", params: {} }));
    expect(reset).toMatchObject({ status: "succeeded" });
    expect(reset.result).toMatchObject({ after: [] });
    expect((reset.result as { cleared: string[] }).cleared).toContain("OVER_TEMP_ALARM");
    expect(pack.snapshot().alarms).toEqual([]);

    const set = await t.outcome(await t.send({ packId: "pack-1", kind: "set-parameter", params: { name: "balanceStartV", value: 3.5 } }));
    expect(set).toMatchObject({ status: "succeeded", result: { name: "balanceStartV", unit: "V", before: 3.4, requested: 3.5, after: 3.5 } });
    // The simulator's register holds it (mV at 6002).
    const probe = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 1000, interRequestDelayMs: 0 });
    cleanups.push(() => probe.close());
    expect(await probe.readHoldingRegisters(1, 6002, 1)).toEqual([3500]);
    // Out of bounds, unknown: refused with the reason, nothing written.
    const high = await t.outcome(await t.send({ packId: "pack-1", kind: "set-parameter", params: { name: "balanceStartV", value: 3.9 } }));
    expect(high).toMatchObject({ status: "refused" });
    expect(high.error).toMatch(/3\.35–3\.6 V/);
    const unknown = await t.outcome(await t.send({ packId: "pack-1", kind: "set-parameter", params: { name: "cellCount", value: 3 } }));
    expect(unknown.error).toMatch(/no writable point cellCount \(its points: chargeCurrentLimit, balanceStartV, overTempAlarmC\)/);
    expect(await probe.readHoldingRegisters(1, 6002, 1)).toEqual([3500]);
    // The retained parameters follow the write.
    await waitFor(
      () =>
        t.broker.received.some(
          (m) =>
            m.topic === `bms/${SITE}/pack-1/parameters` &&
            PackParameters.parse(JSON.parse(m.payload)).parameters.some((p) => p.name === "balanceStartV" && p.value === 3.5),
        ),
      10_000,
      "the parameters after the write",
    );

    const captureId = await t.send({ packId: "pack-1", kind: "capture", params: { hz: 10, seconds: 2 } });
    const captured = await t.outcome(captureId);
    expect(captured.status).toBe("succeeded");
    const summary = captured.result as { samples: number; parts: number };
    const parts = t.results(captureId).filter((r) => r.type === "part");
    expect(parts).toHaveLength(summary.parts);
    const samples = parts.flatMap((p) => (p.type === "part" ? p.samples : []));
    expect(samples).toHaveLength(summary.samples);
    expect(summary.samples).toBeGreaterThanOrEqual(10);
    expect(samples.map((s) => s.seq)).toEqual(samples.map((_, i) => i));
  });

  it("SunSpec over RTU on a pty: the vendor registers beside the map, AlmRst, a SunSpec point set and read back", async () => {
    const runner = overheatedRunner();
    const line = await startPtyPair();
    const server = await startModbusRtuServer({ path: line.devicePath, devices: runner.packs });
    cleanups.push(
      () => line.close(),
      () => server.close(),
    );
    const t = await setup(
      [1, 2].map((unitId) => ({
        packId: `pack-${unitId}`,
        transport: { kind: "modbus-rtu" as const, path: line.clientPath, baudRate: 115200, unitId },
        diagnostics: { file: SUNSPEC_DIAGNOSTICS },
      })),
      { setParameter: true },
    );
    const log = await t.outcome(await t.send({ packId: "pack-1", kind: "read-event-log", params: {} }));
    expect(log.status).toBe("succeeded");
    expect((log.result as { events: { code: string }[] }).events.map((e) => e.code)).toContain("OVER_TEMP_ALARM");
    const reset = await t.outcome(await t.send({ packId: "pack-1", kind: "reset-alarms", params: {} }));
    expect(reset.result).toMatchObject({ after: [] });
    expect(runner.pack(1).snapshot().alarms).toEqual([]);
    const set = await t.outcome(await t.send({ packId: "pack-2", kind: "set-parameter", params: { name: "socReserveMin", value: 20 } }));
    expect(set).toMatchObject({ status: "succeeded", result: { before: 10, requested: 20, after: 20 } });
  });

  it("at most once per ID, nothing after the expiry, writes only where the site allows them, malformed commands ignored", async () => {
    const runner = overheatedRunner();
    const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
    cleanups.push(() => server.close());
    const t = await setup([device("pack-1", 1, server.port, { profile: { file: VENDOR_PROFILE } })], { maxCaptureHz: 2 });

    const id = await t.send({ packId: "pack-1", kind: "reset-alarms", params: {} });
    await t.send({ packId: "pack-1", kind: "reset-alarms", params: {}, id });
    await t.outcome(id);
    await waitFor(() => t.captured.lines.some((l) => l.msg === "command seen before: not run again" && l.id === id), 10_000, "the redelivery");
    expect(t.results(id).filter((r) => r.type === "accepted")).toHaveLength(1);
    expect(t.results(id).filter((r) => r.type === "outcome")).toHaveLength(1);

    const late = await t.send({ packId: "pack-1", kind: "reset-alarms", params: {}, expiresAt: Date.now() - 1000 });
    expect(await t.outcome(late)).toMatchObject({ status: "expired" });
    expect(t.results(late).filter((r) => r.type === "accepted")).toHaveLength(0);

    const refused = await t.outcome(await t.send({ packId: "pack-1", kind: "set-parameter", params: { name: "balanceStartV", value: 3.5 } }));
    expect(refused).toMatchObject({ status: "refused" });
    expect(refused.error).toMatch(/commands\.setParameter is false/);
    const fast = await t.outcome(await t.send({ packId: "pack-1", kind: "capture", params: { hz: 5, seconds: 1 } }));
    expect(fast).toMatchObject({ status: "refused", error: "this site's agent captures at most 2 Hz for 120 s" });
    const nobody = await t.outcome(await t.send({ packId: "pack-9", kind: "read-event-log", params: {} }));
    expect(nobody).toMatchObject({ status: "refused", error: "this site's agent reads no pack pack-9" });

    const engineer = await mqtt.connectAsync(t.broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => engineer.endAsync(true));
    for (const payload of ["not json", "{}", JSON.stringify({ v: 1, id: "x", kind: "format-disk" }), "[1,2]"])
      await engineer.publishAsync(`bms/${SITE}/cmd`, payload, { qos: 1 });
    await waitFor(
      () => t.captured.lines.filter((l) => /ignored a (malformed command|command that is not JSON)/.test(String(l.msg))).length >= 4,
      10_000,
      "the malformed commands",
    );
    expect(t.agent.health().devices[0]?.state).toBe("ok");
  });
});
