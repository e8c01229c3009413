import { EVT1_BITS } from "@bms/shared";
import { MODEL_LITHIUM_MODULE, MODEL_LITHIUM_STRING, modelLength } from "@bms/shared/sunspec/models";
import { encodeRaw } from "@bms/shared/sunspec/register-codec";
import { encodePackRegisters, sunspecLayoutFor } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { SunSpecDeviceReader } from "../src/readers/sunspec-device-reader";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { startRegisterServer } from "./fixtures/register-server";
import { quietRunner } from "./fixtures/simulated-bus";

const cleanups = cleanupAfterEach();

/** A simulated bank of 2 strings × 2 modules × 4 cells as registers, changed by `tamper` before it is served. */
async function bank(tamper: (regs: number[], at: ReturnType<typeof sunspecLayoutFor>) => void = () => undefined) {
  const runner = quietRunner([{ topology: { strings: 2, modulesPerString: 2, cellsPerModule: 4 } }]);
  const [pack] = runner.packs;
  if (!pack) throw new Error("a pack");
  const snapshot = pack.snapshot();
  const layout = sunspecLayoutFor(snapshot);
  const regs = encodePackRegisters(layout, pack.identity, snapshot);
  tamper(regs, layout);
  const registers = new Map(regs.map((w, i) => [layout.base + i, w]));
  const server = await startRegisterServer({ units: new Map([[1, registers]]) });
  const transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 });
  cleanups.push(
    () => transport.close(),
    () => server.close(),
  );
  return { reader: new SunSpecDeviceReader(transport, 1), snapshot, layout };
}

describe("SunSpec banks: 803, 804 and several 805", () => {
  it("numbers cells string by string, module by module, whatever the order of the 805 models in the chain", async () => {
    const { reader, snapshot } = await bank((regs, at) => {
      // The chain's first and last modules swap their places in the bank (and their cells with them).
      const first = (at.modules[0] ?? 0) - at.base;
      const last = (at.modules[3] ?? 0) - at.base;
      const length = 2 + modelLength(MODEL_LITHIUM_MODULE, 4);
      const a = regs.slice(first, first + length);
      const b = regs.slice(last, last + length);
      regs.splice(first, length, ...b);
      regs.splice(last, length, ...a);
    });
    const { sample, identity } = await reader.read();
    const expected = snapshot.cellVoltages.map((v) => Math.round(v * 1000) / 1000);
    expect(sample.cellVoltages).toEqual(expected);
    expect(identity?.cellCount).toBe(16);
  });

  it("reports the events of every string: an 804 Evt1 bit shows in the sample's alarms", async () => {
    const { reader } = await bank((regs, at) => {
      const string2 = (at.strings[1] ?? 0) - at.base;
      const evt1 = MODEL_LITHIUM_STRING.points.Evt1;
      regs.splice(string2 + evt1.offset, evt1.size, ...encodeRaw(evt1, 1 << EVT1_BITS.TEMPERATURE_IMBALANCE_WARNING));
    });
    expect((await reader.read()).sample.bmsAlarms).toEqual(["TEMPERATURE_IMBALANCE_WARNING"]);
  });

  it("ignores a bit an 804 reserves, though 802 names it (bit 24: CURRENT_IMBALANCE_WARNING only in 802)", async () => {
    const { reader } = await bank((regs, at) => {
      const string1 = (at.strings[0] ?? 0) - at.base;
      const evt1 = MODEL_LITHIUM_STRING.points.Evt1;
      regs.splice(string1 + evt1.offset, evt1.size, ...encodeRaw(evt1, 1 << 24));
    });
    expect((await reader.read()).sample.bmsAlarms).toEqual([]);
  });

  it("refuses a bank whose strings count other modules than the chain holds", async () => {
    const { reader } = await bank((regs, at) => {
      regs[(at.strings[0] ?? 0) - at.base + MODEL_LITHIUM_STRING.points.NMod.offset] = 3;
    });
    await expect(reader.read()).rejects.toThrow(/the 804 strings count 5 modules but the chain has 4 models 805/);
  });

  it("refuses two modules that claim the same place", async () => {
    const { reader } = await bank((regs, at) => {
      const m = (at.modules[1] ?? 0) - at.base;
      regs[m + MODEL_LITHIUM_MODULE.points.StrIdx.offset] = 1;
      regs[m + MODEL_LITHIUM_MODULE.points.ModIdx.offset] = 1;
    });
    await expect(reader.read()).rejects.toThrow(/claim the same string and module index/);
  });
});
