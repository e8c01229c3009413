import { describe, expect, it } from "vitest";
import { EVT1_BITS } from "../src/bms-alarms";
import { encodeModel, encodeSunSpecMap } from "../src/sunspec/model-encoder";
import { ModelReader } from "../src/sunspec/model-reader";
import { SUNSPEC_MODEL_TABLE } from "../src/sunspec/model-table";
import {
  BATTERY_STATE,
  CHARGE_STATUS,
  MODEL_BATTERY,
  MODEL_COMMON,
  MODEL_LITHIUM_BANK,
  MODEL_LITHIUM_MODULE,
  MODEL_LITHIUM_STRING,
  type ModelDef,
  modelLength,
  SET_INVERTER_STATE,
  SET_OPERATION,
  SET_STRING_CONNECT,
  SET_STRING_ENABLE,
} from "../src/sunspec/models";
import { decodeWrite, encodeWrite } from "../src/sunspec/point-write";
import {
  applyScale,
  chooseScaleFactor,
  decodeRaw,
  decodeText,
  encodeRaw,
  encodeText,
  namedBits,
  notImplementedWords,
  SunSpecValueError,
  scaledRaw,
} from "../src/sunspec/register-codec";

const p = MODEL_BATTERY.points;

describe("the SunSpec model table (generated from sunspec/models)", () => {
  it("has the lengths of the definitions: 1 L 66, 802 L 62, 803 26 + 32/string, 804 46 + 16/module, 805 42 + 4/cell", () => {
    expect(modelLength(MODEL_COMMON)).toBe(66);
    expect(modelLength(MODEL_BATTERY)).toBe(62);
    expect(modelLength(MODEL_LITHIUM_BANK, 2)).toBe(26 + 32 * 2);
    expect(modelLength(MODEL_LITHIUM_STRING, 3)).toBe(46 + 16 * 3);
    expect(modelLength(MODEL_LITHIUM_MODULE, 16)).toBe(42 + 4 * 16);
    expect([MODEL_LITHIUM_BANK.group.offset, MODEL_LITHIUM_STRING.group.offset, MODEL_LITHIUM_MODULE.group.offset]).toEqual([28, 48, 44]);
  });

  it.each(Object.values(SUNSPEC_MODEL_TABLE).map((m) => [m.id, m] as const))(
    "model %i: points are contiguous and every scale factor they name is a sunssf",
    (_, model: ModelDef) => {
      for (const block of [model.points, model.group?.points ?? {}]) {
        let offset = 0;
        for (const [name, def] of Object.entries(block)) {
          expect(def.offset, name).toBe(offset);
          offset += def.size;
          if (def.sf) expect(model.points[def.sf]?.type ?? model.group?.points[def.sf]?.type, `${name} → ${def.sf}`).toBe("sunssf");
        }
        if (block === model.points) expect(offset).toBe(2 + model.length);
        else if (model.group) expect(offset).toBe(model.group.size);
      }
    },
  );

  it("records units, mandatory and access flags and symbols of the points the map serves and takes", () => {
    expect(p.AlmRst).toMatchObject({ offset: 20, type: "uint16", mandatory: true, access: "RW" });
    expect(p.SetOp).toMatchObject({ offset: 50, type: "enum16", mandatory: true, access: "RW", symbols: SET_OPERATION });
    expect(p.SetInvState).toMatchObject({ offset: 51, mandatory: true, access: "RW", symbols: SET_INVERTER_STATE });
    expect(p.StateVnd).toMatchObject({ offset: 23, type: "enum16", mandatory: false, access: "R" });
    expect(p.ReqW).toMatchObject({ offset: 49, type: "int16", sf: "W_SF", units: "W" });
    expect(p.VMax).toMatchObject({ offset: 35, type: "uint16", sf: "V_SF", units: "V", mandatory: false });
    expect(MODEL_COMMON.points.Mn).toMatchObject({ type: "string", size: 16, static: true, mandatory: true });
    expect(MODEL_LITHIUM_BANK.group.points.StrSetEna).toMatchObject({ access: "RW", symbols: SET_STRING_ENABLE });
    expect(MODEL_LITHIUM_STRING.points.SetCon).toMatchObject({ offset: 37, access: "RW", symbols: SET_STRING_CONNECT });
    expect(MODEL_LITHIUM_STRING.points.SetEna).not.toHaveProperty("symbols"); // the 804 definition names none
    expect(MODEL_LITHIUM_MODULE.group.points.CellSt).toMatchObject({ offset: 2, size: 2, type: "bitfield32", symbols: { CELL_IS_BALANCING: 0 } });
  });

  it("the alarm vocabulary is 802 Evt1's symbols; 803/804 reserve bit 24, which only 802 names", () => {
    const named = Object.fromEntries(Object.entries(p.Evt1.symbols).filter(([name]) => !name.startsWith("RESERVED")));
    expect(named).toEqual(EVT1_BITS);
    const bit24 = 1 << EVT1_BITS.CURRENT_IMBALANCE_WARNING;
    const overTemp = 1 << EVT1_BITS.OVER_TEMP_ALARM;
    expect(namedBits(p.Evt1, bit24 | overTemp)).toBe(bit24 | overTemp);
    expect(namedBits(MODEL_LITHIUM_STRING.points.Evt1, bit24 | overTemp)).toBe(overTemp);
    expect(namedBits(MODEL_LITHIUM_BANK.group.points.StrEvt1, (1 << 31) | overTemp)).toBe(overTemp);
  });

  it("the named constants are the definition's symbols", () => {
    expect(p.ChaSt.symbols).toEqual(CHARGE_STATUS);
    const state = Object.fromEntries(Object.entries(p.State.symbols).map(([name, value]) => [name.replace(" ", "_"), value]));
    expect(state).toEqual(BATTERY_STATE);
  });
});

