/**
 * SunSpec model layouts used by the simulator (to encode) and the edge agent (to decode): the one
 * place their offsets live. Offsets count from the model's ID register (ID at 0, length L at 1).
 * Source: ../shared/reference/bms-protocols.md §1 (sunspec/models json/model_1, model_80x).
 */
export const SUNSPEC_MARKER = [0x5375, 0x6e53] as const; // "SunS"
/** Base addresses to try, in order (0-based protocol addresses). */
export const SUNSPEC_BASE_ADDRESSES = [40000, 0, 50000] as const;
export const SUNSPEC_END_MODEL_ID = 0xffff;

export type PointType = "uint16" | "int16" | "uint32" | "enum16" | "bitfield32" | "sunssf" | "string";

export interface PointDef {
  offset: number;
  type: PointType;
  /** Registers, for strings. */
  size?: number;
  /** Name of the scale-factor point in the same model. */
  sf?: string;
}

export const MODEL_COMMON = {
  id: 1,
  length: 66,
  points: {
    Mn: { offset: 2, type: "string", size: 16 },
    Md: { offset: 18, type: "string", size: 16 },
    Opt: { offset: 34, type: "string", size: 8 },
    Vr: { offset: 42, type: "string", size: 8 },
    SN: { offset: 50, type: "string", size: 16 },
    DA: { offset: 66, type: "uint16" },
  },
} as const satisfies { id: number; length: number; points: Record<string, PointDef> };

/** Model 802, battery base. */
export const MODEL_BATTERY = {
  id: 802,
  length: 62,
  points: {
    AHRtg: { offset: 2, type: "uint16", sf: "AHRtg_SF" },
    WHRtg: { offset: 3, type: "uint16", sf: "WHRtg_SF" },
    WChaRteMax: { offset: 4, type: "uint16", sf: "WChaDisChaMax_SF" },
    WDisChaRteMax: { offset: 5, type: "uint16", sf: "WChaDisChaMax_SF" },
    DisChaRte: { offset: 6, type: "uint16", sf: "DisChaRte_SF" },
    SoCMax: { offset: 7, type: "uint16", sf: "SoC_SF" },
    SoCMin: { offset: 8, type: "uint16", sf: "SoC_SF" },
    SocRsvMax: { offset: 9, type: "uint16", sf: "SoC_SF" },
    SoCRsvMin: { offset: 10, type: "uint16", sf: "SoC_SF" },
    SoC: { offset: 11, type: "uint16", sf: "SoC_SF" },
    DoD: { offset: 12, type: "uint16", sf: "DoD_SF" },
    SoH: { offset: 13, type: "uint16", sf: "SoH_SF" },
    NCyc: { offset: 14, type: "uint32" },
    ChaSt: { offset: 16, type: "enum16" },
    LocRemCtl: { offset: 17, type: "enum16" },
    Hb: { offset: 18, type: "uint16" },
    CtrlHb: { offset: 19, type: "uint16" },
    AlmRst: { offset: 20, type: "uint16" },
    Typ: { offset: 21, type: "enum16" },
    State: { offset: 22, type: "enum16" },
    WarrDt: { offset: 24, type: "uint32" },
    Evt1: { offset: 26, type: "bitfield32" },
    Evt2: { offset: 28, type: "bitfield32" },
    EvtVnd1: { offset: 30, type: "bitfield32" },
    EvtVnd2: { offset: 32, type: "bitfield32" },
    V: { offset: 34, type: "uint16", sf: "V_SF" },
    VMax: { offset: 35, type: "uint16", sf: "V_SF" },
    VMin: { offset: 36, type: "uint16", sf: "V_SF" },
    CellVMax: { offset: 37, type: "uint16", sf: "CellV_SF" },
    CellVMaxStr: { offset: 38, type: "uint16" },
    CellVMaxMod: { offset: 39, type: "uint16" },
    CellVMin: { offset: 40, type: "uint16", sf: "CellV_SF" },
    CellVMinStr: { offset: 41, type: "uint16" },
    CellVMinMod: { offset: 42, type: "uint16" },
    CellVAvg: { offset: 43, type: "uint16", sf: "CellV_SF" },
    A: { offset: 44, type: "int16", sf: "A_SF" },
    AChaMax: { offset: 45, type: "uint16", sf: "AMax_SF" },
    ADisChaMax: { offset: 46, type: "uint16", sf: "AMax_SF" },
    W: { offset: 47, type: "int16", sf: "W_SF" },
    AHRtg_SF: { offset: 52, type: "sunssf" },
    WHRtg_SF: { offset: 53, type: "sunssf" },
    WChaDisChaMax_SF: { offset: 54, type: "sunssf" },
    DisChaRte_SF: { offset: 55, type: "sunssf" },
    SoC_SF: { offset: 56, type: "sunssf" },
    DoD_SF: { offset: 57, type: "sunssf" },
    SoH_SF: { offset: 58, type: "sunssf" },
    V_SF: { offset: 59, type: "sunssf" },
    CellV_SF: { offset: 60, type: "sunssf" },
    A_SF: { offset: 61, type: "sunssf" },
    AMax_SF: { offset: 62, type: "sunssf" },
    W_SF: { offset: 63, type: "sunssf" },
  },
} as const satisfies { id: number; length: number; points: Record<string, PointDef> };

