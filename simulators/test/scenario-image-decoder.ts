import { evt1ToAlarms } from "@bms/shared";
import { MODEL_BATTERY, MODEL_LITHIUM_MODULE, SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "@bms/shared/sunspec/models";
import { readUint32, toInt16 } from "@bms/shared/sunspec/register-codec";

/** What the tests read back from a SunSpec register image (index 0 = address 40000), decoded the way a poller would. */
export interface DecodedImage {
  evt1: number;
  alarms: string[];
  /** 802 A, V, SoC, State. */
  current: number;
  packVoltage: number;
  soc: number;
  state: number;
  /** 805 CellV per cell (all modules, in order), V. */
  cellVoltages: number[];
  /** 805 CellTmp per cell, °C. */
  cellTemperatures: number[];
  /** Raw CellTmp words (int16), for "the register did not change". */
  rawCellTemperatures: number[];
}

function scaled(raw: number, sf: number): number {
  return raw * 10 ** sf;
}

/** Walks SunS → models → end and decodes 802 and every 805, using only shared/src/sunspec/*. */
export function decodeImage(regs: readonly number[]): DecodedImage {
  if (regs[0] !== SUNSPEC_MARKER[0] || regs[1] !== SUNSPEC_MARKER[1]) throw new Error("no SunS marker");
  let battery: number | undefined;
  const modules: number[] = [];
  for (let at = 2; at < regs.length; ) {
    const id = regs[at] ?? SUNSPEC_END_MODEL_ID;
    if (id === SUNSPEC_END_MODEL_ID) break;
    if (id === MODEL_BATTERY.id) battery = at;
    if (id === MODEL_LITHIUM_MODULE.id) modules.push(at);
    at += 2 + (regs[at + 1] ?? 0);
  }
  if (battery === undefined) throw new Error("no model 802");
  const b = battery;
  const bp = MODEL_BATTERY.points;
  const word = (offset: number) => regs[b + offset] ?? 0;
  const evt1 = readUint32(regs, b + bp.Evt1.offset);
  const cellVoltages: number[] = [];
  const cellTemperatures: number[] = [];
  const rawCellTemperatures: number[] = [];
  const mp = MODEL_LITHIUM_MODULE.points;
  for (const m of modules) {
    const cells = regs[m + mp.NCell.offset] ?? 0;
    const vSf = toInt16(regs[m + mp.CellV_SF.offset] ?? 0);
    const tSf = toInt16(regs[m + mp.Tmp_SF.offset] ?? 0);
    for (let c = 0; c < cells; c++) {
      const block = m + MODEL_LITHIUM_MODULE.cellBlockOffset + MODEL_LITHIUM_MODULE.cellBlockSize * c;
      cellVoltages.push(scaled(regs[block + MODEL_LITHIUM_MODULE.cellPoints.CellV.offset] ?? 0, vSf));
      const rawT = toInt16(regs[block + MODEL_LITHIUM_MODULE.cellPoints.CellTmp.offset] ?? 0);
      rawCellTemperatures.push(rawT);
      cellTemperatures.push(scaled(rawT, tSf));
    }
  }
  return {
    evt1,
    alarms: evt1ToAlarms(evt1),
    current: scaled(toInt16(word(bp.A.offset)), toInt16(word(bp.A_SF.offset))),
    packVoltage: scaled(word(bp.V.offset), toInt16(word(bp.V_SF.offset))),
    soc: scaled(word(bp.SoC.offset), toInt16(word(bp.SoC_SF.offset))),
    state: word(bp.State.offset),
    cellVoltages,
    cellTemperatures,
    rawCellTemperatures,
  };
}
