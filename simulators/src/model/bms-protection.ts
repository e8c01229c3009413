import type { BmsAlarmCode } from "@bms/shared";
import { z } from "zod";
import { type ChemistryParameters, COMMON_LIMITS } from "./chemistry";

/** The protections a BMS trips on; each opens the contactor and latches its Evt1 alarm bit. */
export const ProtectionNameSchema = z.enum([
  "over-voltage",
  "under-voltage",
  "over-temperature",
  "under-temperature",
  "over-charge-current",
  "over-discharge-current",
  "insulation",
]);
export type ProtectionName = z.infer<typeof ProtectionNameSchema>;

interface ProtectionSpec {
  alarm: BmsAlarmCode;
  warning: BmsAlarmCode;
  /** The alarm condition must hold this long before the BMS trips, s (filters spikes). */
  delayS: number;
}

export const PROTECTIONS: Readonly<Record<ProtectionName, ProtectionSpec>> = {
  "over-voltage": { alarm: "OVER_VOLT_ALARM", warning: "OVER_VOLT_WARNING", delayS: 1 },
  "under-voltage": { alarm: "UNDER_VOLT_ALARM", warning: "UNDER_VOLT_WARNING", delayS: 1 },
  "over-temperature": { alarm: "OVER_TEMP_ALARM", warning: "OVER_TEMP_WARNING", delayS: 2 },
  "under-temperature": { alarm: "UNDER_TEMP_ALARM", warning: "UNDER_TEMP_WARNING", delayS: 2 },
  "over-charge-current": { alarm: "OVER_CHARGE_CURRENT_ALARM", warning: "OVER_CHARGE_CURRENT_WARNING", delayS: 1 },
  "over-discharge-current": { alarm: "OVER_DISCHARGE_CURRENT_ALARM", warning: "OVER_DISCHARGE_CURRENT_WARNING", delayS: 1 },
  insulation: { alarm: "GROUND_FAULT", warning: "OTHER_WARNING", delayS: 5 },
};

const NAMES = ProtectionNameSchema.options;

/** Live conditions the BMS sees in one evaluation. */
export interface ProtectionConditions {
  warning: Readonly<Record<ProtectionName, boolean>>;
  alarm: Readonly<Record<ProtectionName, boolean>>;
  /** Non-tripping warnings (imbalance, a failed sensor) reported while true. */
  extraWarnings: readonly BmsAlarmCode[];
  /** Temperature imbalance alarm: latches like an alarm but does not open the contactor. */
  temperatureImbalanceAlarm: boolean;
}

/** What the BMS measures and knows, for one evaluation of its protections. */
export interface ProtectionInputs {
  params: ChemistryParameters;
  /** Continuous ratings of the pack, A. */
  ratedChargeA: number;
  ratedDischargeA: number;
  /** Measured cell voltages, V, and sensor readings, °C. */
  voltages: readonly number[];
  sensors: readonly number[];
  /** A, + charging. */
  current: number;
  /** Measured insulation resistance, kΩ. */
  insulationKOhm: number;
  /** Protections whose alarm condition a fault forces. */
  forced: ReadonlySet<ProtectionName>;
}

