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
