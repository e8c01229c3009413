import { EVT1_BITS, PackSample } from "@bms/shared";
import { MODEL_BATTERY, MODEL_LITHIUM_MODULE } from "@bms/shared/sunspec/models";
import { afterEach, describe, expect, it } from "vitest";
import { decodePackMeta, decodePackSample } from "../src/sunspec/sunspec-decoder";
import { discoverSunSpec } from "../src/sunspec/sunspec-discovery";
import { SunSpecDecodeError, SunSpecDiscoveryError } from "../src/sunspec/sunspec-errors";
import { SunSpecReader } from "../src/sunspec/sunspec-reader";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { type RegisterServer, startRegisterServer } from "./fixtures/register-server";
import { buildSunSpecMap, type PackImage } from "./fixtures/sunspec-map";

let server: RegisterServer | undefined;
let transport: ModbusTcpTransport | undefined;

afterEach(async () => {
  await transport?.close();
  await server?.close();
  server = undefined;
  transport = undefined;
});

async function serve(registers: Map<number, number>): Promise<ModbusTcpTransport> {
  server = await startRegisterServer({ units: new Map([[1, registers]]) });
  transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 500 });
  return transport;
}

async function readDecoded(image: PackImage = {}, tweak?: (regs: Map<number, number>, at: ReturnType<typeof buildSunSpecMap>["at"]) => void) {
  const built = buildSunSpecMap(image);
  tweak?.(built.registers, built.at);
  const reader = new SunSpecReader(await serve(built.registers), 1);
  const snap = await reader.read(true);
  return { snap, sample: decodePackSample(snap.battery, snap.modules, snap.ts, 7), reader };
}

describe("SunSpec discovery", () => {
  it("finds the marker at 40000 and walks the chain to the end model", async () => {
    const built = buildSunSpecMap();
    const map = await discoverSunSpec(await serve(built.registers), 1);
    expect(map.baseAddress).toBe(40000);
    expect(map.models.map((m) => m.id)).toEqual([1, 802, 805, 805]);
    expect(map.battery.address).toBe(built.at.battery);
    expect(map.modules.map((m) => m.address)).toEqual(built.at.modules);
  });

  it.each([0, 50000])("finds the marker at base %i when 40000 has none", async (base) => {
    const map = await discoverSunSpec(await serve(buildSunSpecMap({ base }).registers), 1);
    expect(map.baseAddress).toBe(base);
    expect(map.modules).toHaveLength(2);
  });

  it("rejects a device without a SunS marker", async () => {
    const regs = new Map<number, number>();
    for (let a = 40000; a < 40010; a++) regs.set(a, 0x1234);
    await expect(discoverSunSpec(await serve(regs), 1)).rejects.toThrow(/no SunSpec marker/);
  });

  it("rejects a battery without any 805 module (no cell voltages)", async () => {
    await expect(discoverSunSpec(await serve(buildSunSpecMap({ modules: [] }).registers), 1)).rejects.toThrow(/805/);
  });

  it("rejects a device without model 802", async () => {
    const built = buildSunSpecMap();
    built.registers.set(built.at.battery, 64000); // an unknown model ID of the same length
    await expect(discoverSunSpec(await serve(built.registers), 1)).rejects.toBeInstanceOf(SunSpecDiscoveryError);
  });

  it("stops walking a chain that never ends (hostile device), after a bounded number of reads", async () => {
    const built = buildSunSpecMap();
    const t = await serve(built.registers);
    // Every header read past the marker answers "model 802, L = 0": next = address + 2, forever.
    server!.override = (_unit, address, count) => (count === 2 && address > 40001 ? { kind: "words", words: [802, 0] } : undefined);
    await expect(discoverSunSpec(t, 1, { maxModels: 50 })).rejects.toThrow(/more than 50 models/);
    expect(server!.requests.get(1)).toBeLessThan(60);
  });

  it("rejects a model whose length runs past register 65535", async () => {
    const built = buildSunSpecMap({ base: 50000 });
    built.registers.set(built.at.common + 1, 30000);
    await expect(discoverSunSpec(await serve(built.registers), 1)).rejects.toThrow(/past register 65535/);
  });

  it("accepts a chain that runs off the end of the map without an end model", async () => {
    const map = await discoverSunSpec(await serve(buildSunSpecMap({ omitEnd: true }).registers), 1);
    expect(map.models.map((m) => m.id)).toEqual([1, 802, 805, 805]);
  });

  it("rejects a module whose L contradicts its NCell", async () => {
    const built = buildSunSpecMap();
    const t = await serve(built.registers);
    built.registers.set((built.at.modules[0] ?? 0) + MODEL_LITHIUM_MODULE.points.NCell.offset, 40);
    const reader = new SunSpecReader(t, 1);
    const snap = await reader.read();
    expect(() => decodePackSample(snap.battery, snap.modules, snap.ts, 1)).toThrow(SunSpecDecodeError);
  });
});

