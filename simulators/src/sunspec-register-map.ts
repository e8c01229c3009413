import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import {
  BATTERY_STATE,
  bankModelLength,
  MODEL_BATTERY,
  MODEL_COMMON,
  MODEL_LITHIUM_BANK,
  MODEL_LITHIUM_MODULE,
  MODEL_LITHIUM_STRING,
  moduleModelLength,
  SUNSPEC_END_MODEL_ID,
  SUNSPEC_MARKER,
  stringModelLength,
} from "@bms/shared/sunspec/models";
import { fromInt16, NOT_IMPLEMENTED, writeString, writeUint32 } from "@bms/shared/sunspec/register-codec";
import { PACK_RATINGS, type PackSnapshot } from "./pack-model";
import { type PackTopology, topologyOf } from "./protocols/pack-topology";
import type { PackIdentity } from "./simulated-device";

export type { PackIdentity, PackTopology };

/**
 * Where each model starts (absolute 0-based addresses). One string of one module (the default) is
 * SunS, 1, 802, 805, end; more modules add an 805 each; more than one string adds 803 (bank) after
 * 802 and one 804 per string before the 805s.
 */
export interface SunSpecLayout {
  base: number;
  common: number;
  battery: number;
  /** Model 803, only for more than one string. */
  bank?: number;
  /** Model 804 per string, only for more than one string. */
  strings: number[];
  /** Model 805 per module, string-major. */
  modules: number[];
  /** The first 805 (kept for callers that know one module). */
  module: number;
  end: number;
  /** Registers from `base` through the end model's length register. */
  length: number;
  topology: PackTopology;
}

export function sunspecLayout(cellCount: number, base = SUNSPEC_BASE_ADDRESS, topology?: PackTopology): SunSpecLayout {
  const topo = topology ?? { strings: 1, modulesPerString: 1, cellsPerModule: cellCount };
  if (topo.strings * topo.modulesPerString * topo.cellsPerModule !== cellCount) {
    throw new RangeError(`topology ${topo.strings}×${topo.modulesPerString}×${topo.cellsPerModule} does not hold ${cellCount} cells`);
  }
  const common = base + SUNSPEC_MARKER.length;
  const battery = common + 2 + MODEL_COMMON.length;
  let next = battery + 2 + MODEL_BATTERY.length;
  let bank: number | undefined;
  const strings: number[] = [];
  if (topo.strings > 1) {
    bank = next;
    next += 2 + bankModelLength(topo.strings);
    for (let s = 0; s < topo.strings; s++) {
      strings.push(next);
      next += 2 + stringModelLength(topo.modulesPerString);
    }
  }
  const modules: number[] = [];
  for (let m = 0; m < topo.strings * topo.modulesPerString; m++) {
    modules.push(next);
    next += 2 + moduleModelLength(topo.cellsPerModule);
  }
  const end = next;
  return {
    base,
    common,
    battery,
    ...(bank === undefined ? {} : { bank }),
    strings,
    modules,
    module: modules[0] ?? end,
    end,
    length: end + 2 - base,
    topology: topo,
  };
}

/** The layout a snapshot needs (its topology, or one string of one module). */
export function sunspecLayoutFor(snapshot: PackSnapshot, base = SUNSPEC_BASE_ADDRESS): SunSpecLayout {
  return sunspecLayout(snapshot.cellVoltages.length, base, topologyOf(snapshot));
}

/** Scale factors the simulator publishes (value = raw × 10^SF). */
export const SCALE_FACTORS = {
  AHRtg_SF: 0,
  WHRtg_SF: 0,
  WChaDisChaMax_SF: 0,
  DisChaRte_SF: -1,
  SoC_SF: -1,
  DoD_SF: -1,
  SoH_SF: -1,
  V_SF: -2,
  CellV_SF: -3,
  A_SF: -1,
  AMax_SF: 0,
  W_SF: 0,
  Tmp_SF: -1,
} as const;

const PAD = 0x8000;
/** SunSpec 802 Typ: lithium-ion. */
const TYPE_LITHIUM_ION = 4;

