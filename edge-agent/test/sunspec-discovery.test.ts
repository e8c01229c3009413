import { EVT1_BITS, PackSample } from "@bms/shared";
import { MODEL_BATTERY, MODEL_COMMON, MODEL_LITHIUM_MODULE } from "@bms/shared/sunspec/models";
import { encodeText, warrantyDaysToDate } from "@bms/shared/sunspec/register-codec";
import { afterEach, describe, expect, it } from "vitest";
import { decodePackMeta, decodePackSample } from "../src/sunspec/sunspec-decoder";
import { discoverSunSpec } from "../src/sunspec/sunspec-discovery";
import { SunSpecDecodeError, SunSpecDiscoveryError } from "../src/sunspec/sunspec-errors";
import { SunSpecReader } from "../src/sunspec/sunspec-reader";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { expectSampleOf, SUNSPEC_RESOLUTION } from "./fixtures/expect-sample";
import { type RegisterServer, startRegisterServer } from "./fixtures/register-server";
import { pointAddress, type SunSpecDevice, type SunSpecDeviceOptions, setPoint, sunspecDevice } from "./fixtures/sunspec-device";

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

async function readDecoded(options: SunSpecDeviceOptions = {}, tweak?: (device: SunSpecDevice) => void) {
  const device = sunspecDevice(options);
  tweak?.(device);
  const reader = new SunSpecReader(await serve(device.registers), 1);
  const snap = await reader.read(true);
  return { snap, sample: decodePackSample(snap.battery, snap.modules, snap.ts, 7), reader, device };
}

describe("SunSpec discovery", () => {
  it("finds the marker at 40000 and walks the chain to the end model", async () => {
    const { registers, layout } = sunspecDevice();
    const map = await discoverSunSpec(await serve(registers), 1);
    expect(map.baseAddress).toBe(40000);
    expect(map.models.map((m) => m.id)).toEqual([1, 802, 805, 805]);
    expect(map.battery.address).toBe(layout.battery);
    expect(map.modules.map((m) => m.address)).toEqual(layout.modules);
  });

  it.each([0, 50000])("finds the marker at base %i when 40000 has none", async (base) => {
    const map = await discoverSunSpec(await serve(sunspecDevice({ base }).registers), 1);
    expect(map.baseAddress).toBe(base);
    expect(map.modules).toHaveLength(2);
  });

  it("rejects a device without a SunS marker", async () => {
    const regs = new Map<number, number>();
    for (let a = 40000; a < 40010; a++) regs.set(a, 0x1234);
    await expect(discoverSunSpec(await serve(regs), 1)).rejects.toThrow(/no SunSpec marker/);
  });

  it("rejects a battery without any 805 module (no cell voltages)", async () => {
    const { registers, layout } = sunspecDevice();
    registers.set(layout.module, 0xffff).set(layout.module + 1, 0); // the chain ends before the first 805
    await expect(discoverSunSpec(await serve(registers), 1)).rejects.toThrow(/805/);
  });

  it("rejects a device without model 802", async () => {
    const { registers, layout } = sunspecDevice();
    registers.set(layout.battery, 64000); // an unknown model ID of the same length
    await expect(discoverSunSpec(await serve(registers), 1)).rejects.toBeInstanceOf(SunSpecDiscoveryError);
  });

  it("stops walking a chain that never ends (hostile device), after a bounded number of reads", async () => {
    const t = await serve(sunspecDevice().registers);
    // Every header read past the marker answers "model 802, L = 0": next = address + 2, forever.
    server!.override = (_unit, address, count) => (count === 2 && address > 40001 ? { kind: "words", words: [802, 0] } : undefined);
    await expect(discoverSunSpec(t, 1, { maxModels: 50 })).rejects.toThrow(/more than 50 models/);
    expect(server!.requests.get(1)).toBeLessThan(60);
  });

  it("rejects a model whose length runs past register 65535", async () => {
    const { registers, layout } = sunspecDevice({ base: 50000 });
    registers.set(layout.common + 1, 30000);
    await expect(discoverSunSpec(await serve(registers), 1)).rejects.toThrow(/past register 65535/);
  });

  it("accepts a chain that runs off the end of the map without an end model", async () => {
    const map = await discoverSunSpec(await serve(sunspecDevice({ omitEnd: true }).registers), 1);
    expect(map.models.map((m) => m.id)).toEqual([1, 802, 805, 805]);
  });

  it("rejects a module whose L contradicts its NCell", async () => {
    const device = sunspecDevice();
    const t = await serve(device.registers);
    setPoint(device, device.layout.module, MODEL_LITHIUM_MODULE, "NCell", 40);
    const reader = new SunSpecReader(t, 1);
    const snap = await reader.read();
    expect(() => decodePackSample(snap.battery, snap.modules, snap.ts, 1)).toThrow(SunSpecDecodeError);
  });
});

