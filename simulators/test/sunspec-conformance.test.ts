import type { ModelReader } from "@bms/shared/sunspec/model-reader";
import { type MODEL_BATTERY, MODEL_LITHIUM_BANK, type MODEL_LITHIUM_MODULE, MODEL_LITHIUM_STRING } from "@bms/shared/sunspec/models";
import type ModbusRTU from "modbus-serial";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PackModelOptions } from "../src/pack-model";
import { type RunningModbusTcpServer, startModbusTcpServer } from "../src/protocols/modbus-tcp-server";
import { registersOf, runMbpoll } from "./mbpoll-client";
import { closeClient, connectClient, exceptionCodeOf, readRegisters } from "./modbus-test-client";
import { TestDevice } from "./protocol-fixtures";
import { checkAgainstDefinition, type WalkedModel, walkSunSpec } from "./sunspec-model-walk";

/** The packs every served point is checked on, and what their 802 nameplate must say. */
const PACKS: { name: string; options: PackModelOptions; vMax: number; vMin: number; whRtg: number; v_sf: number }[] = [
  { name: "LFP 16S", options: { topology: { strings: 1, modulesPerString: 1, cellsPerModule: 16 } }, vMax: 58.4, vMin: 40, whRtg: 5120, v_sf: -2 },
  { name: "NMC 14S", options: { chemistry: "NMC", cellCount: 14 }, vMax: 58.8, vMin: 38.5, whRtg: 5180, v_sf: -2 },
  { name: "LFP 2×16S", options: { topology: { strings: 2, modulesPerString: 1, cellsPerModule: 16 } }, vMax: 58.4, vMin: 40, whRtg: 10_240, v_sf: -2 },
  { name: "LFP 224S, 280 Ah", options: { cellCount: 224, capacityAh: 280 }, vMax: 817.6, vMin: 560, whRtg: 200_704, v_sf: -1 },
];

