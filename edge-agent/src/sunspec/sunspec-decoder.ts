import type { Chemistry, PackMeta } from "@bms/shared";
import { evt1ToAlarms } from "@bms/shared";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import {
  MODEL_BATTERY,
  MODEL_COMMON,
  MODEL_LITHIUM_BANK,
  MODEL_LITHIUM_MODULE,
  MODEL_LITHIUM_STRING,
  type ModelDef,
  type PointDef,
} from "@bms/shared/sunspec/models";
import { namedBits, warrantyDaysToDate } from "@bms/shared/sunspec/register-codec";
import { type DecodedSample, type PackIdentity, withoutUndefined } from "../readers/device-reader";
import { composePackMeta } from "../readers/pack-meta-composer";
import { SunSpecDecodeError } from "./sunspec-errors";

/** Registers of one model, from its ID register (offset 0) on. */
export type ModelRegisters = readonly number[];

export type { DecodedSample };

export interface DecodedModule {
  /** 805 StrIdx and ModIdx (1-based), undefined when not implemented. */
  stringIndex: number | undefined;
  moduleIndex: number | undefined;
  cellCount: number;
  cellVoltages: number[];
  cellTemperatures: number[];
}

/** A reader of one model block whose errors are decode errors (the device map changed, a scale factor out of range...). */
function read<M extends ModelDef>(model: M, regs: ModelRegisters): ModelReader<M> {
  return new ModelReader(model, regs, (message) => new SunSpecDecodeError(message));
}

function allDefined(values: (number | undefined)[]): values is number[] {
  return !values.includes(undefined);
}

/** One model 805: its cells in position order. A cell without a voltage is a decode error (positions would shift). */
export function decodeModule(regs: ModelRegisters): DecodedModule {
  const reader = read(MODEL_LITHIUM_MODULE, regs);
  const cellCount = reader.raw("NCell") ?? 0;
  if (cellCount < 1 || cellCount > reader.instances()) {
    throw new SunSpecDecodeError(`model 805 says NCell = ${cellCount} but L = ${reader.length} (needs ${MODEL_LITHIUM_MODULE.length} + 4 × NCell)`);
  }
  const cellVoltages = reader.scaledInstances("CellV", cellCount);
  if (!allDefined(cellVoltages)) throw new SunSpecDecodeError(`model 805 cell ${cellVoltages.indexOf(undefined) + 1} has no voltage (not implemented)`);
  // A sensor that is not fitted is simply not reported.
  const temperatures = reader.scaledInstances("CellTmp", cellCount);
  const cellTemperatures = allDefined(temperatures) ? temperatures : temperatures.filter((t) => t !== undefined);
  return { stringIndex: reader.raw("StrIdx"), moduleIndex: reader.raw("ModIdx"), cellCount, cellVoltages, cellTemperatures };
}

/** The models of a bank of several strings, when the device has them. */
export interface BankRegisters {
  /** Model 803. */
  bank?: ModelRegisters;
  /** Models 804, one per string. */
  strings?: readonly ModelRegisters[];
}

/**
 * Modules in pack order: string by string, module by module (805 StrIdx, ModIdx), which is how the
 * cells of a sample are numbered. When a device leaves the indexes out, chain order stands.
 */
function inPackOrder(modules: DecodedModule[]): DecodedModule[] {
  if (modules.length === 1 || modules.some((m) => m.stringIndex === undefined || m.moduleIndex === undefined)) return modules;
  const keys = new Set(modules.map((m) => `${m.stringIndex}/${m.moduleIndex}`));
  if (keys.size !== modules.length) throw new SunSpecDecodeError("two 805 modules claim the same string and module index");
  return [...modules].sort((a, b) => (a.stringIndex ?? 0) - (b.stringIndex ?? 0) || (a.moduleIndex ?? 0) - (b.moduleIndex ?? 0));
}

/** 803/804 reserve bits that 802 names: only the events a definition names count. */
function events(def: PointDef, bits: number | undefined): number | undefined {
  return bits === undefined ? undefined : namedBits(def, bits);
}

