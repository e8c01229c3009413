import { join } from "node:path";
import { PackMeta, type PackSample } from "@bms/shared";
import { EdgeAgentConfig, type EdgeAgentConfigInput } from "@bms/shared/config/edge-agent-config";
import {
  driveInRealTime,
  loadDeviceProfile,
  type PackSnapshot,
  type ScenarioPack,
  startModbusRtuServer,
  startModbusTcpServer,
  startPtyPair,
  startSlcanAdapter,
} from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { REPO_ROOT } from "../../test/support/cli";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { type RecordingBroker, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";
import { expectSampleOf, type Resolution, SUNSPEC_RESOLUTION } from "./fixtures/expect-sample";
import { quietRunner } from "./fixtures/simulated-bus";

const cleanups = cleanupAfterEach();
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");
/** The vendor map: pack voltage in mV, current in 10 mA, SOC 0.1 %, cells mV, temperatures 0.1 K, limits 10^A_SF = 0.1 A. */
const VENDOR_RESOLUTION: Resolution = { packVoltage: 0.001, current: 0.01, soc: 0.1, cellVoltage: 0.001, temperature: 0.1, limit: 0.1 };

async function agentOn(broker: RecordingBroker, devices: EdgeAgentConfigInput["devices"]) {
  const dir = makeTempDir("bms-agent-readings-");
  const captured = captureLog();
  const agent = await startEdgeAgent(
    EdgeAgentConfig.parse({
      siteId: "site-t",
      mqtt: { url: broker.url, reconnectPeriodMs: 100 },
      pollIntervalMs: 200,
      retryMinMs: 100,
      retryMaxMs: 500,
      dataDir: dir.path,
      devices,
    }),
    { log: captured.log },
  );
  cleanups.push(
    () => dir.remove(),
    () => agent.close(),
  );
  return { agent, captured };
}

async function brokerForTest(): Promise<RecordingBroker> {
  const broker = await startRecordingBroker();
  cleanups.push(() => broker.stop());
  return broker;
}

function latest(broker: RecordingBroker, packId: string): PackSample {
  const sample = telemetry(broker.received, packId).at(-1);
  if (!sample) throw new Error(`no sample of ${packId}`);
  return sample;
}

function meta(broker: RecordingBroker, packId: string): PackMeta {
  const message = broker.received.filter((m) => m.topic === `bms/site-t/${packId}/meta`).at(-1);
  if (!message) throw new Error(`no meta of ${packId}`);
  expect(message.retain).toBe(true);
  return PackMeta.parse(JSON.parse(message.payload));
}

const packsOf = (packs: readonly ScenarioPack[], n: number) => {
  const pack = packs[n];
  if (!pack) throw new Error(`no pack ${n}`);
  return pack;
};

/** A frozen scenario with current flowing, one pack overheated (alarms), one a bank of two strings. */
function readingRunner() {
  const runner = quietRunner([{ reportsInsulation: true }, { topology: { strings: 2, modulesPerString: 2, cellsPerModule: 4 } }, {}], {
    load: { kind: "constant", amps: -20 },
  });
  runner.injectFault(1, { kind: "over-temperature", sensor: 2, ratePerSecond: 3, maxC: 75 });
  runner.advance(20);
  return runner;
}

function expectIdentity(m: PackMeta, pack: ScenarioPack, cellCount: number): void {
  expect(m).toMatchObject({
    manufacturer: pack.identity.manufacturer,
    model: pack.identity.model,
    serial: pack.identity.serial,
    bmsFirmware: pack.identity.firmware,
  });
  expect(m.cellCount).toBe(cellCount);
  expect(m.ratedCapacity).toBe(pack.identity.capacityAh);
}

describe("edge agent against the simulators, over real transports", () => {
  it("Modbus TCP, SunSpec (one module, and a bank of 2 strings × 2 modules with 803/804): values equal the simulator's within its scale factors", async () => {
    const runner = readingRunner();
    const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs });
    cleanups.push(() => server.close());
    const broker = await brokerForTest();
    await agentOn(
      broker,
      [1, 2].map((unitId) => ({ packId: `pack-${unitId}`, transport: { kind: "modbus-tcp", host: "127.0.0.1", port: server.port, unitId } })),
    );
    await waitFor(() => ["pack-1", "pack-2"].every((p) => telemetry(broker.received, p).length >= 2), 20_000, "samples of both packs");
    const overheated = packsOf(runner.packs, 0).snapshot();
    expect(overheated.alarms).toContain("OVER_TEMP_ALARM");
    expectSampleOf(latest(broker, "pack-1"), overheated, SUNSPEC_RESOLUTION);
    const bank: PackSnapshot = packsOf(runner.packs, 1).snapshot();
    expect(bank.cellVoltages).toHaveLength(16);
    expectSampleOf(latest(broker, "pack-2"), bank, SUNSPEC_RESOLUTION);
    expectIdentity(meta(broker, "pack-1"), packsOf(runner.packs, 0), 16);
    expectIdentity(meta(broker, "pack-2"), packsOf(runner.packs, 1), 16);
  });

  it("Modbus TCP, the vendor profile (every byte order, input registers, a scale-factor register, identity strings, mapped alarm bits)", async () => {
    const runner = readingRunner();
    const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
    cleanups.push(() => server.close());
    const broker = await brokerForTest();
    await agentOn(broker, [
      { packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: server.port, unitId: 1 }, profile: { file: VENDOR_PROFILE } },
      { packId: "pack-3", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: server.port, unitId: 3 }, profile: { file: VENDOR_PROFILE } },
    ]);
    await waitFor(() => ["pack-1", "pack-3"].every((p) => telemetry(broker.received, p).length >= 2), 20_000, "samples of both packs");
    for (const [packId, n] of [
      ["pack-1", 0],
      ["pack-3", 2],
    ] as const) {
      const pack = packsOf(runner.packs, n);
      const truth = pack.snapshot();
      const sample = latest(broker, packId);
      expectSampleOf(sample, truth, VENDOR_RESOLUTION);
      expect(sample.remainingCapacity).toBeCloseTo(truth.remainingCapacityAh, 3); // float32, bytes BADC
      expect(sample.chargeVoltageLimit).toBeCloseTo(truth.chargeVoltageLimit, 2);
      expect(sample.dischargeVoltageLimit).toBeCloseTo(truth.dischargeVoltageLimit, 2);
      expectIdentity(meta(broker, packId), pack, 16);
    }
    // Pack 1 measures insulation; pack 3 does not, and says so with the profile's `missing` value.
    expect(latest(broker, "pack-1").insulationResistance).toBe(Math.round(packsOf(runner.packs, 0).snapshot().insulationResistanceKOhm ?? Number.NaN));
    expect(latest(broker, "pack-3")).not.toHaveProperty("insulationResistance");
  });

  it("Modbus RTU: three unit IDs on one socat line (SunSpec) and a vendor-profile BMS on a second line", async () => {
    const runner = readingRunner();
    const lineA = await startPtyPair();
    const lineB = await startPtyPair();
    const sunspec = await startModbusRtuServer({ path: lineA.devicePath, devices: runner.packs });
    const vendorRunner = quietRunner(1, { load: { kind: "constant", amps: 15 } }, 9);
    vendorRunner.advance(10);
    const vendor = await startModbusRtuServer({ path: lineB.devicePath, devices: vendorRunner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
    cleanups.push(
      () => lineA.close(),
      () => lineB.close(),
      () => sunspec.close(),
      () => vendor.close(),
    );
    const broker = await brokerForTest();
    const line = { kind: "modbus-rtu", path: lineA.clientPath, baudRate: 115200 } as const;
    await agentOn(broker, [
      ...[1, 2, 3].map((unitId) => ({ packId: `pack-${unitId}`, transport: { ...line, unitId } })),
      { packId: "vendor-1", transport: { kind: "modbus-rtu", path: lineB.clientPath, baudRate: 115200, unitId: 1 }, profile: { file: VENDOR_PROFILE } },
    ]);
    await waitFor(() => ["pack-1", "pack-2", "pack-3", "vendor-1"].every((p) => telemetry(broker.received, p).length >= 2), 30_000, "samples of every pack");
    for (const n of [0, 1, 2]) expectSampleOf(latest(broker, `pack-${n + 1}`), packsOf(runner.packs, n).snapshot(), SUNSPEC_RESOLUTION);
    expectSampleOf(latest(broker, "vendor-1"), packsOf(vendorRunner.packs, 0).snapshot(), VENDOR_RESOLUTION);
    expectIdentity(meta(broker, "vendor-1"), packsOf(vendorRunner.packs, 0), 16);
  });

  it("CAN through an SLCAN adapter on a pty: the Pylontech frames as samples (current sign configurable), meta from 0x35E and the config", async () => {
    const runner = quietRunner(2, { load: { kind: "constant", amps: 25 } });
    runner.advance(10);
    const driver = driveInRealTime(runner, { timeScale: 0.01 });
    const busA = await startPtyPair();
    const busB = await startPtyPair();
    // Bus B's BMS sends current with the opposite sign; its agent device says so.
    const adapterA = await startSlcanAdapter({ path: busA.devicePath, device: packsOf(runner.packs, 0) });
    const adapterB = await startSlcanAdapter({ path: busB.devicePath, device: packsOf(runner.packs, 1), currentSign: -1 });
    cleanups.push(
      () => driver.stop(),
      () => busA.close(),
      () => busB.close(),
      () => adapterA.close(),
      () => adapterB.close(),
    );
    const broker = await brokerForTest();
    await agentOn(broker, [
      { packId: "can-1", transport: { kind: "can-slcan", path: busA.clientPath }, cellCount: 16, chemistry: "LFP", serial: "CAN-SN-1" },
      { packId: "can-2", transport: { kind: "can-slcan", path: busB.clientPath, currentSign: -1 }, cellCount: 16 },
    ]);
    await waitFor(() => ["can-1", "can-2"].every((p) => telemetry(broker.received, p).length >= 2), 30_000, "samples of both CAN packs");
    for (const [packId, n] of [
      ["can-1", 0],
      ["can-2", 1],
    ] as const) {
      const truth = packsOf(runner.packs, n).snapshot();
      const sample = latest(broker, packId);
      // 0x356: 0.01 V, 0.1 A, 0.1 °C (the hottest sensor); 0x355: SOC 0.01 %, SOH 1 %; 0x351: 0.1 A / 0.1 V.
      expect(Math.abs(sample.packVoltage - truth.packVoltage)).toBeLessThanOrEqual(0.006);
      expect(Math.abs(sample.current - truth.current)).toBeLessThanOrEqual(0.051);
      expect(sample.current).toBeGreaterThan(0); // charging, whichever sign the BMS sends
      expect(Math.abs(sample.soc - truth.soc)).toBeLessThanOrEqual(0.006);
      expect(sample.soh).toBe(Math.round(truth.soh));
      expect(sample.cellVoltages).toEqual([]);
      expect(sample.cellTemperatures).toHaveLength(1);
      expect(Math.abs((sample.cellTemperatures[0] ?? 0) - Math.max(...truth.cellTemperatures))).toBeLessThanOrEqual(0.051);
      expect(Math.abs((sample.chargeCurrentLimit ?? 0) - truth.chargeCurrentLimit)).toBeLessThanOrEqual(0.051);
      expect(sample.bmsAlarms).toEqual([]);
    }
    expect(meta(broker, "can-1")).toMatchObject({ manufacturer: "PYLON", serial: "CAN-SN-1", cellCount: 16, chemistry: "LFP" });
  });
});