describe("SunSpec decoding", () => {
  it("decodes 802 and every 805 into a valid pack sample equal to the simulated pack's, applying scale factors", async () => {
    const { sample, device } = await readDecoded({ topology: { strings: 1, modulesPerString: 2, cellsPerModule: 8 } });
    const parsed = PackSample.parse(sample);
    expect(parsed).toMatchObject({ v: 1, seq: 7 });
    expect(Math.abs(parsed.ts - Date.now())).toBeLessThan(60_000);
    expectSampleOf(parsed, device.snapshot, SUNSPEC_RESOLUTION);
  });

  it("applies each point's scale factor as served: alarms, current and a coarser voltage factor", async () => {
    const alarms = (1 << EVT1_BITS.OVER_TEMP_WARNING) | (1 << EVT1_BITS.UNDER_SOC_MIN_ALARM);
    const { sample } = await readDecoded({}, (device) => {
      const b = device.layout.battery;
      setPoint(device, b, MODEL_BATTERY, "Evt1", alarms);
      setPoint(device, b, MODEL_BATTERY, "A_SF", -1);
      setPoint(device, b, MODEL_BATTERY, "A", 234);
      setPoint(device, b, MODEL_BATTERY, "V_SF", -1);
      setPoint(device, b, MODEL_BATTERY, "V", 528);
    });
    expect(sample).toMatchObject({ current: 23.4, packVoltage: 52.8, bmsAlarms: ["OVER_TEMP_WARNING", "UNDER_SOC_MIN_ALARM"] });
  });

  it("decodes the pack identity from models 1, 802 and 805", async () => {
    const { snap, device } = await readDecoded({}, (d) => {
      encodeText("Volt & Co", MODEL_COMMON.points.Mn.size).forEach((word, i) => {
        d.registers.set(pointAddress(d.layout.common, MODEL_COMMON, "Mn") + i, word);
      });
      setPoint(d, d.layout.battery, MODEL_BATTERY, "WarrDt", 9132);
    });
    const meta = decodePackMeta({ ...snap, chemistry: "LFP" });
    expect(meta).toMatchObject({
      manufacturer: "Volt & Co",
      model: device.pack.identity.model,
      serial: device.pack.identity.serial,
      bmsFirmware: device.pack.identity.firmware,
      chemistry: "LFP",
      cellCount: 16,
      ratedCapacity: device.snapshot.ratings.capacityAh,
      warrantyEnd: warrantyDaysToDate(9132),
    });
    expect(meta.warrantyEnd).toBe("2025-01-01");
    expect(decodePackMeta({ ...snap, warrantyEnd: "2031-05-06" }).warrantyEnd).toBe("2031-05-06");
    expect(decodePackMeta(snap).chemistry).toBe("other");
  });

  it("turns not-implemented sentinels into absent fields", async () => {
    const { sample } = await readDecoded({}, (device) => {
      const b = device.layout.battery;
      for (const name of ["SoH", "AChaMax", "Evt1", "NCyc"]) setPoint(device, b, MODEL_BATTERY, name, null);
      // One temperature sensor not fitted.
      setPoint(device, device.layout.module, MODEL_LITHIUM_MODULE, "CellTmp", null, 1);
    });
    const parsed = PackSample.parse(sample);
    expect(parsed).not.toHaveProperty("soh");
    expect(parsed).not.toHaveProperty("chargeCurrentLimit");
    expect(parsed).not.toHaveProperty("bmsAlarms");
    expect(parsed).not.toHaveProperty("cycleCount");
    expect(parsed.dischargeCurrentLimit).toBeGreaterThan(0);
    expect(parsed.cellVoltages).toHaveLength(16);
    expect(parsed.cellTemperatures).toHaveLength(15);
  });

  it("a cell without a voltage is a decode error naming the cell (the cells after it would shift)", async () => {
    const device = sunspecDevice();
    const reader = new SunSpecReader(await serve(device.registers), 1);
    const snap = await reader.read();
    expect(() => decodePackSample(snap.battery, snap.modules, snap.ts, 1)).not.toThrow();
    setPoint(device, device.layout.modules[0] ?? 0, MODEL_LITHIUM_MODULE, "CellV", null, 2);
    const broken = await reader.read();
    expect(() => decodePackSample(broken.battery, broken.modules, broken.ts, 1)).toThrow(/model 805 cell 3 has no voltage/);
  });

  it("a missing required value (pack voltage) fails validation instead of publishing nonsense", async () => {
    const { sample } = await readDecoded({}, (device) => setPoint(device, device.layout.battery, MODEL_BATTERY, "V", null));
    expect(sample).not.toHaveProperty("packVoltage");
    expect(PackSample.safeParse(sample).success).toBe(false);
  });

  it("an implausible value (65 V cell) decodes but fails validation", async () => {
    const { sample } = await readDecoded({}, (device) => setPoint(device, device.layout.modules[1] ?? 0, MODEL_LITHIUM_MODULE, "CellV", 65000, 0));
    expect(sample.cellVoltages[8]).toBe(65);
    expect(PackSample.safeParse(sample).success).toBe(false);
  });

  it("a scale factor outside -10..10 is a decode error, not Infinity", async () => {
    const { registers, layout } = sunspecDevice();
    registers.set(pointAddress(layout.battery, MODEL_BATTERY, "V_SF"), 300);
    const reader = new SunSpecReader(await serve(registers), 1);
    const snap = await reader.read();
    expect(() => decodePackSample(snap.battery, snap.modules, snap.ts, 1)).toThrow(/scale factor V_SF = 300/);
  });

  it("a model whose L does not fit its definition is a decode error", async () => {
    const { registers, layout } = sunspecDevice();
    const reader = new SunSpecReader(await serve(registers), 1);
    const snap = await reader.read();
    const module = [...(snap.modules[0] ?? [])];
    module[1] = 43; // 42 + 4 × NCell never makes 43
    expect(() => decodePackSample(snap.battery, [module], snap.ts, 1)).toThrow(SunSpecDecodeError);
    expect(layout.modules).toHaveLength(2);
  });

  it("notices a changed map on the next read and discovers again", async () => {
    const { registers, layout } = sunspecDevice();
    const reader = new SunSpecReader(await serve(registers), 1);
    await reader.read();
    registers.set(layout.modules[1] ?? 0, 803);
    await expect(reader.read()).rejects.toThrow(/no longer at/);
    expect(reader.map).toBeUndefined();
  });
});
