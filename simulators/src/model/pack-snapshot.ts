import type { BmsAlarmCode } from "@bms/shared";
import type { ResolvedFault } from "../faults";
import type { ProtectionName } from "./bms-protection";
import type { Chemistry } from "./chemistry";
import type { Topology } from "./pack-model-options";

/** What the registers and frames publish as the pack's ratings (chemistry and size dependent). */
export interface PackRatings {
  chemistry: Chemistry;
  nominalCellV: number;
  /** Cell over-/under-voltage alarm thresholds (SunSpec 802 VMax/VMin ÷ cells in series). */
  cellVMax: number;
  cellVMin: number;
  /** Continuous ratings, C. */
  chargeC: number;
  dischargeC: number;
  /** Rated pack capacity (one string × strings), Ah. */
  capacityAh: number;
  cellsInSeries: number;
}

/** The pack as its BMS reports it, plus the true state behind it (for tests and encoders of the true values). */
export interface PackSnapshot {
  simulatedSeconds: number;
  chemistry: Chemistry;
  topology: Topology;
  ratings: PackRatings;
  /** %, as the BMS reports it (coulomb counting, recalibrated at full/empty). */
  soc: number;
  /** %, the true SOC (mean of the cells). */
  trueSoc: number;
  /** %, as the BMS estimates it. */
  soh: number;
  /** %, true: usable capacity (weakest cell of each string) ÷ rated. */
  trueSoh: number;
  /** Ah left as the BMS reports it. */
  remainingCapacityAh: number;
  /** A, + charging (0 while the contactor is open). */
  current: number;
  /** A per string, + charging. */
  stringCurrents: number[];
  /** V at the terminals (strings are in parallel: the mean of their sums of cell voltages). */
  packVoltage: number;
  /** V per cell as the BMS measures it, flattened string → module → cell. */
  cellVoltages: number[];
  /** °C per cell sensor as the BMS reads it (a failed sensor reads what it reads). */
  cellTemperatures: number[];
  /** %, true SOC per cell. */
  cellSocs: number[];
  /** Ah, true capacity per cell (with spread and fade). */
  cellCapacitiesAh: number[];
  /** Cells the BMS is bleeding now. */
  balancing: boolean[];
  /** Evt1 alarm codes reported now (live warnings and latched alarms), in bit order. */
  alarms: BmsAlarmCode[];
  /** Evt1 bitfield of `alarms`. */
  evt1: number;
  /** Protections tripped and latched now (the contactor is open while any is). */
  trips: ProtectionName[];
  contactorClosed: boolean;
  /** The BMS's cycle counter: discharged Ah ÷ rated, fast-forwarded cycles included. */
  cycles: number;
  /** True charge and energy through the pack's terminals while stepped (fast-forwards not included); a replay has none. */
  throughput?: { chargedAh: number; dischargedAh: number; chargedKWh: number; dischargedKWh: number };
  /** True internal resistance of the pack at 25 °C and mid SOC, aged, mΩ; a replay has none. */
  resistance25MilliOhm?: number;
  /** Only for packs with `ageing`: how far they aged, and each cell's capacity and resistance against its start. */
  ageing?: { agedDays: number; fastForwardedCycles: number; cellCapacityFactors: number[]; cellResistanceFactors: number[] };
  /** SunSpec 802 ChaSt value. */
  chargeStatus: number;
  /** SunSpec 802 State value. */
  state: number;
  /** A the BMS allows now (both ≥ 0). */
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  /** V, pack charge / discharge voltage limits (CAN 0x351). */
  chargeVoltageLimit: number;
  dischargeVoltageLimit: number;
  /** kΩ, only when the BMS measures insulation. */
  insulationResistanceKOhm?: number;
  faults: ResolvedFault[];
}