/** ChaSt (charge status) enum of model 802. */
export const CHARGE_STATUS = { OFF: 1, EMPTY: 2, DISCHARGING: 3, CHARGING: 4, FULL: 5, HOLDING: 6, TESTING: 7 } as const;
/** State enum of model 802. */
export const BATTERY_STATE = { DISCONNECTED: 1, INITIALIZING: 2, CONNECTED: 3, STANDBY: 4, SOC_PROTECTION: 5, SUSPENDING: 6, FAULT: 99 } as const;

/** Model 805, lithium-ion module: L = 42 + 4 × NCell; the per-cell block starts at offset 44. */
export const MODEL_LITHIUM_MODULE = {
  id: 805,
  fixedLength: 42,
  cellBlockOffset: 44,
  cellBlockSize: 4,
  points: {
    StrIdx: { offset: 2, type: "uint16" },
    ModIdx: { offset: 3, type: "uint16" },
    NCell: { offset: 4, type: "uint16" },
    SoC: { offset: 5, type: "uint16", sf: "SoC_SF" },
    DoD: { offset: 6, type: "uint16", sf: "DoD_SF" },
    SoH: { offset: 7, type: "uint16", sf: "SoH_SF" },
    NCyc: { offset: 8, type: "uint32" },
    V: { offset: 10, type: "uint16", sf: "V_SF" },
    CellVMax: { offset: 11, type: "uint16", sf: "CellV_SF" },
    CellVMaxCell: { offset: 12, type: "uint16" },
    CellVMin: { offset: 13, type: "uint16", sf: "CellV_SF" },
    CellVMinCell: { offset: 14, type: "uint16" },
    CellVAvg: { offset: 15, type: "uint16", sf: "CellV_SF" },
    CellTmpMax: { offset: 16, type: "int16", sf: "Tmp_SF" },
    CellTmpMaxCell: { offset: 17, type: "uint16" },
    CellTmpMin: { offset: 18, type: "int16", sf: "Tmp_SF" },
    CellTmpMinCell: { offset: 19, type: "uint16" },
    CellTmpAvg: { offset: 20, type: "int16", sf: "Tmp_SF" },
    NCellBal: { offset: 21, type: "uint16" },
    SN: { offset: 22, type: "string", size: 16 },
    SoC_SF: { offset: 38, type: "sunssf" },
    SoH_SF: { offset: 39, type: "sunssf" },
    DoD_SF: { offset: 40, type: "sunssf" },
    V_SF: { offset: 41, type: "sunssf" },
    CellV_SF: { offset: 42, type: "sunssf" },
    Tmp_SF: { offset: 43, type: "sunssf" },
  },
  /** Per cell, relative to cellBlockOffset + 4 × cellIndex. */
  cellPoints: {
    CellV: { offset: 0, type: "uint16", sf: "CellV_SF" },
    CellTmp: { offset: 1, type: "int16", sf: "Tmp_SF" },
    CellSt: { offset: 2, type: "bitfield32" },
  },
} as const;

export function moduleModelLength(cellCount: number): number {
  return MODEL_LITHIUM_MODULE.fixedLength + MODEL_LITHIUM_MODULE.cellBlockSize * cellCount;
}