describe("SunSpec point values", () => {
  it("has one 'not implemented' value per type", () => {
    expect(notImplementedWords(p.A)).toEqual([0x8000]);
    expect(notImplementedWords(p.V_SF)).toEqual([0x8000]);
    expect(notImplementedWords(p.SoC)).toEqual([0xffff]);
    expect(notImplementedWords(p.ChaSt)).toEqual([0xffff]);
    expect(notImplementedWords(p.NCyc)).toEqual([0xffff, 0xffff]);
    expect(notImplementedWords(p.Evt1)).toEqual([0xffff, 0xffff]);
    expect(notImplementedWords(MODEL_COMMON.points.Pad)).toEqual([0x8000]);
    expect(notImplementedWords(MODEL_COMMON.points.SN)).toEqual(new Array(16).fill(0));
    expect(notImplementedWords({ offset: 0, type: "acc32", size: 2, mandatory: false, access: "R" })).toEqual([0, 0]);
    for (const def of [p.A, p.V_SF, p.SoC, p.ChaSt, p.NCyc, p.Evt1]) expect(decodeRaw(def, notImplementedWords(def))).toBeUndefined();
  });

  it("encodes and decodes signed and 32-bit values, high word first", () => {
    expect(encodeRaw(p.A, -125)).toEqual([0xff83]);
    expect(decodeRaw(p.A, [0xff83])).toBe(-125);
    expect(encodeRaw(p.NCyc, 70_000)).toEqual([1, 70_000 - 65_536]);
    expect(decodeRaw(p.NCyc, [1, 4464])).toBe(70_000);
    expect(encodeRaw(p.V, null)).toEqual([0xffff]);
  });

  it("refuses what a point cannot hold: its own sentinel, out of range, an undefined symbol or bit, a scale factor past ±10", () => {
    expect(() => encodeRaw(p.SoC, 0xffff)).toThrow(SunSpecValueError);
    expect(() => encodeRaw(p.A, -0x8000)).toThrow(/outside int16/);
    expect(() => encodeRaw(p.V, -1)).toThrow(/outside uint16/);
    expect(() => encodeRaw(p.V, 1.5)).toThrow(SunSpecValueError);
    expect(() => encodeRaw(p.SetOp, 3)).toThrow(/not one of 1 CONNECT, 2 DISCONNECT/);
    expect(() => encodeRaw(p.Evt1, 1 << 30)).toThrow(/bit 30 is not defined/);
    expect(() => encodeRaw(p.V_SF, 11)).toThrow(/-10..10/);
    expect(() => encodeRaw(MODEL_COMMON.points.SN, 1)).toThrow(/text/);
  });

  it("writes text NUL padded and cut to size, and reads it back to the first NUL", () => {
    expect(encodeText("AB", 2)).toEqual([0x4142, 0]);
    expect(encodeText("ABCDE", 2)).toEqual([0x4142, 0x4344]);
    expect(decodeText([0x4142, 0x4300, 0x4444])).toBe("ABC");
  });

  it("scales to the nearest raw value and back without float noise", () => {
    expect(scaledRaw(58.4, -2)).toBe(5840);
    expect(scaledRaw(200_704, 1)).toBe(20_070);
    expect(scaledRaw(-0.04, -1)).toBe(0); // never -0
    expect(applyScale(5840, -2)).toBe(58.4);
    expect(applyScale(3, -1)).toBe(0.3);
  });

  it("chooses the finest scale factor at which every value fits", () => {
    expect(chooseScaleFactor(-2, [{ def: p.V, value: 58.4 }])).toBe(-2);
    expect(chooseScaleFactor(-2, [{ def: p.V, value: 817.6 }])).toBe(-1);
    expect(chooseScaleFactor(-1, [{ def: p.A, value: -4000 }])).toBe(0);
    expect(chooseScaleFactor(0, [{ def: p.WHRtg, value: 200_704 }])).toBe(1);
    expect(() => chooseScaleFactor(0, [{ def: p.V, value: 1e20 }])).toThrow(SunSpecValueError);
  });
});

