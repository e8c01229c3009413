import { createServer } from "node:net";
import { ConfigError, EVT1_BITS, PortInUseError } from "@bms/shared";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { MODEL_BATTERY, MODEL_COMMON, MODEL_LITHIUM_MODULE, SUNSPEC_END_MODEL_ID } from "@bms/shared/sunspec/models";
import { readUint32 } from "@bms/shared/sunspec/register-codec";
import type ModbusRTU from "modbus-serial";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/free-port";
import { InvalidFaultError, type RunningSimulator, startSimulator, UnknownPackError } from "../src/index";
import { closeClient, connectClient, exceptionCodeOf, readRegisters } from "./modbus-test-client";

const BASE = 40000;

function regsState(model802: readonly number[]): number | undefined {
  return model802[MODEL_BATTERY.points.State.offset];
}

interface ModelHeader {
  id: number;
  length: number;
  address: number;
}

/** Walks the model chain the way a SunSpec client does: marker, then ID/L headers to 0xFFFF. */
async function walkModels(client: ModbusRTU, unitId: number): Promise<ModelHeader[]> {
  const models: ModelHeader[] = [];
  let address = BASE + 2;
  for (let i = 0; i < 10; i++) {
    const [id = 0, length = 0] = await readRegisters(client, unitId, address, 2);
    models.push({ id, length, address });
    if (id === SUNSPEC_END_MODEL_ID) break;
    address += 2 + length;
  }
  return models;
}