/**
 * Model 803, lithium-ion bank: L = 26 + 32 × NStr; one 32-register string block per string from
 * offset 28. Source: sunspec/models json/model_803.json.
 */
export const MODEL_LITHIUM_BANK = {
  id: 803,
  fixedLength: 26,
  stringBlockOffset: 28,
  stringBlockSize: 32,
  points: {
    NStr: { offset: 2, type: "uint16" },
    NStrCon: { offset: 3, type: "uint16" },
    ModTmpMax: { offset: 4, type: "int16", sf: "ModTmp_SF" },
    ModTmpMaxStr: { offset: 5, type: "uint16" },
    ModTmpMaxMod: { offset: 6, type: "uint16" },
    ModTmpMin: { offset: 7, type: "int16", sf: "ModTmp_SF" },
    ModTmpMinStr: { offset: 8, type: "uint16" },
    ModTmpMinMod: { offset: 9, type: "uint16" },
    ModTmpAvg: { offset: 10, type: "int16", sf: "ModTmp_SF" },
    StrVMax: { offset: 11, type: "uint16", sf: "V_SF" },
    StrVMaxStr: { offset: 12, type: "uint16" },
    StrVMin: { offset: 13, type: "uint16", sf: "V_SF" },
    StrVMinStr: { offset: 14, type: "uint16" },
    StrVAvg: { offset: 15, type: "uint16", sf: "V_SF" },
    StrAMax: { offset: 16, type: "int16", sf: "A_SF" },
    StrAMaxStr: { offset: 17, type: "uint16" },
    StrAMin: { offset: 18, type: "int16", sf: "A_SF" },
    StrAMinStr: { offset: 19, type: "uint16" },
    StrAAvg: { offset: 20, type: "int16", sf: "A_SF" },
    NCellBal: { offset: 21, type: "uint16" },
    CellV_SF: { offset: 22, type: "sunssf" },
    ModTmp_SF: { offset: 23, type: "sunssf" },
    A_SF: { offset: 24, type: "sunssf" },
    SoH_SF: { offset: 25, type: "sunssf" },
    SoC_SF: { offset: 26, type: "sunssf" },
    V_SF: { offset: 27, type: "sunssf" },
  },
  /** Per string, relative to stringBlockOffset + 32 × stringIndex. */
  stringPoints: {
    StrNMod: { offset: 0, type: "uint16" },
    StrSt: { offset: 1, type: "bitfield32" },
    StrConFail: { offset: 3, type: "enum16" },
    StrSoC: { offset: 4, type: "uint16", sf: "SoC_SF" },
    StrSoH: { offset: 5, type: "uint16", sf: "SoH_SF" },
    StrA: { offset: 6, type: "int16", sf: "A_SF" },
    StrCellVMax: { offset: 7, type: "uint16", sf: "CellV_SF" },
    StrCellVMaxMod: { offset: 8, type: "uint16" },
    StrCellVMin: { offset: 9, type: "uint16", sf: "CellV_SF" },
    StrCellVMinMod: { offset: 10, type: "uint16" },
    StrCellVAvg: { offset: 11, type: "uint16", sf: "CellV_SF" },
    StrModTmpMax: { offset: 12, type: "int16", sf: "ModTmp_SF" },
    StrModTmpMaxMod: { offset: 13, type: "uint16" },
    StrModTmpMin: { offset: 14, type: "int16", sf: "ModTmp_SF" },
    StrModTmpMinMod: { offset: 15, type: "uint16" },
    StrModTmpAvg: { offset: 16, type: "int16", sf: "ModTmp_SF" },
    StrDisRsn: { offset: 17, type: "enum16" },
    StrConSt: { offset: 18, type: "bitfield32" },
    StrEvt1: { offset: 20, type: "bitfield32" },
    StrEvt2: { offset: 22, type: "bitfield32" },
    StrEvtVnd1: { offset: 24, type: "bitfield32" },
    StrEvtVnd2: { offset: 26, type: "bitfield32" },
    StrSetEna: { offset: 28, type: "enum16" },
    StrSetCon: { offset: 29, type: "enum16" },
  },
} as const;

export function bankModelLength(stringCount: number): number {
  return MODEL_LITHIUM_BANK.fixedLength + MODEL_LITHIUM_BANK.stringBlockSize * stringCount;
}

