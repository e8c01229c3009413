import type { ModelImage, ScaleChoice } from "@bms/shared/sunspec/model-encoder";
import { BATTERY_TYPE, type MODEL_BATTERY, type MODEL_COMMON } from "@bms/shared/sunspec/models";
import { CHEMISTRY, COMMON_LIMITS } from "../model/chemistry";
import type { PackSnapshot } from "../pack-model";
import type { PackIdentity } from "../simulated-device";
import type { PackTopology } from "./pack-topology";
import type { SunSpecControls } from "./sunspec-controls";
import { cellPosition, cellsPerString, extremes } from "./sunspec-pack-geometry";

/**
 * The exponents the simulator prefers (value = raw × 10^SF): 10 mV packs, 1 mV cells, 0.1 A,
 * 0.1 %, 0.1 °C. A pack whose values would not fit its point's type at these gets a coarser one
 * (a 224-cell pack serves V_SF −1), chosen per model from its ratings and its values.
 */
export const SCALE_FACTORS = {
  AHRtg_SF: 0,
  WHRtg_SF: 0,
  WChaDisChaMax_SF: 0,
  DisChaRte_SF: -2,
  SoC_SF: -1,
  DoD_SF: -1,
  SoH_SF: -1,
  V_SF: -2,
  CellV_SF: -3,
  A_SF: -1,
  AMax_SF: 0,
  W_SF: 0,
  Tmp_SF: -1,
  ModTmp_SF: -1,
} as const;

/** What the nameplate of a pack says, from its snapshot's ratings. */
export interface PackNameplate {
  /** Cells in series (one string). */
  series: number;
  nominalV: number;
  capacityAh: number;
  ratedChargeA: number;
  ratedDischargeA: number;
  /** Pack voltage limits: the chemistry's cell alarm thresholds × cells in series. */
  vMax: number;
  vMin: number;
  cellVMax: number;
}

export function nameplateOf(pack: PackSnapshot, topology: PackTopology): PackNameplate {
  const r = pack.ratings;
  const series = r.cellsInSeries || cellsPerString(topology);
  return {
    series,
    nominalV: r.nominalCellV * series,
    capacityAh: r.capacityAh,
    ratedChargeA: r.capacityAh * r.chargeC,
    ratedDischargeA: r.capacityAh * r.dischargeC,
    vMax: r.cellVMax * series,
    vMin: r.cellVMin * series,
    cellVMax: r.cellVMax,
  };
}

/** Preferred exponents with the headroom a pack's ratings need: voltage up to the alarm limit, current and power up to twice the rating. */
export function scaleChoices(plate: PackNameplate, cellsInModel: number): Partial<Record<keyof typeof SCALE_FACTORS, ScaleChoice>> {
  const amps = 2 * Math.max(plate.ratedChargeA, plate.ratedDischargeA);
  const out: Partial<Record<keyof typeof SCALE_FACTORS, ScaleChoice>> = {};
  for (const [name, preferred] of Object.entries(SCALE_FACTORS) as [keyof typeof SCALE_FACTORS, number][]) out[name] = { preferred };
  out.V_SF = { preferred: SCALE_FACTORS.V_SF, headroom: plate.cellVMax * cellsInModel };
  out.A_SF = { preferred: SCALE_FACTORS.A_SF, headroom: amps };
  out.AMax_SF = { preferred: SCALE_FACTORS.AMax_SF, headroom: amps };
  out.W_SF = { preferred: SCALE_FACTORS.W_SF, headroom: amps * plate.vMax };
  return out;
}

export function commonImage(identity: PackIdentity): ModelImage<typeof MODEL_COMMON> {
  return {
    points: { Mn: identity.manufacturer, Md: identity.model, Vr: identity.firmware, SN: identity.serial, DA: identity.unitId, Pad: null },
  };
}

/** Model 802 of a pack: nameplate from its ratings, state from its snapshot, control points from the controller's settings. */
export function batteryImage(identity: PackIdentity, pack: PackSnapshot, topology: PackTopology, controls: SunSpecControls): ModelImage<typeof MODEL_BATTERY> {
  const plate = nameplateOf(pack, topology);
  const cellV = extremes(pack.cellVoltages);
  const maxAt = cellPosition(topology, cellV.maxIndex);
  const minAt = cellPosition(topology, cellV.minIndex);
  return {
    points: {
      AHRtg: plate.capacityAh,
      WHRtg: plate.capacityAh * plate.nominalV,
      WChaRteMax: plate.ratedChargeA * plate.nominalV,
      WDisChaRteMax: plate.ratedDischargeA * plate.nominalV,
      // Self-discharge, % of WHRtg per day.
      DisChaRte: CHEMISTRY[pack.chemistry].selfDischargePctPerMonth / 30,
      SoCMax: COMMON_LIMITS.fullSoc,
      SoCMin: COMMON_LIMITS.emptySoc,
      SocRsvMax: controls.socReserveMax,
      SoCRsvMin: controls.socReserveMin,
      SoC: pack.soc,
      DoD: 100 - pack.soc,
      SoH: pack.soh,
      NCyc: pack.cycles,
      ChaSt: pack.chargeStatus,
      LocRemCtl: 0, // REMOTE: the BMS takes commands over Modbus
      // +1 per second, wrapping before 0xFFFF ("not implemented").
      Hb: Math.floor(pack.simulatedSeconds) % 0xffff,
      CtrlHb: controls.controllerHeartbeat,
      // A reset completes at once, so AlmRst always reads 0 ("reset to 0 when reset is complete").
      AlmRst: 0,
      Typ: BATTERY_TYPE.LITHIUM_ION,
      State: pack.state,
      StateVnd: null,
      WarrDt: identity.warrantyDays,
      Evt1: pack.evt1,
      Evt2: 0,
      EvtVnd1: 0,
      EvtVnd2: 0,
      V: pack.packVoltage,
      VMax: plate.vMax,
      VMin: plate.vMin,
      CellVMax: cellV.max,
      CellVMaxStr: maxAt.string,
      CellVMaxMod: maxAt.module,
      CellVMin: cellV.min,
      CellVMinStr: minAt.string,
      CellVMinMod: minAt.module,
      CellVAvg: cellV.avg,
      A: pack.current,
      AChaMax: pack.chargeCurrentLimit,
      ADisChaMax: pack.dischargeCurrentLimit,
      W: pack.current * pack.packVoltage,
      ReqInvState: 0, // NO REQUEST
      ReqW: null,
      SetOp: controls.setOperation,
      SetInvState: controls.setInverterState,
    },
    scale: scaleChoices(plate, plate.series),
  };
}
