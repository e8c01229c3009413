/**
 * The SunSpec models a battery serves, from the one generated table (model-table.ts, derived from
 * the official sunspec/models JSON), plus the layout facts of a SunSpec Modbus map. The simulator
 * encodes with these definitions, the edge agent decodes with them, and the tests check against
 * them. Offsets count from the model's ID register (ID at 0, L at 1).
 */
import { MODEL_1, MODEL_802, MODEL_803, MODEL_804, MODEL_805, SUNSPEC_MODEL_TABLE } from "./model-table";
import type { GroupDef, ModelDef, PointDef } from "./model-types";

export type { GroupDef, GroupPointName, ModelDef, PointDef, PointName, PointType } from "./model-types";

/** "SunS": the two registers at the base address of a SunSpec map. */
export const SUNSPEC_MARKER = [0x5375, 0x6e53] as const;
/** Base addresses to try, in order (0-based protocol addresses), as the SunSpec client pysunspec2 does. */
export const SUNSPEC_BASE_ADDRESSES = [40000, 0, 50000] as const;
export const SUNSPEC_END_MODEL_ID = 0xffff;

/** Model 1, common: manufacturer, model, version, serial, device address. */
export const MODEL_COMMON = MODEL_1;
/** Model 802, battery base. */
export const MODEL_BATTERY = MODEL_802;
/** Model 803, lithium-ion bank: one group instance per string. */
export const MODEL_LITHIUM_BANK = MODEL_803;
/** Model 804, lithium-ion string: one group instance per module. */
export const MODEL_LITHIUM_STRING = MODEL_804;
/** Model 805, lithium-ion module: one group instance per cell. */
export const MODEL_LITHIUM_MODULE = MODEL_805;

/** 802 ChaSt (charge status). */
export const CHARGE_STATUS = { OFF: 1, EMPTY: 2, DISCHARGING: 3, CHARGING: 4, FULL: 5, HOLDING: 6, TESTING: 7 } as const;
/** 802 State ("SOC PROTECTION" in the definition). */
export const BATTERY_STATE = { DISCONNECTED: 1, INITIALIZING: 2, CONNECTED: 3, STANDBY: 4, SOC_PROTECTION: 5, SUSPENDING: 6, FAULT: 99 } as const;
/** 802 Typ. */
export const BATTERY_TYPE = { LITHIUM_ION: 4 } as const;
/** 802 SetOp. */
export const SET_OPERATION = { CONNECT: 1, DISCONNECT: 2 } as const;
/** 802 SetInvState. */
export const SET_INVERTER_STATE = { INVERTER_STOPPED: 1, INVERTER_STANDBY: 2, INVERTER_STARTED: 3 } as const;
/** 803 StrSetEna and 804 SetEna (the 804 definition names no values; 803's apply). */
export const SET_STRING_ENABLE = { ENABLE_STRING: 1, DISABLE_STRING: 2 } as const;
/** 803 StrSetCon and 804 SetCon. */
export const SET_STRING_CONNECT = { CONNECT_STRING: 1, DISCONNECT_STRING: 2 } as const;
/** 803 StrSt and 804 St bits. */
export const STRING_STATUS_BITS = { STRING_ENABLED: 0, CONTACTOR_STATUS: 1 } as const;

/** The models this codec knows, by ID. */
export function modelDefinition(id: number): ModelDef | undefined {
  return (SUNSPEC_MODEL_TABLE as Readonly<Record<number, ModelDef>>)[id];
}

/** L of a model with `instances` group instances (strings, modules, cells). */
export function modelLength(model: ModelDef, instances = 0): number {
  return model.length + (model.group ? model.group.size * instances : 0);
}

/** Offset of group instance `index` (0-based) from the model's ID register. */
export function groupOffset(group: GroupDef, index: number): number {
  return group.offset + group.size * index;
}

/** How many group instances a model of length L holds (L − fixed length) ÷ instance size, or undefined when L does not fit. */
export function instancesIn(model: ModelDef, length: number): number | undefined {
  if (!model.group) return length === model.length ? 0 : undefined;
  const rest = length - model.length;
  return rest >= 0 && rest % model.group.size === 0 ? rest / model.group.size : undefined;
}

/** The point at `offset` in a model of `instances` group instances: the point and where it starts, or undefined for no point there. */
export function pointAt(model: ModelDef, offset: number, instances: number): { name: string; def: PointDef; start: number; index?: number } | undefined {
  const group = model.group;
  if (group && offset >= group.offset) {
    const index = Math.floor((offset - group.offset) / group.size);
    if (index >= instances) return undefined;
    const base = groupOffset(group, index);
    const found = Object.entries(group.points).find(([, def]) => offset >= base + def.offset && offset < base + def.offset + def.size);
    return found ? { name: found[0], def: found[1], start: base + found[1].offset, index } : undefined;
  }
  const found = Object.entries(model.points).find(([, def]) => offset >= def.offset && offset < def.offset + def.size);
  return found ? { name: found[0], def: found[1], start: found[1].offset } : undefined;
}