function raw(value: number, sf: number): number {
  return Math.round(value / 10 ** sf);
}

function uint16(value: number, sf: number): number {
  return Math.min(0xfffe, Math.max(0, raw(value, sf)));
}

function int16(value: number, sf: number): number {
  return fromInt16(Math.min(0x7fff, Math.max(-0x7fff, raw(value, sf))));
}

function extremes(values: readonly number[]): { max: number; maxIndex: number; min: number; minIndex: number; avg: number } {
  let maxIndex = 0;
  let minIndex = 0;
  let sum = 0;
  values.forEach((value, i) => {
    if (value > (values[maxIndex] ?? value)) maxIndex = i;
    if (value < (values[minIndex] ?? value)) minIndex = i;
    sum += value;
  });
  return { max: values[maxIndex] ?? 0, maxIndex, min: values[minIndex] ?? 0, minIndex, avg: values.length ? sum / values.length : 0 };
}

/**
 * The pack's registers from `layout.base` on: SunS, model 1, model 802, [803, 804 per string],
 * 805 per module, end model. Index 0 is address `layout.base`. Every word is an integer in 0–0xFFFF.
 */
export function encodePackRegisters(layout: SunSpecLayout, identity: PackIdentity, pack: PackSnapshot): number[] {
  const regs = new Array<number>(layout.length).fill(0);
  regs[0] = SUNSPEC_MARKER[0];
  regs[1] = SUNSPEC_MARKER[1];

  const c = layout.common - layout.base;
  const cp = MODEL_COMMON.points;
  regs[c] = MODEL_COMMON.id;
  regs[c + 1] = MODEL_COMMON.length;
  writeString(regs, c + cp.Mn.offset, cp.Mn.size, identity.manufacturer);
  writeString(regs, c + cp.Md.offset, cp.Md.size, identity.model);
  writeString(regs, c + cp.Opt.offset, cp.Opt.size, "");
  writeString(regs, c + cp.Vr.offset, cp.Vr.size, identity.firmware);
  writeString(regs, c + cp.SN.offset, cp.SN.size, identity.serial);
  regs[c + cp.DA.offset] = identity.unitId;
  regs[c + cp.DA.offset + 1] = PAD;

  const sf = SCALE_FACTORS;
  const cellV = extremes(pack.cellVoltages);
  const nominalV = PACK_RATINGS.nominalCellV * identity.cellCount;
  const maxChargeA = identity.capacityAh * PACK_RATINGS.chargeC;
  const maxDischargeA = identity.capacityAh * PACK_RATINGS.dischargeC;

  const b = layout.battery - layout.base;
  const bp = MODEL_BATTERY.points;
  regs[b] = MODEL_BATTERY.id;
  regs[b + 1] = MODEL_BATTERY.length;
  const battery: [number, number][] = [
    [bp.AHRtg.offset, uint16(identity.capacityAh, sf.AHRtg_SF)],
    [bp.WHRtg.offset, uint16(identity.capacityAh * nominalV, sf.WHRtg_SF)],
    [bp.WChaRteMax.offset, uint16(maxChargeA * nominalV, sf.WChaDisChaMax_SF)],
    [bp.WDisChaRteMax.offset, uint16(maxDischargeA * nominalV, sf.WChaDisChaMax_SF)],
    [bp.DisChaRte.offset, uint16(0.1, sf.DisChaRte_SF)],
    [bp.SoCMax.offset, uint16(100, sf.SoC_SF)],
    [bp.SoCMin.offset, uint16(5, sf.SoC_SF)],
    [bp.SocRsvMax.offset, NOT_IMPLEMENTED.uint16],
    [bp.SoCRsvMin.offset, NOT_IMPLEMENTED.uint16],
    [bp.SoC.offset, uint16(pack.soc, sf.SoC_SF)],
    [bp.DoD.offset, uint16(100 - pack.soc, sf.DoD_SF)],
    [bp.SoH.offset, uint16(pack.soh, sf.SoH_SF)],
    [bp.ChaSt.offset, pack.chargeStatus],
    [bp.LocRemCtl.offset, 0],
    [bp.Hb.offset, Math.floor(pack.simulatedSeconds) & 0xffff],
    [bp.CtrlHb.offset, 0],
    [bp.AlmRst.offset, 0],
    [bp.Typ.offset, TYPE_LITHIUM_ION],
    [bp.State.offset, pack.state],
    [bp.State.offset + 1, PAD],
    [bp.V.offset, uint16(pack.packVoltage, sf.V_SF)],
    [bp.VMax.offset, uint16(PACK_RATINGS.cellVMax * identity.cellCount, sf.V_SF)],
    [bp.VMin.offset, uint16(PACK_RATINGS.cellVMin * identity.cellCount, sf.V_SF)],
    [bp.CellVMax.offset, uint16(cellV.max, sf.CellV_SF)],
    [bp.CellVMaxStr.offset, position(layout.topology, cellV.maxIndex).string],
    [bp.CellVMaxMod.offset, position(layout.topology, cellV.maxIndex).module],
    [bp.CellVMin.offset, uint16(cellV.min, sf.CellV_SF)],
    [bp.CellVMinStr.offset, position(layout.topology, cellV.minIndex).string],
    [bp.CellVMinMod.offset, position(layout.topology, cellV.minIndex).module],
    [bp.CellVAvg.offset, uint16(cellV.avg, sf.CellV_SF)],
    [bp.A.offset, int16(pack.current, sf.A_SF)],
    [bp.AChaMax.offset, uint16(pack.chargeCurrentLimit, sf.AMax_SF)],
    [bp.ADisChaMax.offset, uint16(pack.dischargeCurrentLimit, sf.AMax_SF)],
    [bp.W.offset, int16(pack.current * pack.packVoltage, sf.W_SF)],
    [bp.AHRtg_SF.offset, fromInt16(sf.AHRtg_SF)],
    [bp.WHRtg_SF.offset, fromInt16(sf.WHRtg_SF)],
    [bp.WChaDisChaMax_SF.offset, fromInt16(sf.WChaDisChaMax_SF)],
    [bp.DisChaRte_SF.offset, fromInt16(sf.DisChaRte_SF)],
    [bp.SoC_SF.offset, fromInt16(sf.SoC_SF)],
    [bp.DoD_SF.offset, fromInt16(sf.DoD_SF)],
    [bp.SoH_SF.offset, fromInt16(sf.SoH_SF)],
    [bp.V_SF.offset, fromInt16(sf.V_SF)],
    [bp.CellV_SF.offset, fromInt16(sf.CellV_SF)],
    [bp.A_SF.offset, fromInt16(sf.A_SF)],
    [bp.AMax_SF.offset, fromInt16(sf.AMax_SF)],
    [bp.W_SF.offset, fromInt16(sf.W_SF)],
  ];
  for (const [offset, value] of battery) regs[b + offset] = value;
  // Offsets 48–51 lie between W and the scale factors; this BMS does not implement them.
  for (let offset = bp.W.offset + 1; offset < bp.AHRtg_SF.offset; offset++) regs[b + offset] = NOT_IMPLEMENTED.uint16;
  writeUint32(regs, b + bp.NCyc.offset, pack.cycles);
  writeUint32(regs, b + bp.WarrDt.offset, identity.warrantyDays);
  writeUint32(regs, b + bp.Evt1.offset, pack.evt1);
  writeUint32(regs, b + bp.Evt2.offset, 0);
  writeUint32(regs, b + bp.EvtVnd1.offset, 0);
  writeUint32(regs, b + bp.EvtVnd2.offset, 0);

  if (layout.bank !== undefined) encodeBank(regs, layout.bank - layout.base, layout.topology, pack);
  layout.strings.forEach((address, s) => {
    encodeString(regs, address - layout.base, layout.topology, s, pack);
  });
  layout.modules.forEach((address, g) => {
    encodeModule(regs, address - layout.base, layout.topology, g, identity, pack);
  });

  const e = layout.end - layout.base;
  regs[e] = SUNSPEC_END_MODEL_ID;
  regs[e + 1] = 0;
  return regs;
}

