import { evt1ToAlarms } from "@bms/shared";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { MODEL_BATTERY, MODEL_LITHIUM_MODULE, SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "@bms/shared/sunspec/models";

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
  /** Raw CellTmp values (int16), for "the register did not change". */
  rawCellTemperatures: number[];
}

function required(value: number | undefined, what: string): number {
  if (value === undefined) throw new Error(`${what} is not implemented`);
  return value;
}

/** Walks SunS → models → end and decodes 802 and every 805 with the shared codec (shared/src/sunspec/). */
export function decodeImage(regs: readonly number[]): DecodedImage {
  if (regs[0] !== SUNSPEC_MARKER[0] || regs[1] !== SUNSPEC_MARKER[1]) throw new Error("no SunS marker");
  let battery: ModelReader<typeof MODEL_BATTERY> | undefined;
  const modules: ModelReader<typeof MODEL_LITHIUM_MODULE>[] = [];
  for (let at = 2; at < regs.length; ) {
    const id = regs[at] ?? SUNSPEC_END_MODEL_ID;
    if (id === SUNSPEC_END_MODEL_ID) break;
    const block = regs.slice(at, at + 2 + (regs[at + 1] ?? 0));
    if (id === MODEL_BATTERY.id) battery = new ModelReader(MODEL_BATTERY, block);
    if (id === MODEL_LITHIUM_MODULE.id) modules.push(new ModelReader(MODEL_LITHIUM_MODULE, block));
    at += block.length;
  }
  if (!battery) throw new Error("no model 802");
  const b = battery;
  const evt1 = required(b.raw("Evt1"), "Evt1");
  const cellVoltages: number[] = [];
  const cellTemperatures: number[] = [];
  const rawCellTemperatures: number[] = [];
  for (const m of modules) {
    for (let c = 0; c < m.instances(); c++) {
      cellVoltages.push(required(m.scaled("CellV", c), "CellV"));
      rawCellTemperatures.push(required(m.raw("CellTmp", c), "CellTmp"));
      cellTemperatures.push(required(m.scaled("CellTmp", c), "CellTmp"));
    }
  }
  return {
    evt1,
    alarms: evt1ToAlarms(evt1),
    current: required(b.scaled("A"), "A"),
    packVoltage: required(b.scaled("V"), "V"),
    soc: required(b.scaled("SoC"), "SoC"),
    state: required(b.raw("State"), "State"),
    cellVoltages,
    cellTemperatures,
    rawCellTemperatures,
  };
}