describe("SunSpec Modbus TCP server", () => {
  let sim: RunningSimulator;
  let client: ModbusRTU;

  beforeAll(async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: 2, seed: 9, timeScale: 20 });
    client = await connectClient(sim.port!);
  });

  afterAll(async () => {
    await closeClient(client);
    await sim.close();
  });

  it("starts on a free port and reports it", () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.host).toBe("127.0.0.1");
    expect(sim.packCount).toBe(2);
  });

  it("has the SunS marker at 40000 and the chain 1 → 802 → 805 → end", async () => {
    expect(await readRegisters(client, 1, BASE, 2)).toEqual([0x5375, 0x6e53]);
    const models = await walkModels(client, 1);
    expect(models.map((m) => [m.id, m.length])).toEqual([
      [1, 66],
      [802, 62],
      [805, 42 + 4 * 16],
      [0xffff, 0],
    ]);
    expect(models.map((m) => m.address)).toEqual([40002, 40070, 40134, 40242]);
  });

  it("names the device in model 1, with a serial unique per pack", async () => {
    const common = async (unitId: number) => new ModelReader(MODEL_COMMON, await readRegisters(client, unitId, 40002, 2 + MODEL_COMMON.length));
    const one = await common(1);
    const two = await common(2);
    expect(one.text("Mn")).toBe("SimBattery");
    expect(one.text("Md")).toBe("SIM-LFP-16S-100");
    expect(one.text("Vr")).toMatch(/^\d+\.\d+\.\d+$/);
    const sn1 = one.text("SN");
    expect(sn1).toMatch(/^SIM/);
    expect(sn1).not.toBe(two.text("SN"));
    expect(one.raw("DA")).toBe(1);
    expect(two.raw("DA")).toBe(2);
  });

  it("publishes model 802 values that decode, with their scale factors, to the pack's true state", async () => {
    const b = new ModelReader(MODEL_BATTERY, await readRegisters(client, 1, 40070, 2 + MODEL_BATTERY.length));
    const truth = sim.snapshot(1);
    expect(["SoC_SF", "V_SF", "CellV_SF", "A_SF", "SoH_SF"].map((name) => b.scaleFactor(name))).toEqual([-1, -2, -3, -1, -1]);
    expect(b.scaled("AHRtg")).toBe(100);
    expect(b.scaled("SoC")).toBeCloseTo(truth.soc, 0);
    expect(b.scaled("SoH")).toBeCloseTo(truth.soh, 0);
    expect(b.scaled("V")).toBeCloseTo(truth.packVoltage, 0);
    expect(b.scaled("CellVMax")).toBeCloseTo(Math.max(...truth.cellVoltages), 1);
    expect(b.scaled("CellVMin")).toBeCloseTo(Math.min(...truth.cellVoltages), 1);
    expect(Math.abs((b.scaled("A") ?? Number.NaN) - truth.current)).toBeLessThan(3);
    expect(b.scaled("AChaMax")).toBe(50);
    expect(b.scaled("ADisChaMax")).toBe(100);
    expect(b.raw("NCyc")).toBe(truth.cycles);
    expect(b.raw("Evt1")).toBe(0);
    expect(b.raw("Typ")).toBe(4);
    expect(b.raw("State")).toBe(3);
    expect([2, 3, 4, 5, 6]).toContain(b.raw("ChaSt"));
    const warrantyDays = b.raw("WarrDt") ?? 0;
    expect(warrantyDays).toBeGreaterThan(365 * 30); // after 2030
    expect(warrantyDays).toBeLessThan(365 * 40);
  });

  it("publishes every cell's voltage and temperature in model 805", async () => {
    const m = new ModelReader(MODEL_LITHIUM_MODULE, await readRegisters(client, 2, 40134, 2 + 42 + 4 * 16));
    const truth = sim.snapshot(2);
    expect(m.raw("NCell")).toBe(16);
    expect(m.instances()).toBe(16);
    expect([m.scaleFactor("CellV_SF"), m.scaleFactor("Tmp_SF")]).toEqual([-3, -1]);
    for (let i = 0; i < 16; i++) {
      expect(m.scaled("CellV", i)).toBeCloseTo(truth.cellVoltages[i] ?? 0, 1);
      expect(m.scaled("CellTmp", i)).toBeCloseTo(truth.cellTemperatures[i] ?? 0, 0);
    }
    const maxCell = m.raw("CellVMaxCell") ?? 0;
    expect(maxCell).toBeGreaterThanOrEqual(1);
    expect(maxCell).toBeLessThanOrEqual(16);
    expect(m.raw("CellV", maxCell - 1)).toBe(m.raw("CellVMax"));
  });

  it("advances in time: the heartbeat counts simulated seconds", async () => {
    const hbAddress = 40070 + MODEL_BATTERY.points.Hb.offset;
    const [first = 0] = await readRegisters(client, 1, hbAddress, 1);
    await waitFor(async () => ((await readRegisters(client, 1, hbAddress, 1))[0] ?? 0) > first + 5, 5000, "heartbeat");
  });

  it("answers function 4 with the same map", async () => {
    client.setID(2);
    const { data } = await client.readInputRegisters(BASE, 4);
    expect(data).toEqual([0x5375, 0x6e53, 1, 66]);
  });

  it("answers a unit ID without a pack with exception 0x0B and keeps serving the others", async () => {
    client.setID(3);
    expect(await exceptionCodeOf(client.readHoldingRegisters(BASE, 2))).toBe(0x0b);
    client.setID(0);
    expect(await exceptionCodeOf(client.readHoldingRegisters(BASE, 2))).toBe(0x0b);
    expect(await readRegisters(client, 2, BASE, 2)).toEqual([0x5375, 0x6e53]);
  });

  it("refuses reads outside the map with 0x02 and oversized counts with 0x03", async () => {
    client.setID(1);
    expect(await exceptionCodeOf(client.readHoldingRegisters(39_999, 2))).toBe(0x02);
    expect(await exceptionCodeOf(client.readHoldingRegisters(40_240, 10))).toBe(0x02);
    expect(await exceptionCodeOf(client.readHoldingRegisters(40_244, 1))).toBe(0x02);
    expect(await exceptionCodeOf(client.readHoldingRegisters(0, 1))).toBe(0x02);
    expect(await exceptionCodeOf(client.readHoldingRegisters(BASE, 126))).toBe(0x03);
    expect(await exceptionCodeOf(client.readHoldingRegisters(BASE, 200))).toBe(0x03);
    expect(await readRegisters(client, 1, 40_242, 2)).toEqual([0xffff, 0]);
  });

  describe("writes (functions 6 and 16), checked against the model table", () => {
    const at = (name: keyof typeof MODEL_BATTERY.points) => 40070 + MODEL_BATTERY.points[name].offset;
    const battery = async (unitId: number) => new ModelReader(MODEL_BATTERY, await readRegisters(client, unitId, 40070, 2 + MODEL_BATTERY.length));

    it("serves the mandatory control points implemented: SetOp CONNECT, SetInvState STARTED, AlmRst 0", async () => {
      const b = await battery(2);
      expect([b.raw("SetOp"), b.raw("SetInvState"), b.raw("AlmRst"), b.raw("CtrlHb")]).toEqual([1, 3, 0, 0]);
    });

    it("keeps SetOp, SetInvState and CtrlHb per pack and reads them back; function 16 sets neighbours at once", async () => {
      client.setID(1);
      await client.writeRegister(at("SetOp"), 2);
      await client.writeRegisters(at("CtrlHb"), [7]);
      await client.writeRegisters(at("SetOp"), [2, 2]); // SetOp DISCONNECT, SetInvState STANDBY
      const one = await battery(1);
      expect([one.raw("SetOp"), one.raw("SetInvState"), one.raw("CtrlHb")]).toEqual([2, 2, 7]);
      const two = await battery(2);
      expect([two.raw("SetOp"), two.raw("SetInvState"), two.raw("CtrlHb")]).toEqual([1, 3, 0]);
      client.setID(1); // reading pack 2 addressed unit 2
      await client.writeRegisters(at("SetOp"), [1, 3]);
      expect((await battery(1)).raw("SetOp")).toBe(1);
    });

    it("refuses values outside a point's symbols or range with 0x03 and applies nothing of that request", async () => {
      client.setID(1);
      expect(await exceptionCodeOf(client.writeRegister(at("SetOp"), 3))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegister(at("SetOp"), 0))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegister(at("SetOp"), 0xffff))).toBe(0x03); // "not implemented" is no command
      expect(await exceptionCodeOf(client.writeRegister(at("SetInvState"), 4))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegister(at("AlmRst"), 7))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegister(at("AlmRst"), 0))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegister(at("CtrlHb"), 0xffff))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegisters(at("SetOp"), [2, 9]))).toBe(0x03);
      expect(await exceptionCodeOf(client.writeRegisters(at("CtrlHb"), [5, 7]))).toBe(0x03); // CtrlHb fine, AlmRst 7 not
      const b = await battery(1);
      expect([b.raw("SetOp"), b.raw("SetInvState"), b.raw("CtrlHb")]).toEqual([1, 3, 7]);
    });

    it("refuses read-only points, registers that are no point, and points this BMS does not implement with 0x02", async () => {
      client.setID(1);
      expect(await exceptionCodeOf(client.writeRegister(at("SoC"), 0))).toBe(0x02);
      expect(await exceptionCodeOf(client.writeRegister(at("V_SF"), 0xfffe))).toBe(0x02);
      expect(await exceptionCodeOf(client.writeRegister(at("ID"), 802))).toBe(0x02);
      expect(await exceptionCodeOf(client.writeRegisters(at("AlmRst"), [1, 4]))).toBe(0x02); // AlmRst + Typ (read-only)
      expect(await exceptionCodeOf(client.writeRegister(at("WarrDt") + 1, 0))).toBe(0x02); // half a uint32
      expect(await exceptionCodeOf(client.writeRegister(40002 + MODEL_COMMON.points.DA.offset, 9))).toBe(0x02); // unit IDs are fixed
      expect(await exceptionCodeOf(client.writeRegister(40002 + MODEL_COMMON.points.Pad.offset, 0x8000))).toBe(0x02);
      expect(await exceptionCodeOf(client.writeRegister(BASE, 1))).toBe(0x02); // the SunS marker
      expect(await exceptionCodeOf(client.writeRegister(40_242, 0xffff))).toBe(0x02); // the end model
      expect(await exceptionCodeOf(client.writeRegister(40_244, 1))).toBe(0x02); // past the map
      expect(await exceptionCodeOf(client.writeRegisters(40_240, [1, 1, 1]))).toBe(0x02); // past 805's end into the end model
      expect(await exceptionCodeOf(client.writeRegisters(at("SetInvState"), [3, 0]))).toBe(0x02); // past SetInvState into a scale factor
      expect((await battery(1)).raw("SetInvState")).toBe(3);
    });

    it("keeps the SOC reserve (SocRsvMax, SoCRsvMin) per pack in engineering units at SoC_SF; refuses more than 100 % with 0x03", async () => {
      client.setID(2);
      const sf = (await battery(2)).scaleFactor("SoC_SF") ?? 0;
      await client.writeRegisters(at("SocRsvMax"), [Math.round(90 / 10 ** sf), Math.round(20.5 / 10 ** sf)]);
      const b = await battery(2);
      expect([b.scaled("SocRsvMax"), b.scaled("SoCRsvMin")]).toEqual([90, 20.5]);
      expect(await exceptionCodeOf(client.writeRegister(at("SoCRsvMin"), Math.round(101 / 10 ** sf)))).toBe(0x03);
      expect((await battery(2)).scaled("SoCRsvMin")).toBe(20.5);
      expect((await battery(1)).scaled("SoCRsvMin")).toBe(10);
      await client.writeRegisters(at("SocRsvMax"), [Math.round(95 / 10 ** sf), Math.round(10 / 10 ** sf)]);
      client.setID(1);
    });

    it("answers a write to a unit ID without a pack with 0x0B", async () => {
      client.setID(3);
      expect(await exceptionCodeOf(client.writeRegister(at("SetOp"), 1))).toBe(0x0b);
      client.setID(1);
    });
  });

  it("shows an injected over-temperature fault in Evt1 of that pack only", async () => {
    const evt1Address = 40070 + MODEL_BATTERY.points.Evt1.offset;
    const evt1 = async (unitId: number) => readUint32(await readRegisters(client, unitId, evt1Address, 2), 0);
    sim.injectFault(1, { kind: "over-temperature", sensor: 4, ratePerSecond: 10, maxC: 70 });
    await waitFor(async () => ((await evt1(1)) & (1 << EVT1_BITS.OVER_TEMP_ALARM)) !== 0, 10_000, "OVER_TEMP_ALARM over Modbus");
    expect(sim.snapshot(1).cellTemperatures[4]).toBeGreaterThanOrEqual(55);
    expect(sim.snapshot(1).alarms).toContain("OVER_TEMP_ALARM");
    const module = await readRegisters(client, 1, 40134, 2 + 42);
    expect(module[MODEL_LITHIUM_MODULE.points.CellTmpMaxCell.offset]).toBe(5);
    expect(await evt1(2)).toBe(0); // the other pack is untouched
    expect(regsState(await readRegisters(client, 1, 40070, 64))).toBe(99); // FAULT
    sim.clearFaults(1);
    expect(sim.snapshot(1).faults).toEqual([]);
  });

  it("latches an alarm after its cause has gone until 1 is written to AlmRst", async () => {
    const evt1Address = 40070 + MODEL_BATTERY.points.Evt1.offset;
    const evt1 = async () => readUint32(await readRegisters(client, 2, evt1Address, 2), 0);
    const alarmBit = 1 << EVT1_BITS.OVER_VOLT_ALARM;
    sim.injectFault(2, { kind: "cell-over-voltage", cell: 7, ratePerSecond: 0.1, maxV: 3.8 });
    await waitFor(async () => ((await evt1()) & alarmBit) !== 0, 10_000, "OVER_VOLT_ALARM over Modbus");
    sim.clearFaults(2); // the cell drops back at once...
    await waitFor(() => Math.max(...sim.snapshot(2).cellVoltages) < 3.5, 5000, "cell voltage back to normal");
    expect((await evt1()) & alarmBit).not.toBe(0); // ...but the alarm stays latched
    client.setID(2);
    await client.writeRegister(40070 + MODEL_BATTERY.points.AlmRst.offset, 1);
    expect(await evt1()).toBe(0);
    expect(sim.snapshot(2).alarms).toEqual([]);
    // The reset is complete: AlmRst reads 0 again.
    expect((await readRegisters(client, 2, 40070 + MODEL_BATTERY.points.AlmRst.offset, 1))[0]).toBe(0);
  });

  it("rejects faults and unit IDs it cannot apply, with typed errors", () => {
    expect(() => sim.injectFault(9, { kind: "over-temperature" })).toThrow(UnknownPackError);
    expect(() => sim.snapshot(0)).toThrow(/unit IDs 1, 2/);
    expect(() => sim.injectFault(2, { kind: "over-temperature", sensor: 40 })).toThrow(InvalidFaultError);
  });
});