/** 1-based string and module of a flattened cell index. */
function position(topology: PackTopology, cellIndex: number): { string: number; module: number } {
  const perString = topology.modulesPerString * topology.cellsPerModule;
  return { string: Math.floor(cellIndex / perString) + 1, module: Math.floor((cellIndex % perString) / topology.cellsPerModule) + 1 };
}

/** Cell indexes of module `g` (string-major). */
function moduleCells(topology: PackTopology, g: number): { from: number; to: number } {
  return { from: g * topology.cellsPerModule, to: (g + 1) * topology.cellsPerModule };
}

/** A module's temperature: its hottest sensor (what a BMS protects on). */
function moduleTemperatures(topology: PackTopology, pack: PackSnapshot): number[] {
  const count = topology.strings * topology.modulesPerString;
  return Array.from({ length: count }, (_, g) => {
    const { from, to } = moduleCells(topology, g);
    return Math.max(...pack.cellTemperatures.slice(from, to));
  });
}

function contactorClosed(pack: PackSnapshot): boolean {
  return pack.state !== BATTERY_STATE.FAULT;
}

/** Strings are in parallel: each carries an equal share of the pack current. */
function stringCurrent(topology: PackTopology, pack: PackSnapshot): number {
  return pack.current / topology.strings;
}

function stringVoltages(topology: PackTopology, pack: PackSnapshot): number[] {
  const perString = topology.modulesPerString * topology.cellsPerModule;
  return Array.from({ length: topology.strings }, (_, s) => pack.cellVoltages.slice(s * perString, (s + 1) * perString).reduce((sum, v) => sum + v, 0));
}

