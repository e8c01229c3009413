import type { BmsAlarmCode } from "@bms/shared";
import type { ChemistryParameters } from "./chemistry";

/** What the BMS bases its current limits on. */
export interface LimitInputs {
  params: ChemistryParameters;
  /** Continuous ratings of the pack, A. */
  ratedChargeA: number;
  ratedDischargeA: number;
  tripped: boolean;
  /** Evt1 codes the BMS reports now. */
  reported: readonly BmsAlarmCode[];
  /** Sensor readings, °C. */
  sensors: readonly number[];
  /** Rested cell voltages, V. */
  ocv: readonly number[];
  full: boolean;
  empty: boolean;
}

/**
 * The charge and discharge currents the BMS allows (both ≥ 0, A): rated, halved at an over- or
 * under-temperature warning or a cell under-voltage warning; charge derated below 5 °C above the
 * charge window's floor and 0 outside it; tapering to 0 as the highest (lowest) rested cell nears
 * the charge (discharge) stop; 0 at full, at an over-voltage warning, at empty, and while tripped.
 */
export function currentLimits(x: LimitInputs): { charge: number; discharge: number } {
  if (x.tripped) return { charge: 0, discharge: 0 };
  const p = x.params;
  const maxT = Math.max(...x.sensors);
  const minT = Math.min(...x.sensors);
  const hot = x.reported.includes("OVER_TEMP_WARNING") ? 0.5 : 1;
  const cold = x.reported.includes("UNDER_TEMP_WARNING") ? 0.5 : 1;
  let charge = x.ratedChargeA * hot;
  if (minT < p.chargeMinC || maxT > p.chargeMaxC) charge = 0;
  else if (minT < p.chargeMinC + 5) charge *= (minT - p.chargeMinC) / 5;
  const maxOcv = Math.max(...x.ocv);
  const minOcv = Math.min(...x.ocv);
  charge *= Math.min(1, Math.max(0, (p.chargeStopV - maxOcv) / p.taperV));
  if (x.full || x.reported.includes("OVER_VOLT_WARNING")) charge = 0;
  // A sagging cell under load halves the discharge allowance; its rested voltage (the taper) stops it.
  const sagging = x.reported.includes("UNDER_VOLT_WARNING") ? 0.5 : 1;
  let discharge = x.ratedDischargeA * hot * cold * sagging;
  discharge *= Math.min(1, Math.max(0, (minOcv - p.dischargeStopV) / p.taperV));
  if (x.empty) discharge = 0;
  return { charge, discharge };
}
