import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { MODEL_BATTERY, MODEL_COMMON, MODEL_LITHIUM_MODULE, moduleModelLength, SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "@bms/shared/sunspec/models";
import { fromInt16, NOT_IMPLEMENTED, writeString, writeUint32 } from "@bms/shared/sunspec/register-codec";
import { PACK_RATINGS, type PackSnapshot } from "./pack-model";
import type { PackIdentity } from "./simulated-device";

export type { PackIdentity };

/** Where each model starts (absolute 0-based addresses) for a pack of `cellCount` cells. */
export interface SunSpecLayout {
  base: number;
  common: number;
  battery: number;
  module: number;
  end: number;
  /** Registers from `base` through the end model's length register. */
  length: number;
}

export function sunspecLayout(cellCount: number, base = SUNSPEC_BASE_ADDRESS): SunSpecLayout {
  const common = base + SUNSPEC_MARKER.length;
  const battery = common + 2 + MODEL_COMMON.length;
  const module = battery + 2 + MODEL_BATTERY.length;
  const end = module + 2 + moduleModelLength(cellCount);
  return { base, common, battery, module, end, length: end + 2 - base };
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
 * The pack's registers from `layout.base` on: SunS, model 1, model 802, model 805, end model.
 * Index 0 is address `layout.base`. Every word is an integer in 0–0xFFFF.
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
  const cellT = extremes(pack.cellTemperatures);
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
    [bp.CellVMaxStr.offset, 1],
    [bp.CellVMaxMod.offset, 1],
    [bp.CellVMin.offset, uint16(cellV.min, sf.CellV_SF)],
    [bp.CellVMinStr.offset, 1],
    [bp.CellVMinMod.offset, 1],
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

  const m = layout.module - layout.base;
  const mp = MODEL_LITHIUM_MODULE.points;
  regs[m] = MODEL_LITHIUM_MODULE.id;
  regs[m + 1] = moduleModelLength(identity.cellCount);
  const module: [number, number][] = [
    [mp.StrIdx.offset, 1],
    [mp.ModIdx.offset, 1],
    [mp.NCell.offset, identity.cellCount],
    [mp.SoC.offset, uint16(pack.soc, sf.SoC_SF)],
    [mp.DoD.offset, uint16(100 - pack.soc, sf.DoD_SF)],
    [mp.SoH.offset, uint16(pack.soh, sf.SoH_SF)],
    [mp.V.offset, uint16(pack.packVoltage, sf.V_SF)],
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
    [mp.NCellBal.offset, pack.balancing.filter(Boolean).length],
    [mp.SoC_SF.offset, fromInt16(sf.SoC_SF)],
    [mp.SoH_SF.offset, fromInt16(sf.SoH_SF)],
    [mp.DoD_SF.offset, fromInt16(sf.DoD_SF)],
    [mp.V_SF.offset, fromInt16(sf.V_SF)],
    [mp.CellV_SF.offset, fromInt16(sf.CellV_SF)],
    [mp.Tmp_SF.offset, fromInt16(sf.Tmp_SF)],
  ];
  for (const [offset, value] of module) regs[m + offset] = value;
  writeUint32(regs, m + mp.NCyc.offset, pack.cycles);
  writeString(regs, m + mp.SN.offset, mp.SN.size, `${identity.serial}-M1`);
  const cp5 = MODEL_LITHIUM_MODULE.cellPoints;
  for (let i = 0; i < identity.cellCount; i++) {
    const cell = m + MODEL_LITHIUM_MODULE.cellBlockOffset + MODEL_LITHIUM_MODULE.cellBlockSize * i;
    regs[cell + cp5.CellV.offset] = uint16(pack.cellVoltages[i] ?? 0, sf.CellV_SF);
    regs[cell + cp5.CellTmp.offset] = int16(pack.cellTemperatures[i] ?? 0, sf.Tmp_SF);
    writeUint32(regs, cell + cp5.CellSt.offset, pack.balancing[i] ? 1 : 0);
  }

  const e = layout.end - layout.base;
  regs[e] = SUNSPEC_END_MODEL_ID;
  regs[e + 1] = 0;
  return regs;
}