describe("startSimulator options", () => {
  it("plays the over-temperature scenario on pack 1 only, and stops its clock on close", async () => {
    const sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: 2, scenario: "over-temperature", timeScale: 100 });
    try {
      await waitFor(() => sim.snapshot(1).alarms.includes("OVER_TEMP_ALARM"), 10_000, "scenario alarm on pack 1");
      expect(sim.snapshot(1).faults).toEqual([{ kind: "over-temperature", sensor: 3, ratePerSecond: 0.5, maxC: 80 }]); // simulators/scenarios/over-temperature.yaml
      expect(sim.snapshot(2).faults).toEqual([]);
      expect(sim.snapshot(2).alarms).toEqual([]);
    } finally {
      await sim.close();
    }
    const stopped = sim.snapshot(1).simulatedSeconds;
    await new Promise((resolve) => setTimeout(resolve, 300)); // three ticks' worth: nothing may move
    expect(sim.snapshot(1).simulatedSeconds).toBe(stopped);
    await sim.close(); // a second close is harmless
  });

  it("fails with PortInUseError naming --port when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const attempt = startSimulator({ host: "127.0.0.1", port });
      await expect(attempt).rejects.toThrow(PortInUseError);
      await expect(attempt).rejects.toThrow(/--port/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("rejects bad options with a ConfigError listing each problem", async () => {
    const attempt = startSimulator({ port: -1, packs: 0, seed: 1.5, timeScale: 0 });
    await expect(attempt).rejects.toThrow(ConfigError);
    await attempt.catch((err: ConfigError) => expect(err.problems).toHaveLength(4));
  });

  it("gives the same site for the same seed and different serials for another seed", async () => {
    const serialOf = async (seed: number) => {
      const sim = await startSimulator({ host: "127.0.0.1", port: 0, seed, cellsPerPack: 8 });
      const client = await connectClient(sim.port!);
      try {
        const common = new ModelReader(MODEL_COMMON, await readRegisters(client, 1, 40002, 68));
        const [, moduleLength] = await readRegisters(client, 1, 40134, 2);
        expect(moduleLength).toBe(42 + 4 * 8);
        return common.text("SN");
      } finally {
        await closeClient(client);
        await sim.close();
      }
    };
    const a = await serialOf(5);
    expect(await serialOf(5)).toBe(a);
    expect(await serialOf(6)).not.toBe(a);
  });
});