describe("model blocks", () => {
  const battery = () =>
    encodeModel(MODEL_BATTERY, {
      points: { V: 817.6, VMax: 876, A: -12.5, SoC: 55.5, SetOp: 1, SetInvState: 3 },
      scale: { V_SF: { preferred: -2 }, A_SF: { preferred: -1 }, SoC_SF: { preferred: -1 } },
    });

  it("encodes a block from the table: ID, L, values with chosen scale factors, the rest not implemented", () => {
    const regs = battery();
    expect(regs).toHaveLength(2 + 62);
    const r = new ModelReader(MODEL_BATTERY, regs);
    expect([r.raw("ID"), r.length, r.scaleFactor("V_SF"), r.scaled("V"), r.scaled("VMax"), r.scaled("A"), r.scaled("SoC")]).toEqual([
      802, 62, -1, 817.6, 876, -12.5, 55.5,
    ]);
    expect([r.raw("SetOp"), r.raw("ReqW"), r.raw("StateVnd"), r.scaleFactor("W_SF")]).toEqual([1, undefined, undefined, undefined]);
    expect(r.scaleFactor("AHRtg_SF")).toBe(0); // mandatory: served even with nothing to scale
  });

  it("encodes group instances and pads, and a whole map from the SunS marker to the end model", () => {
    const bank = encodeModel(MODEL_LITHIUM_BANK, { points: { NStr: 2 }, groups: [{ StrA: 12.5 }, { StrA: -3 }], scale: { A_SF: { preferred: -1 } } });
    const r = new ModelReader(MODEL_LITHIUM_BANK, bank);
    expect([r.length, r.instances(), r.scaled("StrA", 0), r.scaled("StrA", 1)]).toEqual([90, 2, 12.5, -3]);
    expect(r.words("Pad1", 1)).toEqual([0x8000]);
    const map = encodeSunSpecMap([bank]);
    expect(map.slice(0, 3)).toEqual([0x5375, 0x6e53, 803]);
    expect(map.slice(-2)).toEqual([0xffff, 0]);
  });

  it("reads a repeating point of several instances as the point reader does each one, not-implemented ones included", () => {
    const module = encodeModel(MODEL_LITHIUM_MODULE, {
      points: { NCell: 4 },
      groups: [{ CellV: 3.301, CellTmp: 25.5 }, { CellV: 3.299 }, { CellV: 3.3, CellTmp: -4 }, {}],
      scale: { CellV_SF: { preferred: -3 }, Tmp_SF: { preferred: -1 } },
    });
    const r = new ModelReader(MODEL_LITHIUM_MODULE, module);
    expect(r.scaledInstances("CellV", 4)).toEqual([0, 1, 2, 3].map((i) => r.scaled("CellV", i)));
    expect(r.scaledInstances("CellV", 4)).toEqual([3.301, 3.299, 3.3, undefined]);
    expect(r.scaledInstances("CellTmp", 4)).toEqual([25.5, undefined, -4, undefined]);
    expect(r.scaledInstances("CellTmp", 0)).toEqual([]);
    expect(() => r.scaledInstances("CellV", r.instances() + 1)).toThrow(/CellV\[4\] at offset \d+ is beyond the model/);
  });

  it("refuses an image with a point the model lacks, or group instances in a model without a group", () => {
    expect(() => encodeModel(MODEL_BATTERY, { points: { Bogus: 1 } as never })).toThrow(/no point Bogus/);
    expect(() => encodeModel(MODEL_BATTERY, { points: {}, groups: [{}] as never })).toThrow(/no repeating group/);
  });

  it("reads through the caller's error: a wrong model, a point beyond L, a scale factor past ±10", () => {
    const fail = (message: string) => new TypeError(`decode: ${message}`);
    expect(() => new ModelReader(MODEL_LITHIUM_MODULE, battery(), fail)).toThrow(/decode: expected model 805, found ID 802/);
    const short = new ModelReader(MODEL_BATTERY, battery().slice(0, 40), fail);
    expect(() => short.raw("A")).toThrow(/decode: .*A at offset 44 is beyond the model/);
    const hostile = battery();
    hostile[p.V_SF.offset] = 300;
    expect(() => new ModelReader(MODEL_BATTERY, hostile, fail).scaled("V")).toThrow(/decode: model 802: scale factor V_SF = 300/);
    const odd = battery();
    odd[1] = 61;
    expect(() => new ModelReader(MODEL_BATTERY, odd, fail).instances()).toThrow(/decode: model 802 has L = 61/);
  });
});