/** Half a step of the scale factor the value was served with, plus float noise. */
function near(actual: number | undefined, expected: number, sf: number | undefined, what: string): void {
  expect(actual, what).toBeDefined();
  expect(Math.abs((actual ?? Number.NaN) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(10 ** (sf ?? 0) / 2 + 1e-9);
}

describe("SunSpec conformance: every served point of every model against the official definitions", () => {
  let server: RunningModbusTcpServer;
  let client: ModbusRTU;
  const devices = PACKS.map((p, i) => new TestDevice(i + 1, p.options));
  const walked = new Map<number, WalkedModel[]>();

  beforeAll(async () => {
    for (const device of devices) device.model.step(600); // current flows, cells spread
    server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices });
    client = await connectClient(server.port);
    for (const device of devices) walked.set(device.unitId, await walkSunSpec((address, count) => readRegisters(client, device.unitId, address, count)));
  });

  afterAll(async () => {
    await closeClient(client);
    await server.close();
  });

  const modelsOf = (unitId: number) => walked.get(unitId) ?? [];
  const one = (unitId: number, id: number) => {
    const found = modelsOf(unitId).find((m) => m.def.id === id);
    if (!found) throw new Error(`unit ${unitId} serves no model ${id}`);
    return found;
  };

  it.each(PACKS.map((p, i) => [p.name, i + 1] as const))("%s: the chain and every point of every model", (_, unitId) => {
    const models = modelsOf(unitId);
    const device = devices[unitId - 1];
    const topology = device?.snapshot().topology;
    const strings = topology?.strings ?? 1;
    const expected = [
      1,
      802,
      ...(strings > 1 ? [803, ...new Array<number>(strings).fill(804)] : []),
      ...new Array<number>(strings * (topology?.modulesPerString ?? 1)).fill(805),
    ];
    expect(models.map((m) => m.def.id)).toEqual(expected);
    for (const model of models) checkAgainstDefinition(model);
  });

  it.each(PACKS.map((p, i) => [p.name, i + 1, p] as const))("%s: model 802 serves the pack's own nameplate and state", (_, unitId, pack) => {
    const b = one(unitId, 802).reader as ModelReader<typeof MODEL_BATTERY>;
    const truth = devices[unitId - 1]?.snapshot();
    if (!truth) throw new Error("no snapshot");
    expect(b.scaleFactor("V_SF")).toBe(pack.v_sf);
    expect(b.scaled("VMax")).toBe(pack.vMax);
    expect(b.scaled("VMin")).toBe(pack.vMin);
    near(b.scaled("WHRtg"), pack.whRtg, b.scaleFactor("WHRtg_SF"), "WHRtg");
    near(b.scaled("AHRtg"), truth.ratings.capacityAh, b.scaleFactor("AHRtg_SF"), "AHRtg");
    const nominalV = truth.ratings.nominalCellV * truth.ratings.cellsInSeries;
    near(b.scaled("WChaRteMax"), truth.ratings.capacityAh * truth.ratings.chargeC * nominalV, b.scaleFactor("WChaDisChaMax_SF"), "WChaRteMax");
    near(b.scaled("WDisChaRteMax"), truth.ratings.capacityAh * truth.ratings.dischargeC * nominalV, b.scaleFactor("WChaDisChaMax_SF"), "WDisChaRteMax");
    near(b.scaled("V"), truth.packVoltage, b.scaleFactor("V_SF"), "V"); // a 224S pack serves its real voltage, not a saturated 655.34 V
    near(b.scaled("A"), truth.current, b.scaleFactor("A_SF"), "A");
    near(b.scaled("W"), truth.current * truth.packVoltage, b.scaleFactor("W_SF"), "W");
    near(b.scaled("SoC"), truth.soc, b.scaleFactor("SoC_SF"), "SoC");
    expect(b.raw("State")).toBe(truth.state);
    expect(b.raw("Evt1")).toBe(truth.evt1);
    // Not implemented, each with its type's value: ReqW int16, StateVnd enum16.
    const word = (name: keyof typeof MODEL_BATTERY.points) => b.words(name)[0];
    expect([word("ReqW"), word("StateVnd")]).toEqual([0x8000, 0xffff]);
    // The reserve a controller sets (remote diagnosis), at its defaults.
    expect([b.scaled("SocRsvMax"), b.scaled("SoCRsvMin")]).toEqual([95, 10]);
    expect([b.raw("SetOp"), b.raw("SetInvState"), b.raw("AlmRst"), b.raw("LocRemCtl")]).toEqual([1, 3, 0, 0]);
  });

  it("serves each string's own current from the snapshot in 803 and 804, and its own voltage", () => {
    const truth = devices[2]?.snapshot();
    if (!truth) throw new Error("no snapshot");
    expect(truth.stringCurrents).toHaveLength(2);
    const bank = one(3, 803).reader as ModelReader<typeof MODEL_LITHIUM_BANK>;
    const strings = modelsOf(3).filter((m) => m.def.id === 804);
    const sf = bank.scaleFactor("A_SF");
    truth.stringCurrents.forEach((amps, s) => {
      near(bank.scaled("StrA", s), amps, sf, `803 StrA[${s}]`);
      const string = strings[s]?.reader as ModelReader<typeof MODEL_LITHIUM_STRING>;
      expect(string.raw("Idx")).toBe(s + 1);
      near(string.scaled("A"), amps, string.scaleFactor("A_SF"), `804 #${s + 1} A`);
      const cells = truth.cellVoltages.slice(16 * s, 16 * (s + 1));
      near(
        string.scaled("V"),
        cells.reduce((a, v) => a + v, 0),
        string.scaleFactor("V_SF"),
        `804 #${s + 1} V`,
      );
    });
    near(bank.scaled("StrAMax"), Math.max(...truth.stringCurrents), sf, "StrAMax");
    near(bank.scaled("StrAMin"), Math.min(...truth.stringCurrents), sf, "StrAMin");
    expect(bank.raw("StrAMaxStr")).toBe(truth.stringCurrents.indexOf(Math.max(...truth.stringCurrents)) + 1);
    expect([bank.raw("StrSetEna", 0), bank.raw("StrSetCon", 0), strings[0]?.reader.raw("SetEna"), strings[0]?.reader.raw("SetCon")]).toEqual([1, 1, 1, 1]);
  });

  it("a 224-cell module chooses its own voltage scale factor and every cell's voltage survives", () => {
    const module = one(4, 805).reader as ModelReader<typeof MODEL_LITHIUM_MODULE>;
    const truth = devices[3]?.snapshot();
    expect(module.instances()).toBe(224);
    expect(module.scaleFactor("V_SF")).toBe(-1);
    near(module.scaled("V"), truth?.packVoltage ?? 0, -1, "805 V");
    near(module.scaled("CellV", 223), truth?.cellVoltages[223] ?? 0, -3, "CellV[223]");
  });

  it("mbpoll (a third-party Modbus master) walks the same chain and reads every model the same", async () => {
    const poll = (args: string[]) => runMbpoll(["-m", "tcp", "-p", String(server.port), "-o", "2", "-0", "-t", "4:hex", ...args, "127.0.0.1"]);
    const hex = (stdout: string) => Object.values(registersOf(stdout)).map((v) => Number.parseInt(v, 16));
    for (const device of devices.slice(1, 3)) {
      for (const model of modelsOf(device.unitId)) {
        const words: number[] = [];
        for (let offset = 0; offset < model.regs.length; offset += 125) {
          const count = Math.min(125, model.regs.length - offset);
          const { stdout, code } = await poll(["-a", String(device.unitId), "-r", String(model.address + offset), "-c", String(count)]);
          expect(code, stdout).toBe(0);
          words.push(...hex(stdout));
        }
        expect(words, `unit ${device.unitId} model ${model.def.id} at ${model.address}`).toEqual(model.regs);
      }
    }
  });

  it("mbpoll writes 804 SetEna of string 2; 803 shows it for that string only, and 0x03 refuses a value outside its symbols", async () => {
    const string2 = modelsOf(3).filter((m) => m.def.id === 804)[1];
    if (!string2) throw new Error("no second 804");
    const setEna = string2.address + MODEL_LITHIUM_STRING.points.SetEna.offset;
    const write = (value: number) =>
      runMbpoll(["-m", "tcp", "-p", String(server.port), "-o", "2", "-0", "-a", "3", "-r", String(setEna), "127.0.0.1", String(value)]);
    expect((await write(2)).code).toBe(0);
    const bank = await walkSunSpec((address, count) => readRegisters(client, 3, address, count));
    const b = bank.find((m) => m.def.id === 803)?.reader;
    expect([b?.raw("StrSetEna", 0), b?.raw("StrSetEna", 1), b?.raw("StrDisRsn", 1)]).toEqual([1, 2, 3]);
    const st = bank.filter((m) => m.def.id === 804).map((m) => (m.reader.raw("St") ?? 0) & 1);
    expect(st).toEqual([1, 0]); // STRING_ENABLED
    const refused = await write(5);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toMatch(/Illegal data value/);
    client.setID(3);
    expect(await exceptionCodeOf(client.writeRegister(setEna, 0))).toBe(0x03);
    expect(await exceptionCodeOf(client.writeRegister(string2.address + MODEL_LITHIUM_STRING.points.Pad1.offset, 0x8000))).toBe(0x02);
    await client.writeRegister(setEna, 1);
  });

  it("803 StrSetCon of string 1 is the same setting as its 804 SetCon", async () => {
    const bankAt = one(3, 803).address;
    const strSetCon = bankAt + MODEL_LITHIUM_BANK.group.offset + MODEL_LITHIUM_BANK.group.points.StrSetCon.offset;
    client.setID(3);
    await client.writeRegister(strSetCon, 2);
    const string1 = modelsOf(3).filter((m) => m.def.id === 804)[0];
    const [setCon] = await readRegisters(client, 3, (string1?.address ?? 0) + MODEL_LITHIUM_STRING.points.SetCon.offset, 1);
    expect(setCon).toBe(2);
    client.setID(3);
    expect(await exceptionCodeOf(client.writeRegister(strSetCon, 3))).toBe(0x03);
    await client.writeRegister(strSetCon, 1);
  });
});