function encodeBank(regs: number[], b: number, topology: PackTopology, pack: PackSnapshot): void {
  const sf = SCALE_FACTORS;
  const p = MODEL_LITHIUM_BANK.points;
  regs[b] = MODEL_LITHIUM_BANK.id;
  regs[b + 1] = bankModelLength(topology.strings);
  const modT = extremes(moduleTemperatures(topology, pack));
  const strV = extremes(stringVoltages(topology, pack));
  const amps = stringCurrent(topology, pack);
  const at = (g: number) => ({ string: Math.floor(g / topology.modulesPerString) + 1, module: (g % topology.modulesPerString) + 1 });
  const values: [number, number][] = [
    [p.NStr.offset, topology.strings],
    [p.NStrCon.offset, contactorClosed(pack) ? topology.strings : 0],
    [p.ModTmpMax.offset, int16(modT.max, sf.Tmp_SF)],
    [p.ModTmpMaxStr.offset, at(modT.maxIndex).string],
    [p.ModTmpMaxMod.offset, at(modT.maxIndex).module],
    [p.ModTmpMin.offset, int16(modT.min, sf.Tmp_SF)],
    [p.ModTmpMinStr.offset, at(modT.minIndex).string],
    [p.ModTmpMinMod.offset, at(modT.minIndex).module],
    [p.ModTmpAvg.offset, int16(modT.avg, sf.Tmp_SF)],
    [p.StrVMax.offset, uint16(strV.max, sf.V_SF)],
    [p.StrVMaxStr.offset, strV.maxIndex + 1],
    [p.StrVMin.offset, uint16(strV.min, sf.V_SF)],
    [p.StrVMinStr.offset, strV.minIndex + 1],
    [p.StrVAvg.offset, uint16(strV.avg, sf.V_SF)],
    [p.StrAMax.offset, int16(amps, sf.A_SF)],
    [p.StrAMaxStr.offset, 1],
    [p.StrAMin.offset, int16(amps, sf.A_SF)],
    [p.StrAMinStr.offset, 1],
    [p.StrAAvg.offset, int16(amps, sf.A_SF)],
    [p.NCellBal.offset, pack.balancing.filter(Boolean).length],
    [p.CellV_SF.offset, fromInt16(sf.CellV_SF)],
    [p.ModTmp_SF.offset, fromInt16(sf.Tmp_SF)],
    [p.A_SF.offset, fromInt16(sf.A_SF)],
    [p.SoH_SF.offset, fromInt16(sf.SoH_SF)],
    [p.SoC_SF.offset, fromInt16(sf.SoC_SF)],
    [p.V_SF.offset, fromInt16(sf.V_SF)],
  ];
  for (const [offset, value] of values) regs[b + offset] = value;
  const sp = MODEL_LITHIUM_BANK.stringPoints;
  const perString = topology.modulesPerString * topology.cellsPerModule;
  const temps = moduleTemperatures(topology, pack);
  for (let s = 0; s < topology.strings; s++) {
    const o = b + MODEL_LITHIUM_BANK.stringBlockOffset + MODEL_LITHIUM_BANK.stringBlockSize * s;
    const cellV = extremes(pack.cellVoltages.slice(s * perString, (s + 1) * perString));
    const strT = extremes(temps.slice(s * topology.modulesPerString, (s + 1) * topology.modulesPerString));
    const block: [number, number][] = [
      [sp.StrNMod.offset, topology.modulesPerString],
      [sp.StrConFail.offset, 0],
      [sp.StrSoC.offset, uint16(pack.soc, sf.SoC_SF)],
      [sp.StrSoH.offset, uint16(pack.soh, sf.SoH_SF)],
      [sp.StrA.offset, int16(amps, sf.A_SF)],
      [sp.StrCellVMax.offset, uint16(cellV.max, sf.CellV_SF)],
      [sp.StrCellVMaxMod.offset, Math.floor(cellV.maxIndex / topology.cellsPerModule) + 1],
      [sp.StrCellVMin.offset, uint16(cellV.min, sf.CellV_SF)],
      [sp.StrCellVMinMod.offset, Math.floor(cellV.minIndex / topology.cellsPerModule) + 1],
      [sp.StrCellVAvg.offset, uint16(cellV.avg, sf.CellV_SF)],
      [sp.StrModTmpMax.offset, int16(strT.max, sf.Tmp_SF)],
      [sp.StrModTmpMaxMod.offset, strT.maxIndex + 1],
      [sp.StrModTmpMin.offset, int16(strT.min, sf.Tmp_SF)],
      [sp.StrModTmpMinMod.offset, strT.minIndex + 1],
      [sp.StrModTmpAvg.offset, int16(strT.avg, sf.Tmp_SF)],
      [sp.StrDisRsn.offset, 0],
      [sp.StrSetEna.offset, 0],
      [sp.StrSetCon.offset, 0],
    ];
    for (const [offset, value] of block) regs[o + offset] = value;
    writeUint32(regs, o + sp.StrSt.offset, contactorClosed(pack) ? 0b11 : 0b01);
    writeUint32(regs, o + sp.StrConSt.offset, contactorClosed(pack) ? 1 : 0);
    // The simulated BMS reports its events bank-wide: every string carries the pack's Evt1.
    writeUint32(regs, o + sp.StrEvt1.offset, pack.evt1);
  }
}