/** Events of the whole bank: 802 Evt1, every 804 Evt1 and every 803 string's StrEvt1, or'ed. */
function bankEvents(battery: ModelReader<typeof MODEL_BATTERY>, bank: BankRegisters): number | undefined {
  const parts: (number | undefined)[] = [battery.raw("Evt1")];
  for (const regs of bank.strings ?? []) parts.push(events(MODEL_LITHIUM_STRING.points.Evt1, read(MODEL_LITHIUM_STRING, regs).raw("Evt1")));
  if (bank.bank) {
    const b = read(MODEL_LITHIUM_BANK, bank.bank);
    const strings = b.raw("NStr") ?? 0;
    if (strings > b.instances()) throw new SunSpecDecodeError(`model 803 says NStr = ${strings} but is too short for them (L = ${b.length})`);
    for (let i = 0; i < strings; i++) parts.push(events(MODEL_LITHIUM_BANK.group.points.StrEvt1, b.raw("StrEvt1", i)));
  }
  const known = parts.filter((p) => p !== undefined);
  return known.length === 0 ? undefined : known.reduce((all, bits) => (all | bits) >>> 0, 0);
}

/** The strings' own account of the modules must match the 805 models found. */
function checkStrings(bank: BankRegisters, moduleCount: number): void {
  const strings = bank.strings ?? [];
  if (strings.length === 0) return;
  let modules = 0;
  for (const regs of strings) {
    const nMod = read(MODEL_LITHIUM_STRING, regs).raw("NMod") ?? 0;
    modules += nMod;
  }
  if (modules !== moduleCount) throw new SunSpecDecodeError(`the 804 strings count ${modules} modules but the chain has ${moduleCount} models 805`);
}

/**
 * Model 802 and all 805 modules (with 803 and the 804s of a bank of several strings) → a pack
 * sample, not yet validated. Cells are numbered string by string, module by module.
 */
export function decodePackSample(
  battery: ModelRegisters,
  modules: readonly ModelRegisters[],
  ts: number,
  seq: number,
  bank: BankRegisters = {},
): DecodedSample {
  const b = read(MODEL_BATTERY, battery);
  const cells = inPackOrder(modules.map(decodeModule));
  checkStrings(bank, cells.length);
  const evt1 = bankEvents(b, bank);
  const sample: DecodedSample = {
    v: 1,
    ts,
    seq,
    packVoltage: b.scaled("V"),
    current: b.scaled("A"),
    soc: b.scaled("SoC"),
    soh: b.scaled("SoH"),
    cellVoltages: cells.length === 1 ? (cells[0]?.cellVoltages ?? []) : cells.flatMap((c) => c.cellVoltages),
    cellTemperatures: cells.length === 1 ? (cells[0]?.cellTemperatures ?? []) : cells.flatMap((c) => c.cellTemperatures),
    bmsAlarms: evt1 === undefined ? undefined : evt1ToAlarms(evt1),
    cycleCount: b.raw("NCyc"),
    chargeCurrentLimit: b.scaled("AChaMax"),
    dischargeCurrentLimit: b.scaled("ADisChaMax"),
  };
  return withoutUndefined(sample);
}

/** 802 WarrDt: days since 2000-01-01 → YYYY-MM-DD (undefined when not implemented or absurd). */
export function warrantyDate(days: number | undefined): string | undefined {
  if (days === undefined || days > 36_500) return undefined;
  return warrantyDaysToDate(days);
}

export interface IdentitySources {
  common?: ModelRegisters;
  battery: ModelRegisters;
  modules: readonly ModelRegisters[];
}

/** What models 1, 802 and 805 say about the pack: Mn, Md, SN, Vr, the cells (sum of NCell), AHRtg, WarrDt. */
export function decodeIdentity(src: IdentitySources): PackIdentity {
  const common = src.common ? read(MODEL_COMMON, src.common) : undefined;
  const b = read(MODEL_BATTERY, src.battery);
  const cellCount = src.modules.reduce((n, regs) => n + (read(MODEL_LITHIUM_MODULE, regs).raw("NCell") ?? 0), 0);
  return withoutUndefined({
    manufacturer: common?.text("Mn") ?? "",
    model: common?.text("Md") ?? "",
    serial: common?.text("SN") ?? "",
    bmsFirmware: common?.text("Vr") ?? "",
    cellCount,
    ratedCapacity: b.scaled("AHRtg"),
    warrantyEnd: warrantyDate(b.raw("WarrDt")),
  });
}

export interface MetaSources extends IdentitySources {
  ts: number;
  chemistry?: Chemistry;
  warrantyStart?: string;
  warrantyEnd?: string;
}

/** Pack identity from models 1, 802 and 805 (not yet validated); what the BMS cannot tell comes from the config. */
export function decodePackMeta(src: MetaSources): PackMeta {
  return composePackMeta(decodeIdentity(src), { chemistry: src.chemistry, warrantyStart: src.warrantyStart, warrantyEnd: src.warrantyEnd }, src.ts);
}