describe("SunSpec decoding", () => {
  it("decodes 802 and every 805 into a valid pack sample, applying scale factors", async () => {
    const alarms = (1 << EVT1_BITS.OVER_TEMP_WARNING) | (1 << EVT1_BITS.UNDER_SOC_MIN_ALARM);
    const { sample } = await readDecoded({ evt1: alarms, current: 23.4 });
    const parsed = PackSample.parse(sample);
    expect(parsed).toMatchObject({
      v: 1,
      seq: 7,
      packVoltage: 52.8,
      current: 23.4,
      soc: 80,
      soh: 97,
      cycleCount: 123,
      chargeCurrentLimit: 50,
      dischargeCurrentLimit: 100,
      bmsAlarms: ["OVER_TEMP_WARNING", "UNDER_SOC_MIN_ALARM"],
    });
    expect(parsed.cellVoltages).toHaveLength(16);
    expect(parsed.cellVoltages[0]).toBe(3.3);
    expect(parsed.cellVoltages[15]).toBe(3.315);
    expect(parsed.cellTemperatures[1]).toBe(25.1);
    expect(Math.abs(parsed.ts - Date.now())).toBeLessThan(60_000);
  });

  it("decodes the pack identity from models 1, 802 and 805", async () => {
    const { snap } = await readDecoded({ manufacturer: "Volt & Co", serial: "X-42", warrantyDays: 9132 });
    const meta = decodePackMeta({ ...snap, chemistry: "LFP" });
    expect(meta).toMatchObject({
      manufacturer: "Volt & Co",
      model: "LFP-16S",
      serial: "X-42",
      bmsFirmware: "1.2.3",
      chemistry: "LFP",
      cellCount: 16,
      ratedCapacity: 100,
      warrantyEnd: "2025-01-01",
    });
    expect(decodePackMeta({ ...snap, warrantyEnd: "2031-05-06" }).warrantyEnd).toBe("2031-05-06");
    expect(decodePackMeta(snap).chemistry).toBe("other");
  });

  it("turns not-implemented sentinels into absent fields", async () => {
    const { sample } = await readDecoded({}, (regs, at) => {
      const p = MODEL_BATTERY.points;
      regs.set(at.battery + p.SoH.offset, 0xffff);
      regs.set(at.battery + p.AChaMax.offset, 0xffff);
      regs.set(at.battery + p.Evt1.offset, 0xffff).set(at.battery + p.Evt1.offset + 1, 0xffff);
      regs.set(at.battery + p.NCyc.offset, 0xffff).set(at.battery + p.NCyc.offset + 1, 0xffff);
      // One temperature sensor not fitted.
      regs.set((at.modules[0] ?? 0) + MODEL_LITHIUM_MODULE.cellBlockOffset + 1, 0x8000);
    });
    const parsed = PackSample.parse(sample);
    expect(parsed).not.toHaveProperty("soh");
    expect(parsed).not.toHaveProperty("chargeCurrentLimit");
    expect(parsed).not.toHaveProperty("bmsAlarms");
    expect(parsed).not.toHaveProperty("cycleCount");
    expect(parsed.dischargeCurrentLimit).toBe(100);
    expect(parsed.cellVoltages).toHaveLength(16);
    expect(parsed.cellTemperatures).toHaveLength(15);
  });

  it("a missing required value (pack voltage) fails validation instead of publishing nonsense", async () => {
    const { sample } = await readDecoded({}, (regs, at) => regs.set(at.battery + MODEL_BATTERY.points.V.offset, 0xffff));
    expect(sample).not.toHaveProperty("packVoltage");
    expect(PackSample.safeParse(sample).success).toBe(false);
  });

  it("an implausible value (65 V cell) decodes but fails validation", async () => {
    const { sample } = await readDecoded({}, (regs, at) => regs.set((at.modules[1] ?? 0) + MODEL_LITHIUM_MODULE.cellBlockOffset, 65000));
    expect(sample.cellVoltages[8]).toBe(65);
    expect(PackSample.safeParse(sample).success).toBe(false);
  });

  it("a scale factor outside -10..10 is a decode error, not Infinity", async () => {
    const built = buildSunSpecMap();
    built.registers.set(built.at.battery + MODEL_BATTERY.points.V_SF.offset, 300);
    const reader = new SunSpecReader(await serve(built.registers), 1);
    const snap = await reader.read();
    expect(() => decodePackSample(snap.battery, snap.modules, snap.ts, 1)).toThrow(/scale factor V_SF = 300/);
  });

  it("notices a changed map on the next read and discovers again", async () => {
    const built = buildSunSpecMap();
    const reader = new SunSpecReader(await serve(built.registers), 1);
    await reader.read();
    built.registers.set(built.at.modules[1] ?? 0, 803);
    await expect(reader.read()).rejects.toThrow(/no longer at/);
    expect(reader.map).toBeUndefined();
  });
});