/**
 * Model 804, lithium-ion string: L = 46 + 16 × NMod; one 16-register module block per module from
 * offset 48. Source: sunspec/models json/model_804.json.
 */
export const MODEL_LITHIUM_STRING = {
  id: 804,
  fixedLength: 46,
  moduleBlockOffset: 48,
  moduleBlockSize: 16,
  points: {
    Idx: { offset: 2, type: "uint16" },
    NMod: { offset: 3, type: "uint16" },
    St: { offset: 4, type: "bitfield32" },
    ConFail: { offset: 6, type: "enum16" },
    NCellBal: { offset: 7, type: "uint16" },
    SoC: { offset: 8, type: "uint16", sf: "SoC_SF" },
    DoD: { offset: 9, type: "uint16", sf: "DoD_SF" },
    NCyc: { offset: 10, type: "uint32" },
    SoH: { offset: 12, type: "uint16", sf: "SoH_SF" },
    A: { offset: 13, type: "int16", sf: "A_SF" },
    V: { offset: 14, type: "uint16", sf: "V_SF" },
    CellVMax: { offset: 15, type: "uint16", sf: "CellV_SF" },
    CellVMaxMod: { offset: 16, type: "uint16" },
    CellVMin: { offset: 17, type: "uint16", sf: "CellV_SF" },
    CellVMinMod: { offset: 18, type: "uint16" },
    CellVAvg: { offset: 19, type: "uint16", sf: "CellV_SF" },
    ModTmpMax: { offset: 20, type: "int16", sf: "ModTmp_SF" },
    ModTmpMaxMod: { offset: 21, type: "uint16" },
    ModTmpMin: { offset: 22, type: "int16", sf: "ModTmp_SF" },
    ModTmpMinMod: { offset: 23, type: "uint16" },
    ModTmpAvg: { offset: 24, type: "int16", sf: "ModTmp_SF" },
    ConSt: { offset: 26, type: "bitfield32" },
    Evt1: { offset: 28, type: "bitfield32" },
    Evt2: { offset: 30, type: "bitfield32" },
    EvtVnd1: { offset: 32, type: "bitfield32" },
    EvtVnd2: { offset: 34, type: "bitfield32" },
    SetEna: { offset: 36, type: "enum16" },
    SetCon: { offset: 37, type: "enum16" },
    SoC_SF: { offset: 38, type: "sunssf" },
    SoH_SF: { offset: 39, type: "sunssf" },
    DoD_SF: { offset: 40, type: "sunssf" },
    A_SF: { offset: 41, type: "sunssf" },
    V_SF: { offset: 42, type: "sunssf" },
    CellV_SF: { offset: 43, type: "sunssf" },
    ModTmp_SF: { offset: 44, type: "sunssf" },
  },
  /** Per module, relative to moduleBlockOffset + 16 × moduleIndex. */
  modulePoints: {
    ModNCell: { offset: 0, type: "uint16" },
    ModSoC: { offset: 1, type: "uint16", sf: "SoC_SF" },
    ModSoH: { offset: 2, type: "uint16", sf: "SoH_SF" },
    ModCellVMax: { offset: 3, type: "uint16", sf: "CellV_SF" },
    ModCellVMaxCell: { offset: 4, type: "uint16" },
    ModCellVMin: { offset: 5, type: "uint16", sf: "CellV_SF" },
    ModCellVMinCell: { offset: 6, type: "uint16" },
    ModCellVAvg: { offset: 7, type: "uint16", sf: "CellV_SF" },
    ModCellTmpMax: { offset: 8, type: "int16", sf: "ModTmp_SF" },
    ModCellTmpMaxCell: { offset: 9, type: "uint16" },
    ModCellTmpMin: { offset: 10, type: "int16", sf: "ModTmp_SF" },
    ModCellTmpMinCell: { offset: 11, type: "uint16" },
    ModCellTmpAvg: { offset: 12, type: "int16", sf: "ModTmp_SF" },
  },
} as const;

export function stringModelLength(moduleCount: number): number {
  return MODEL_LITHIUM_STRING.fixedLength + MODEL_LITHIUM_STRING.moduleBlockSize * moduleCount;
}