/** The live warning and alarm conditions (thresholds per chemistry and COMMON_LIMITS). */
export function protectionConditions(x: ProtectionInputs): ProtectionConditions {
  const p = x.params;
  const maxV = Math.max(...x.voltages);
  const minV = Math.min(...x.voltages);
  const maxT = Math.max(...x.sensors);
  const minT = Math.min(...x.sensors);
  const iso = x.insulationKOhm;
  const forced = x.forced;
  const chargeA = x.current;
  const dischargeA = -x.current;
  const extraWarnings: BmsAlarmCode[] = [];
  const imbalanceV = Math.min(COMMON_LIMITS.voltageImbalanceFraction * p.overVoltAlarmV, COMMON_LIMITS.voltageImbalanceMaxV);
  if (maxV - minV > imbalanceV) extraWarnings.push("VOLTAGE_IMBALANCE_WARNING");
  if (maxT - minT > COMMON_LIMITS.temperatureImbalanceWarningC) extraWarnings.push("TEMPERATURE_IMBALANCE_WARNING");
  if (minT < COMMON_LIMITS.plausibleMinC || maxT > COMMON_LIMITS.plausibleMaxC) extraWarnings.push("OTHER_WARNING");
  const w = COMMON_LIMITS.overCurrentWarningFactor;
  const a = COMMON_LIMITS.overCurrentAlarmFactor;
  return {
    warning: {
      "over-voltage": maxV >= p.overVoltWarningV,
      "under-voltage": minV <= p.underVoltWarningV,
      "over-temperature": maxT >= p.overTempWarningC,
      "under-temperature": minT <= p.underTempWarningC,
      "over-charge-current": chargeA > x.ratedChargeA * w,
      "over-discharge-current": dischargeA > x.ratedDischargeA * w,
      insulation: iso < COMMON_LIMITS.insulationWarningKOhm,
    },
    alarm: {
      "over-voltage": maxV >= p.overVoltAlarmV || forced.has("over-voltage"),
      "under-voltage": minV <= p.underVoltAlarmV || forced.has("under-voltage"),
      "over-temperature": maxT >= p.overTempAlarmC || forced.has("over-temperature"),
      "under-temperature": minT <= p.underTempAlarmC || forced.has("under-temperature"),
      "over-charge-current": chargeA > x.ratedChargeA * a || forced.has("over-charge-current"),
      "over-discharge-current": dischargeA > x.ratedDischargeA * a || forced.has("over-discharge-current"),
      insulation: iso < COMMON_LIMITS.insulationAlarmKOhm || forced.has("insulation"),
    },
    extraWarnings,
    temperatureImbalanceAlarm: maxT - minT > COMMON_LIMITS.temperatureImbalanceAlarmC,
  };
}

/**
 * Trip timers and latches. Warnings follow the live condition; an alarm condition held for the
 * protection's delay trips (latches) it; a latched protection clears only after a reset request
 * and once its condition has gone, as AlmRst works on a real BMS.
 */
export class ProtectionLatch {
  private readonly heldS = new Map<ProtectionName, number>();
  private readonly tripped = new Set<ProtectionName>();
  private imbalanceLatched = false;
  private resetRequested = false;
  private last: ProtectionConditions | undefined;

  /** Feeds one evaluation; `dtSeconds` 0 re-evaluates without advancing the delay timers. */
  update(conditions: ProtectionConditions, dtSeconds: number): void {
    this.last = conditions;
    for (const name of NAMES) {
      const held = conditions.alarm[name] ? (this.heldS.get(name) ?? 0) + dtSeconds : 0;
      this.heldS.set(name, held);
      // 1e-9: sub-steps add up to the delay in floating point.
      if (conditions.alarm[name] && held >= PROTECTIONS[name].delayS - 1e-9) this.tripped.add(name);
    }
    if (conditions.temperatureImbalanceAlarm) this.imbalanceLatched = true;
    if (this.resetRequested) {
      for (const name of [...this.tripped]) if (!conditions.alarm[name]) this.tripped.delete(name);
      if (this.imbalanceLatched && !conditions.temperatureImbalanceAlarm) this.imbalanceLatched = false;
      if (this.tripped.size === 0 && !this.imbalanceLatched) this.resetRequested = false;
    }
  }

  requestReset(): void {
    this.resetRequested = true;
    if (this.last) this.update(this.last, 0);
  }

  trips(): ProtectionName[] {
    return NAMES.filter((name) => this.tripped.has(name));
  }

  isTripped(): boolean {
    return this.tripped.size > 0;
  }

  /** Evt1 codes reported now: live warnings and latched alarms (unordered; encode with alarmsToEvt1). */
  reported(): BmsAlarmCode[] {
    const codes = new Set<BmsAlarmCode>();
    const c = this.last;
    if (c) {
      for (const name of NAMES) if (c.warning[name]) codes.add(PROTECTIONS[name].warning);
      for (const code of c.extraWarnings) codes.add(code);
    }
    for (const name of this.tripped) codes.add(PROTECTIONS[name].alarm);
    if (this.imbalanceLatched) codes.add("TEMPERATURE_IMBALANCE_ALARM");
    return [...codes];
  }
}
