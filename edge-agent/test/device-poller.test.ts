import type { PackMeta, PackSample } from "@bms/shared";
import { DeviceConfig, PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import { MODEL_LITHIUM_MODULE } from "@bms/shared/sunspec/models";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { DevicePoller } from "../src/device-poller";
import { SunSpecDeviceReader } from "../src/readers/sunspec-device-reader";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import type { RegisterTransport } from "../src/transports/register-transport";
import { captureLog } from "./fixtures/captured-log";
import { type RegisterServer, startRegisterServer } from "./fixtures/register-server";
import { pointAddress, sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();

/** Records when each read was attempted (instrumentation around the real transport). */
class RecordingTransport implements RegisterTransport {
  attempts: number[] = [];
  readonly endpoint: string;
  constructor(private readonly inner: RegisterTransport) {
    this.endpoint = inner.endpoint;
  }
  readHoldingRegisters(unitId: number, address: number, count: number): Promise<number[]> {
    this.attempts.push(Date.now());
    return this.inner.readHoldingRegisters(unitId, address, count);
  }
  readInputRegisters(unitId: number, address: number, count: number): Promise<number[]> {
    this.attempts.push(Date.now());
    return this.inner.readInputRegisters(unitId, address, count);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function setup(retry = { retryMinMs: 100, retryMaxMs: 800 }) {
  const built = sunspecDevice();
  const server: RegisterServer = await startRegisterServer({ units: new Map([[1, built.registers]]) });
  const transport = new RecordingTransport(new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 }));
  const captured = captureLog();
  const samples: PackSample[] = [];
  const metas: PackMeta[] = [];
  let seq = 0;
  const poller = new DevicePoller({
    siteId: "site-t",
    device: DeviceConfig.parse({ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: server.port, unitId: 1 } }),
    reader: new SunSpecDeviceReader(transport, 1),
    pollIntervalMs: 100,
    ...retry,
    plausibility: PlausibilityConfig.parse({}),
    log: captured.log,
    nextSeq: () => ++seq,
    onSample: (s) => samples.push(s),
    onMeta: (m) => metas.push(m),
  });
  cleanups.push(async () => {
    await poller.stop();
    await transport.close();
    await server.close();
  });
  poller.start();
  return { built, server, transport, captured, samples, metas, poller };
}

describe("device poller", () => {
  it("discovers once, publishes meta once, then samples with increasing seq", async () => {
    const { samples, metas, poller } = await setup();
    await waitFor(() => samples.length >= 3, 10_000, "three samples");
    expect(metas).toHaveLength(1);
    expect(metas[0]?.cellCount).toBe(16);
    expect(samples.map((s) => s.seq).slice(0, 3)).toEqual([1, 2, 3]);
    expect(poller.health()).toMatchObject({ packId: "pack-1", state: "ok", consecutiveFailures: 0 });
    expect(poller.health().lastSampleAt).toBeGreaterThan(0);
  });

  it("backs off while the device is away, logs one line down and one up, and re-discovers when it returns", async () => {
    const { server, transport, captured, samples, metas, poller } = await setup({ retryMinMs: 100, retryMaxMs: 800 });
    await waitFor(() => samples.length >= 1, 10_000, "a first sample");
    await server.stop();
    const wentDown = Date.now();
    await waitFor(() => poller.health().consecutiveFailures >= 5, 20_000, "five failures");
    const health = poller.health();
    expect(health.state).toBe("failing");
    expect(health.lastError).toMatch(/unreachable|did not answer/);
    // The gaps between attempts grow: 100, 200, 400, 800 ms (lower bounds only).
    const failed = transport.attempts.filter((t) => t >= wentDown);
    const gaps = failed.slice(1).map((t, i) => t - (failed[i] ?? t));
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(gaps[3]).toBeGreaterThanOrEqual(700);
    expect(captured.messages("device not answering")).toBe(1);

    const before = samples.length;
    await server.start();
    await waitFor(() => samples.length > before, 20_000, "samples after the device returned");
    expect(poller.health()).toMatchObject({ state: "ok", consecutiveFailures: 0 });
    expect(captured.messages("device answering again")).toBe(1);
    expect(metas).toHaveLength(2); // discovered again after the outage
    const line = captured.lines.find((l) => l.msg === "device not answering");
    expect(line).toMatchObject({ siteId: "site-t", packId: "pack-1" });
    expect(line?.err).toEqual(expect.any(String));
  });

  it("rejects and counts an implausible reply, publishes nothing from it, and recovers when the values are sane", async () => {
    const { built, samples, poller, captured } = await setup();
    await waitFor(() => samples.length >= 1, 10_000, "a first sample");
    const cellAddress = pointAddress(built.layout.modules[0] ?? 0, MODEL_LITHIUM_MODULE, "CellV", 0);
    const good = built.registers.get(cellAddress) ?? 0;
    built.registers.set(cellAddress, 65000); // 65 V
    await waitFor(() => poller.health().rejectedSamples >= 3, 10_000, "rejected samples");
    const countWhileBad = samples.length;
    expect(poller.health().state).toBe("failing");
    expect(poller.health().lastError).toMatch(/cellVoltages/);
    expect(captured.messages("device sends bad replies")).toBe(1);
    expect(samples.every((s) => s.cellVoltages.every((v) => v < 5))).toBe(true);
    built.registers.set(cellAddress, good);
    await waitFor(() => samples.length > countWhileBad + 1, 10_000, "samples after the glitch");
    // Rejected replies spend no sequence numbers: no false gaps downstream.
    expect(samples.map((s) => s.seq)).toEqual(samples.map((_, i) => i + 1));
  });
});

describe("device poller: plausibility", () => {
  it("keeps a cell reading 0 V once out of the samples, counts it, and spends no sequence number on it", async () => {
    const { built, server, samples, poller, captured } = await setup();
    await waitFor(() => samples.length >= 3, 10_000, "three samples");
    const cellAddress = pointAddress(built.layout.modules[0] ?? 0, MODEL_LITHIUM_MODULE, "CellV", 3);
    let glitches = 0;
    server.override = (_unit, address, count) => {
      if (glitches > 0 || cellAddress < address || cellAddress >= address + count) return undefined;
      glitches += 1;
      const words = Array.from({ length: count }, (_, i) => built.registers.get(address + i) ?? 0);
      words[cellAddress - address] = 0;
      return { kind: "words", words };
    };
    await waitFor(() => poller.health().implausible >= 1, 10_000, "the glitch to be counted");
    const after = samples.length;
    await waitFor(() => samples.length >= after + 3, 10_000, "samples after the glitch");
    expect(glitches).toBe(1);
    expect(poller.health()).toMatchObject({ implausible: 1, state: "ok", rejectedSamples: 0 });
    expect(samples.every((s) => s.cellVoltages[3] !== 0)).toBe(true);
    expect(samples.map((s) => s.seq)).toEqual(samples.map((_, i) => i + 1));
    expect(captured.messages("implausible readings kept out of the samples")).toBe(1);
  });

  it("believes a cell that stays at 0 V: its samples are published (late, none lost) and it is logged", async () => {
    const { built, samples, poller, captured } = await setup();
    await waitFor(() => samples.length >= 3, 10_000, "three samples");
    const cellAddress = pointAddress(built.layout.modules[1] ?? 0, MODEL_LITHIUM_MODULE, "CellV", 0); // cell 8
    built.registers.set(cellAddress, 0);
    await waitFor(() => samples.filter((s) => s.cellVoltages[8] === 0).length >= 5, 10_000, "samples with the dead cell");
    expect(poller.health().implausible).toBe(0);
    expect(captured.messages("suspect readings persisted: believed and published")).toBe(1);
    const ts = samples.map((s) => s.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(samples.map((s) => s.seq)).toEqual(samples.map((_, i) => i + 1));
  });
});