describe("point writes", () => {
  it("decodes a device-side write of whole read-write points, with group instances", () => {
    expect(decodeWrite(MODEL_BATTERY, 0, p.SetOp.offset, [2, 3])).toEqual({
      points: [
        { name: "SetOp", def: p.SetOp, raw: 2 },
        { name: "SetInvState", def: p.SetInvState, raw: 3 },
      ],
    });
    const at = MODEL_LITHIUM_BANK.group.offset + 32 + MODEL_LITHIUM_BANK.group.points.StrSetEna.offset;
    expect(decodeWrite(MODEL_LITHIUM_BANK, 2, at, [2])).toMatchObject({ points: [{ name: "StrSetEna", index: 1, raw: 2 }] });
  });

  it.each([
    ["a read-only point", MODEL_BATTERY, 0, p.SoC.offset, [1], "address", /read-only/],
    ["a model's ID", MODEL_BATTERY, 0, 0, [802], "address", /read-only/],
    ["half a 32-bit point", MODEL_BATTERY, 0, p.WarrDt.offset + 1, [1], "address", /part of WarrDt/],
    ["a pad", MODEL_LITHIUM_STRING, 1, MODEL_LITHIUM_STRING.points.Pad1.offset, [0x8000], "address", /read-only/],
    ["past the last string", MODEL_LITHIUM_BANK, 1, MODEL_LITHIUM_BANK.group.offset + 32, [1], "address", /no point at offset 60/],
    ["past the model's end", MODEL_BATTERY, 0, 64, [1], "address", /no point/],
    ["a value outside the symbols", MODEL_BATTERY, 0, p.SetOp.offset, [7], "value", /not one of/],
    ["'not implemented' as a value", MODEL_BATTERY, 0, p.SetOp.offset, [0xffff], "value", /not implemented/],
    ["a bad value after a good one", MODEL_BATTERY, 0, p.SetOp.offset, [1, 0], "value", /SetInvState/],
  ] as const)("refuses %s", (_, model, instances, offset, words, kind, message) => {
    const result = decodeWrite(model, instances, offset, words);
    expect(result).toMatchObject({ kind });
    expect("message" in result ? result.message : "").toMatch(message);
  });

  it("encodes a controller's write with the scale factor the device serves", () => {
    const block = encodeModel(MODEL_BATTERY, { points: { SoC: 50, SoC_SF: -1 } });
    expect(encodeWrite(MODEL_BATTERY, block, "SocRsvMax", 95.5)).toEqual({ offset: p.SocRsvMax.offset, words: [955] });
    expect(encodeWrite(MODEL_BATTERY, block, "AlmRst", 1)).toEqual({ offset: 20, words: [1] });
    expect(encodeWrite(MODEL_BATTERY, block, "SetOp", SET_OPERATION.DISCONNECT)).toEqual({ offset: 50, words: [2] });
    const bank = encodeModel(MODEL_LITHIUM_BANK, { points: { NStr: 2 }, groups: [{}, {}] });
    expect(encodeWrite(MODEL_LITHIUM_BANK, bank, "StrSetCon", 2, 1)).toEqual({ offset: 28 + 32 + 29, words: [2] });
  });

  it("refuses a controller's write the device could not take", () => {
    const block = encodeModel(MODEL_BATTERY, { points: { SoC: 50, SoC_SF: -1 } });
    expect(() => encodeWrite(MODEL_BATTERY, block, "SoC", 10)).toThrow(/read-only/);
    expect(() => encodeWrite(MODEL_BATTERY, block, "SetOp", 9)).toThrow(/not one of/);
    expect(() => encodeWrite(MODEL_BATTERY, block, "SocRsvMax", 7000)).toThrow(/outside uint16/);
    const noSf = encodeModel(MODEL_BATTERY, { points: { SoC_SF: null } });
    expect(() => encodeWrite(MODEL_BATTERY, noSf, "SocRsvMax", 90)).toThrow(/does not implement its scale factor SoC_SF/);
  });
});
