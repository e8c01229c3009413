import { join } from "node:path";
import { ConfigError, EVT1_BITS } from "@bms/shared";
import { DeviceProfile, decodeProfileValue, encodeProfileValue, registerSize } from "@bms/shared/device-profile";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { MODEL_LITHIUM_BANK, MODEL_LITHIUM_STRING } from "@bms/shared/sunspec/models";
import type ModbusRTU from "modbus-serial";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDeviceProfile } from "../src/protocols/device-profile-file";
import { type RunningModbusTcpServer, startModbusTcpServer } from "../src/protocols/modbus-tcp-server";
import { closeClient, connectClient, exceptionCodeOf, readRegisters } from "./modbus-test-client";
import { TestDevice } from "./protocol-fixtures";

const profile = loadDeviceProfile(join(import.meta.dirname, "../profiles/vendor-example.yaml"));

describe("device profile values", () => {
  it.each([
    [{ type: "uint32", byteOrder: "CDAB" }, 70_000, [70_000 & 0xffff, 1]],
    [{ type: "uint32", byteOrder: "ABCD" }, 70_000, [1, 70_000 & 0xffff]],
    [{ type: "int32", byteOrder: "CDAB" }, -2, [0xfffe, 0xffff]],
    [{ type: "int16", byteOrder: "ABCD" }, -5, [0xfffb]],
  ] as const)("encodes and decodes %o", (spec, value, words) => {
    const full = { ...spec, offset: 0 };
    expect(encodeProfileValue(value, full)).toEqual(words);
    expect(decodeProfileValue(words, full)).toBe(value);
  });

  it("rejects overlapping points and two kinds of scale, naming them", () => {
    const bad = DeviceProfile.safeParse({
      name: "bad",
      points: [
        { field: "soc", address: 10, type: "uint32", scale: 0.1, scaleFactor: -1 },
        { field: "soh", address: 11, type: "uint16" },
      ],
    });
    expect(bad.success).toBe(false);
    const messages = bad.error?.issues.map((issue) => issue.message).join("\n") ?? "";
    expect(messages).toMatch(/one of scale .* or scaleFactorRegister/);
    expect(messages).toMatch(/overlaps/);
    expect(() => loadDeviceProfile("/nonexistent/profile.yaml")).toThrow(ConfigError);
  });
});

describe("Modbus TCP with the vendor profile map", () => {
  let server: RunningModbusTcpServer;
  let client: ModbusRTU;
  const device = new TestDevice(3, { topology: { strings: 1, modulesPerString: 1, cellsPerModule: 16 } });

  beforeAll(async () => {
    device.model.step(30);
    server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: [device], map: profile });
    client = await connectClient(server.port);
  });

  afterAll(async () => {
    await closeClient(client);
    await server.close();
  });

  it("decodes, through the profile, to the snapshot (32-bit word orders included)", async () => {
    const truth = device.snapshot();
    const value = async (field: string) => {
      const point = profile.points.find((p) => p.field === field);
      if (!point) throw new Error(field);
      return decodeProfileValue(await readRegisters(client, 3, point.address, registerSize(point.type)), point);
    };
    expect(await value("packVoltage")).toBeCloseTo(truth.packVoltage, 2);
    expect(await value("current")).toBeCloseTo(truth.current, 1);
    expect(await value("soc")).toBeCloseTo(truth.soc, 0);
    expect(await value("cycleCount")).toBe(truth.cycles);
    expect(await value("bmsAlarms")).toBe(truth.evt1);
    expect(await value("chargeVoltageLimit")).toBeCloseTo(truth.chargeVoltageLimit, 1);
    const [cells, temps] = profile.arrays;
    if (!cells || !temps) throw new Error("profile arrays");
    const cellWords = await readRegisters(client, 3, cells.address, 31);
    const voltages = Array.from({ length: 16 }, (_, i) => decodeProfileValue([cellWords[2 * i] ?? 0], cells));
    for (const [i, v] of voltages.entries()) expect(v).toBeCloseTo(truth.cellVoltages[i] ?? 0, 2);
    const tempWords = await readRegisters(client, 3, temps.address, 16);
    for (const [i, w] of tempWords.entries()) expect(decodeProfileValue([w], temps)).toBeCloseTo(truth.cellTemperatures[i] ?? 0, 0);
  });

  it("answers reads outside the profile's blocks with 0x02 and writes with 0x02", async () => {
    client.setID(3);
    expect(await exceptionCodeOf(client.readHoldingRegisters(40000, 2))).toBe(0x02);
    expect(await exceptionCodeOf(client.readHoldingRegisters(1020, 10))).toBe(0x02);
    expect(await exceptionCodeOf(client.writeRegister(1004, 1))).toBe(0x02);
    expect(await readRegisters(client, 3, 1000, 24)).toHaveLength(24); // one block across small gaps
  });
});

describe("SunSpec for a two-string bank", () => {
  let server: RunningModbusTcpServer;
  let client: ModbusRTU;
  const device = new TestDevice(1, { topology: { strings: 2, modulesPerString: 2, cellsPerModule: 4 } });

  beforeAll(async () => {
    server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: [device] });
    client = await connectClient(server.port);
  });

  afterAll(async () => {
    await closeClient(client);
    await server.close();
  });

  it("chains 1, 802, 803, 804 × 2, 805 × 4, end", async () => {
    const models: [number, number, number][] = [];
    let address = 40002;
    for (let i = 0; i < 12; i++) {
      const [id = 0, length = 0] = await readRegisters(client, 1, address, 2);
      models.push([id, length, address]);
      if (id === 0xffff) break;
      address += 2 + length;
    }
    expect(models.map(([id, length]) => [id, length])).toEqual([
      [1, 66],
      [802, 62],
      [803, 26 + 32 * 2],
      [804, 46 + 16 * 2],
      [804, 46 + 16 * 2],
      [805, 42 + 4 * 4],
      [805, 42 + 4 * 4],
      [805, 42 + 4 * 4],
      [805, 42 + 4 * 4],
      [0xffff, 0],
    ]);
    const bankAt = models[2]?.[2] ?? 0;
    const bank = new ModelReader(MODEL_LITHIUM_BANK, await readRegisters(client, 1, bankAt, 2 + 26 + 64));
    expect(bank.raw("NStr")).toBe(2);
    expect(bank.raw("StrNMod", 0)).toBe(2);
    const string2 = new ModelReader(MODEL_LITHIUM_STRING, await readRegisters(client, 1, models[4]?.[2] ?? 0, 2 + 46 + 32));
    expect(string2.raw("Idx")).toBe(2);
    expect(string2.raw("ModNCell", 0)).toBe(4);
    expect((string2.raw("Evt1") ?? 0) & (1 << EVT1_BITS.OVER_TEMP_ALARM)).toBe(0);
    const lastModule = await readRegisters(client, 1, models[8]?.[2] ?? 0, 6);
    expect(lastModule.slice(2, 5)).toEqual([2, 2, 4]); // StrIdx, ModIdx, NCell
  });
});
