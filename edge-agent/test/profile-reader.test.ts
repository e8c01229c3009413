import { join } from "node:path";
import { DeviceProfile, type DeviceProfileInput, encodeProfileValue } from "@bms/shared/device-profile";
import { loadDeviceProfile } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { REPO_ROOT } from "../../test/support/cli";
import { ProfileDecodeError } from "../src/profiles/profile-decoder";
import { planReads } from "../src/profiles/read-plan";
import { ProfileDeviceReader } from "../src/readers/profile-device-reader";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { startRegisterServer } from "./fixtures/register-server";

const cleanups = cleanupAfterEach();
const profile = (input: Omit<DeviceProfileInput, "name">) => DeviceProfile.parse({ name: "test", ...input });

describe("read plan: as few requests as the 125-register limit allows", () => {
  it("reads the vendor example's sample in 3 requests and its identity in 1", () => {
    const vendor = loadDeviceProfile(join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml"));
    expect(planReads(vendor, "sample")).toEqual([
      { space: "holding", address: 1000, count: 22 },
      { space: "holding", address: 2000, count: 116 },
      { space: "input", address: 3000, count: 6 },
    ]);
    expect(planReads(vendor, "identity")).toEqual([{ space: "holding", address: 5000, count: 30 }]);
  });

  it("splits a long block at 125 registers, covering every value whole", () => {
    const p = profile({ blocks: [{ address: 0, count: 400 }], arrays: [{ field: "cellVoltages", address: 0, count: 150, stride: 2, type: "uint16" }] });
    expect(planReads(p, "sample")).toEqual([
      { space: "holding", address: 0, count: 125 },
      { space: "holding", address: 126, count: 125 },
      { space: "holding", address: 252, count: 47 },
    ]);
    // A 32-bit value never straddles two requests.
    const q = profile({
      blocks: [{ address: 0, count: 400 }],
      points: [
        { field: "soc", address: 0, type: "uint16" },
        { field: "cycleCount", address: 124, type: "uint32" },
      ],
    });
    expect(planReads(q, "sample")).toEqual([
      { space: "holding", address: 0, count: 1 },
      { space: "holding", address: 124, count: 2 },
    ]);
  });

  it("never reads across the edge of a declared block, or from the other register space", () => {
    const p = profile({
      blocks: [
        { address: 0, count: 10 },
        { address: 10, count: 10 },
        { registers: "input", address: 0, count: 20 },
      ],
      points: [
        { field: "soc", address: 5, type: "uint16" },
        { field: "soh", address: 15, type: "uint16" },
        { field: "current", address: 6, type: "int16", registers: "input" },
      ],
    });
    expect(planReads(p, "sample")).toEqual([
      { space: "holding", address: 5, count: 1 },
      { space: "holding", address: 15, count: 1 },
      { space: "input", address: 6, count: 1 },
    ]);
  });

  it("without declared blocks, spans gaps of up to maxGap only", () => {
    const points = [
      { field: "soc", address: 0, type: "uint16" },
      { field: "soh", address: 30, type: "uint16" },
    ] as const;
    expect(planReads(profile({ points: [...points] }), "sample")).toHaveLength(2);
    expect(planReads(profile({ points: [...points], maxGap: 40 }), "sample")).toEqual([{ space: "holding", address: 0, count: 31 }]);
  });

  it("reads a scale-factor register with the value that needs it", () => {
    const p = profile({ points: [{ field: "current", address: 10, type: "int16", scaleFactorRegister: 40 }] });
    expect(planReads(p, "sample")).toEqual([
      { space: "holding", address: 10, count: 1 },
      { space: "holding", address: 40, count: 1 },
    ]);
  });
});

describe("profile reader over Modbus TCP", () => {
  const CELLS = 4;
  const base = profile({
    blocks: [
      { address: 0, count: 20 },
      { registers: "input", address: 100, count: 10 },
      { address: 200, count: 8 },
    ],
    points: [
      { field: "packVoltage", address: 0, type: "uint32", byteOrder: "DCBA", scale: 0.001 },
      { field: "current", address: 2, type: "int16", scaleFactorRegister: 3 },
      { field: "soc", address: 4, type: "uint16" },
      { field: "bmsAlarms", address: 101, type: "bitfield16", registers: "input", bits: { 0: "OVER_TEMP_ALARM", 3: "UNDER_VOLT_WARNING" } },
      { meta: "serial", address: 200, type: "string", size: 4 },
      { meta: "cellCount", address: 204, type: "uint16" },
    ],
    arrays: [
      { field: "cellVoltages", address: 8, count: CELLS, type: "uint16", scale: 0.001 },
      { field: "cellTemperatures", address: 100, count: 1, type: "int16", scale: 0.1, registers: "input", missing: -32768 },
    ],
  });

  async function serve(change: (holding: Map<number, number>, input: Map<number, number>) => void = () => undefined) {
    const holding = new Map<number, number>();
    const input = new Map<number, number>();
    for (let a = 0; a < 20; a++) holding.set(a, 0);
    for (let a = 100; a < 110; a++) input.set(a, 0);
    for (let a = 200; a < 208; a++) holding.set(a, 0);
    const put = (map: Map<number, number>, address: number, words: number[]) => {
      for (const [i, w] of words.entries()) map.set(address + i, w);
    };
    put(holding, 0, encodeProfileValue(52.812, { type: "uint32", byteOrder: "DCBA", scale: 0.001 }));
    put(holding, 2, [encodeProfileValue(-125, { type: "int16" })[0] ?? 0, encodeProfileValue(-1, { type: "sunssf" })[0] ?? 0]);
    holding.set(4, 61);
    for (let c = 0; c < CELLS; c++) holding.set(8 + c, 3300 + c);
    input.set(100, 251);
    input.set(101, 0b1001);
    put(holding, 200, [0x5341, 0x2d39, 0, 0]); // "SA-9"
    holding.set(204, CELLS);
    change(holding, input);
    const server = await startRegisterServer({ units: new Map([[1, holding]]), inputUnits: new Map([[1, input]]) });
    const transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 });
    cleanups.push(
      () => transport.close(),
      () => server.close(),
    );
    return { server, reader: new ProfileDeviceReader(transport, 1, base) };
  }

  it("decodes every kind of point, reads the identity once, and sends exactly the planned requests", async () => {
    const { server, reader } = await serve();
    const first = await reader.read();
    expect(first.sample).toMatchObject({
      packVoltage: 52.812,
      current: -12.5,
      soc: 61,
      cellVoltages: [3.3, 3.301, 3.302, 3.303],
      cellTemperatures: [25.1],
      bmsAlarms: ["OVER_TEMP_ALARM", "UNDER_VOLT_WARNING"],
    });
    expect(first.identity).toEqual({ manufacturer: "", serial: "SA-9", cellCount: CELLS });
    const afterFirst = server.requests.get(1) ?? 0;
    expect(afterFirst).toBe(reader.samplePlan.length + reader.identityPlan.length);
    const second = await reader.read();
    expect(second.identity).toBeUndefined();
    expect((server.requests.get(1) ?? 0) - afterFirst).toBe(reader.samplePlan.length);
    reader.reset();
    expect((await reader.read()).identity).toBeDefined();
  });

  it("leaves out what the device says it lacks: a missing sensor, a not-implemented scale factor", async () => {
    const { reader } = await serve((holding, input) => {
      input.set(100, 0x8000);
      holding.set(3, 0x8000);
    });
    const { sample } = await reader.read();
    expect(sample.cellTemperatures).toEqual([]);
    expect(sample).not.toHaveProperty("current");
  });

  it("refuses a scale factor outside -10..10 as a decode error naming the register", async () => {
    const { reader } = await serve((holding) => holding.set(3, 300));
    await expect(reader.read()).rejects.toThrow(ProfileDecodeError);
    await expect(reader.read()).rejects.toThrow(/scale factor register 3 holds 300/);
  });

  it("refuses a cell without a value (the positions after it would shift)", async () => {
    const p = profile({ arrays: [{ field: "cellVoltages", address: 0, count: 3, type: "uint16", missing: 0xffff }] });
    const server = await startRegisterServer({
      units: new Map([
        [
          1,
          new Map([
            [0, 3300],
            [1, 0xffff],
            [2, 3301],
          ]),
        ],
      ]),
    });
    const transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 });
    cleanups.push(
      () => transport.close(),
      () => server.close(),
    );
    await expect(new ProfileDeviceReader(transport, 1, p).read()).rejects.toThrow(/cell 2 .* has no value/);
  });
});