function encodeString(regs: number[], o: number, topology: PackTopology, s: number, pack: PackSnapshot): void {
  const sf = SCALE_FACTORS;
  const p = MODEL_LITHIUM_STRING.points;
  regs[o] = MODEL_LITHIUM_STRING.id;
  regs[o + 1] = stringModelLength(topology.modulesPerString);
  const perString = topology.modulesPerString * topology.cellsPerModule;
  const from = s * perString;
  const cells = pack.cellVoltages.slice(from, from + perString);
  const cellV = extremes(cells);
  const temps = moduleTemperatures(topology, pack).slice(s * topology.modulesPerString, (s + 1) * topology.modulesPerString);
  const modT = extremes(temps);
  const values: [number, number][] = [
    [p.Idx.offset, s + 1],
    [p.NMod.offset, topology.modulesPerString],
    [p.ConFail.offset, 0],
    [p.NCellBal.offset, pack.balancing.slice(from, from + perString).filter(Boolean).length],
    [p.SoC.offset, uint16(pack.soc, sf.SoC_SF)],
    [p.DoD.offset, uint16(100 - pack.soc, sf.DoD_SF)],
    [p.SoH.offset, uint16(pack.soh, sf.SoH_SF)],
    [p.A.offset, int16(stringCurrent(topology, pack), sf.A_SF)],
    [
      p.V.offset,
      uint16(
        cells.reduce((sum, v) => sum + v, 0),
        sf.V_SF,
      ),
    ],
    [p.CellVMax.offset, uint16(cellV.max, sf.CellV_SF)],
    [p.CellVMaxMod.offset, Math.floor(cellV.maxIndex / topology.cellsPerModule) + 1],
    [p.CellVMin.offset, uint16(cellV.min, sf.CellV_SF)],
    [p.CellVMinMod.offset, Math.floor(cellV.minIndex / topology.cellsPerModule) + 1],
    [p.CellVAvg.offset, uint16(cellV.avg, sf.CellV_SF)],
    [p.ModTmpMax.offset, int16(modT.max, sf.Tmp_SF)],
    [p.ModTmpMaxMod.offset, modT.maxIndex + 1],
    [p.ModTmpMin.offset, int16(modT.min, sf.Tmp_SF)],
    [p.ModTmpMinMod.offset, modT.minIndex + 1],
    [p.ModTmpAvg.offset, int16(modT.avg, sf.Tmp_SF)],
    [p.ModTmpAvg.offset + 1, PAD],
    [p.SetEna.offset, 0],
    [p.SetCon.offset, 0],
    [p.SoC_SF.offset, fromInt16(sf.SoC_SF)],
    [p.SoH_SF.offset, fromInt16(sf.SoH_SF)],
    [p.DoD_SF.offset, fromInt16(sf.DoD_SF)],
    [p.A_SF.offset, fromInt16(sf.A_SF)],
    [p.V_SF.offset, fromInt16(sf.V_SF)],
    [p.CellV_SF.offset, fromInt16(sf.CellV_SF)],
    [p.ModTmp_SF.offset, fromInt16(sf.Tmp_SF)],
  ];
  for (const [offset, value] of values) regs[o + offset] = value;
  for (let pad = p.ModTmp_SF.offset + 1; pad < MODEL_LITHIUM_STRING.moduleBlockOffset; pad++) regs[o + pad] = PAD;
  writeUint32(regs, o + p.St.offset, contactorClosed(pack) ? 0b11 : 0b01);
  writeUint32(regs, o + p.NCyc.offset, pack.cycles);
  writeUint32(regs, o + p.ConSt.offset, contactorClosed(pack) ? 1 : 0);
  writeUint32(regs, o + p.Evt1.offset, pack.evt1);
  const mp = MODEL_LITHIUM_STRING.modulePoints;
  for (let m = 0; m < topology.modulesPerString; m++) {
    const mo = o + MODEL_LITHIUM_STRING.moduleBlockOffset + MODEL_LITHIUM_STRING.moduleBlockSize * m;
    const { from: cf, to: ct } = moduleCells(topology, s * topology.modulesPerString + m);
    const v = extremes(pack.cellVoltages.slice(cf, ct));
    const t = extremes(pack.cellTemperatures.slice(cf, ct));
    const block: [number, number][] = [
      [mp.ModNCell.offset, topology.cellsPerModule],
      [mp.ModSoC.offset, uint16(pack.soc, sf.SoC_SF)],
      [mp.ModSoH.offset, uint16(pack.soh, sf.SoH_SF)],
      [mp.ModCellVMax.offset, uint16(v.max, sf.CellV_SF)],
      [mp.ModCellVMaxCell.offset, v.maxIndex + 1],
      [mp.ModCellVMin.offset, uint16(v.min, sf.CellV_SF)],
      [mp.ModCellVMinCell.offset, v.minIndex + 1],
      [mp.ModCellVAvg.offset, uint16(v.avg, sf.CellV_SF)],
      [mp.ModCellTmpMax.offset, int16(t.max, sf.Tmp_SF)],
      [mp.ModCellTmpMaxCell.offset, t.maxIndex + 1],
      [mp.ModCellTmpMin.offset, int16(t.min, sf.Tmp_SF)],
      [mp.ModCellTmpMinCell.offset, t.minIndex + 1],
      [mp.ModCellTmpAvg.offset, int16(t.avg, sf.Tmp_SF)],
    ];
    for (const [offset, value] of block) regs[mo + offset] = value;
    for (let pad = mp.ModCellTmpAvg.offset + 1; pad < MODEL_LITHIUM_STRING.moduleBlockSize; pad++) regs[mo + pad] = PAD;
  }
}

