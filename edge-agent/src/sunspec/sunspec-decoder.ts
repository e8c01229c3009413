import type { Chemistry, PackMeta } from "@bms/shared";
import { evt1ToAlarms } from "@bms/shared";
import { MODEL_BATTERY, MODEL_COMMON, MODEL_LITHIUM_MODULE } from "@bms/shared/sunspec/models";
import { PointReader } from "./point-reader";
import { SunSpecDecodeError } from "./sunspec-errors";

/** Registers of one model, from its ID register (offset 0) on. */
export type ModelRegisters = readonly number[];

/** A pack sample before validation: the shape of PackSample, not yet checked against its bounds. */
export interface DecodedSample {
  v: 1;
  ts: number;
  seq: number;
  packVoltage?: number;
  current?: number;
  soc?: number;
  soh?: number;
  cellVoltages: number[];
  cellTemperatures: number[];
  bmsAlarms?: ReturnType<typeof evt1ToAlarms>;
  cycleCount?: number;
  chargeCurrentLimit?: number;
  dischargeCurrentLimit?: number;
}

export interface DecodedModule {
  cellCount: number;
  cellVoltages: number[];
  cellTemperatures: number[];
}

function checkHeader(regs: ModelRegisters, id: number): void {
  if (regs[0] !== id) throw new SunSpecDecodeError(`expected model ${id}, found ID ${regs[0]} (the device map changed?)`);
}

/** One model 805: its cells in position order. A cell without a voltage is a decode error (positions would shift). */
export function decodeModule(regs: ModelRegisters): DecodedModule {
  checkHeader(regs, MODEL_LITHIUM_MODULE.id);
  const m = MODEL_LITHIUM_MODULE;
  const reader = new PointReader(regs, { ...m.points, ...m.cellPoints }, "805");
  const cellCount = reader.raw("NCell") ?? 0;
  const length = regs[1] ?? 0;
  if (cellCount < 1 || length < m.fixedLength + m.cellBlockSize * cellCount) {
    throw new SunSpecDecodeError(`model 805 says NCell = ${cellCount} but L = ${length} (needs ${m.fixedLength} + 4 × NCell)`);
  }
  const cellVoltages: number[] = [];
  const cellTemperatures: number[] = [];
  for (let i = 0; i < cellCount; i++) {
    const base = m.cellBlockOffset + m.cellBlockSize * i;
    const v = reader.scaled("CellV", base);
    if (v === undefined) throw new SunSpecDecodeError(`model 805 cell ${i + 1} has no voltage (not implemented)`);
    cellVoltages.push(v);
    // A sensor that is not fitted is simply not reported.
    const t = reader.scaled("CellTmp", base);
    if (t !== undefined) cellTemperatures.push(t);
  }
  return { cellCount, cellVoltages, cellTemperatures };
}

/** Model 802 and all 805 modules (in chain order) → a pack sample, not yet validated. */
export function decodePackSample(battery: ModelRegisters, modules: readonly ModelRegisters[], ts: number, seq: number): DecodedSample {
  checkHeader(battery, MODEL_BATTERY.id);
  const b = new PointReader(battery, MODEL_BATTERY.points, "802");
  const cells = modules.map(decodeModule);
  const evt1 = b.raw("Evt1");
  const sample: DecodedSample = {
    v: 1,
    ts,
    seq,
    packVoltage: b.scaled("V"),
    current: b.scaled("A"),
    soc: b.scaled("SoC"),
    soh: b.scaled("SoH"),
    cellVoltages: cells.flatMap((c) => c.cellVoltages),
    cellTemperatures: cells.flatMap((c) => c.cellTemperatures),
    bmsAlarms: evt1 === undefined ? undefined : evt1ToAlarms(evt1),
    cycleCount: b.raw("NCyc"),
    chargeCurrentLimit: b.scaled("AChaMax"),
    dischargeCurrentLimit: b.scaled("ADisChaMax"),
  };
  // Absent, not undefined-valued: the JSON on the wire should not carry empty keys.
  for (const key of Object.keys(sample) as (keyof DecodedSample)[]) if (sample[key] === undefined) delete sample[key];
  return sample;
}

const DAY_MS = 86_400_000;
const EPOCH_2000 = Date.UTC(2000, 0, 1);

/** 802 WarrDt: days since 2000-01-01 → YYYY-MM-DD (undefined when not implemented or absurd). */
export function warrantyDate(days: number | undefined): string | undefined {
  if (days === undefined || days > 36_500) return undefined;
  return new Date(EPOCH_2000 + days * DAY_MS).toISOString().slice(0, 10);
}

export interface MetaSources {
  common?: ModelRegisters;
  battery: ModelRegisters;
  modules: readonly ModelRegisters[];
  ts: number;
  chemistry?: Chemistry;
  warrantyStart?: string;
  warrantyEnd?: string;
}

/** Pack identity from models 1, 802 and 805 (not yet validated); what the BMS cannot tell comes from the device config. */
export function decodePackMeta(src: MetaSources): PackMeta {
  const clip = (s: string) => s.slice(0, 64);
  const common = src.common ? new PointReader(src.common, MODEL_COMMON.points, "1") : undefined;
  const b = new PointReader(src.battery, MODEL_BATTERY.points, "802");
  const cellCount = src.modules.reduce((n, regs) => n + (new PointReader(regs, MODEL_LITHIUM_MODULE.points, "805").raw("NCell") ?? 0), 0);
  const warrantyEnd = src.warrantyEnd ?? warrantyDate(b.raw("WarrDt"));
  return {
    v: 1,
    ts: src.ts,
    manufacturer: clip(common?.text("Mn") ?? ""),
    model: clip(common?.text("Md") ?? ""),
    serial: clip(common?.text("SN") ?? ""),
    bmsFirmware: clip(common?.text("Vr") ?? ""),
    // SunSpec 802 Typ only says "lithium-ion"; the exact chemistry must come from the site config.
    chemistry: src.chemistry ?? "other",
    cellCount,
    // PackMeta requires a number; 0 = "the BMS does not say".
    ratedCapacity: b.scaled("AHRtg") ?? 0,
    ...(src.warrantyStart ? { warrantyStart: src.warrantyStart } : {}),
    ...(warrantyEnd ? { warrantyEnd } : {}),
  };
}