function encodeModule(regs: number[], m: number, topology: PackTopology, g: number, identity: PackIdentity, pack: PackSnapshot): void {
  const sf = SCALE_FACTORS;
  const { from, to } = moduleCells(topology, g);
  const voltages = pack.cellVoltages.slice(from, to);
  const cellV = extremes(voltages);
  const cellT = extremes(pack.cellTemperatures.slice(from, to));
  const mp = MODEL_LITHIUM_MODULE.points;
  regs[m] = MODEL_LITHIUM_MODULE.id;
  regs[m + 1] = moduleModelLength(topology.cellsPerModule);
  const module: [number, number][] = [
    [mp.StrIdx.offset, Math.floor(g / topology.modulesPerString) + 1],
    [mp.ModIdx.offset, (g % topology.modulesPerString) + 1],
    [mp.NCell.offset, topology.cellsPerModule],
    [mp.SoC.offset, uint16(pack.soc, sf.SoC_SF)],
    [mp.DoD.offset, uint16(100 - pack.soc, sf.DoD_SF)],
    [mp.SoH.offset, uint16(pack.soh, sf.SoH_SF)],
    [mp.V.offset, uint16(topology.strings * topology.modulesPerString === 1 ? pack.packVoltage : voltages.reduce((sum, v) => sum + v, 0), sf.V_SF)],
    [mp.CellVMax.offset, uint16(cellV.max, sf.CellV_SF)],
    [mp.CellVMaxCell.offset, cellV.maxIndex + 1],
    [mp.CellVMin.offset, uint16(cellV.min, sf.CellV_SF)],
    [mp.CellVMinCell.offset, cellV.minIndex + 1],
    [mp.CellVAvg.offset, uint16(cellV.avg, sf.CellV_SF)],
    [mp.CellTmpMax.offset, int16(cellT.max, sf.Tmp_SF)],
    [mp.CellTmpMaxCell.offset, cellT.maxIndex + 1],
    [mp.CellTmpMin.offset, int16(cellT.min, sf.Tmp_SF)],
    [mp.CellTmpMinCell.offset, cellT.minIndex + 1],
    [mp.CellTmpAvg.offset, int16(cellT.avg, sf.Tmp_SF)],
    [mp.NCellBal.offset, pack.balancing.slice(from, to).filter(Boolean).length],
    [mp.SoC_SF.offset, fromInt16(sf.SoC_SF)],
    [mp.SoH_SF.offset, fromInt16(sf.SoH_SF)],
    [mp.DoD_SF.offset, fromInt16(sf.DoD_SF)],
    [mp.V_SF.offset, fromInt16(sf.V_SF)],
    [mp.CellV_SF.offset, fromInt16(sf.CellV_SF)],
    [mp.Tmp_SF.offset, fromInt16(sf.Tmp_SF)],
  ];
  for (const [offset, value] of module) regs[m + offset] = value;
  writeUint32(regs, m + mp.NCyc.offset, pack.cycles);
  writeString(regs, m + mp.SN.offset, mp.SN.size, `${identity.serial}-M${g + 1}`);
  const cp5 = MODEL_LITHIUM_MODULE.cellPoints;
  for (let i = 0; i < topology.cellsPerModule; i++) {
    const cell = m + MODEL_LITHIUM_MODULE.cellBlockOffset + MODEL_LITHIUM_MODULE.cellBlockSize * i;
    regs[cell + cp5.CellV.offset] = uint16(pack.cellVoltages[from + i] ?? 0, sf.CellV_SF);
    regs[cell + cp5.CellTmp.offset] = int16(pack.cellTemperatures[from + i] ?? 0, sf.Tmp_SF);
    writeUint32(regs, cell + cp5.CellSt.offset, pack.balancing[from + i] ? 1 : 0);
  }
}
