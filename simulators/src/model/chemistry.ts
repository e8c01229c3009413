import { z } from "zod";

export const ChemistrySchema = z.enum(["LFP", "NMC"]);
export type Chemistry = z.infer<typeof ChemistrySchema>;

/** What a BMS of this chemistry protects and publishes. Cell volts, °C, C-rates (sources: docs/simulators.md "Pack model"). */
export interface ChemistryParameters {
  nominalCellV: number;
  /** Charge current tapers to 0 as the highest cell's rested voltage reaches this (CV phase); also the CAN charge voltage limit per cell. */
  chargeStopV: number;
  /** Discharge current tapers to 0 as the lowest cell's rested voltage falls to this. */
  dischargeStopV: number;
  /** Per-cell discharge voltage limit published on CAN (× cells in series). */
  dischargeLimitV: number;
  /** The taper window above dischargeStopV / below chargeStopV, V. */
  taperV: number;
  overVoltWarningV: number;
  overVoltAlarmV: number;
  underVoltWarningV: number;
  underVoltAlarmV: number;
  overTempWarningC: number;
  overTempAlarmC: number;
  underTempWarningC: number;
  underTempAlarmC: number;
  /** Charging is allowed only inside this window (charge limit 0 outside). */
  chargeMinC: number;
  chargeMaxC: number;
  /** Balancing bleeds cells above this voltage (near the top of charge) that sit above the lowest cell. */
  balanceStartV: number;
  /** Continuous ratings, C. */
  chargeC: number;
  dischargeC: number;
  /** Self-discharge at 25 °C, % per 30 days. */
  selfDischargePctPerMonth: number;
}

export const CHEMISTRY: Readonly<Record<Chemistry, ChemistryParameters>> = {
  LFP: {
    nominalCellV: 3.2,
    chargeStopV: 3.45,
    dischargeStopV: 3.0,
    dischargeLimitV: 2.9,
    taperV: 0.05,
    overVoltWarningV: 3.55,
    overVoltAlarmV: 3.65,
    underVoltWarningV: 2.8,
    underVoltAlarmV: 2.5,
    overTempWarningC: 50,
    overTempAlarmC: 55,
    underTempWarningC: -15,
    underTempAlarmC: -20,
    chargeMinC: 0,
    chargeMaxC: 50,
    balanceStartV: 3.4,
    chargeC: 0.5,
    dischargeC: 1,
    selfDischargePctPerMonth: 2,
  },
  NMC: {
    nominalCellV: 3.7,
    chargeStopV: 4.12,
    dischargeStopV: 3.4,
    dischargeLimitV: 3.0,
    taperV: 0.05,
    overVoltWarningV: 4.17,
    overVoltAlarmV: 4.2,
    underVoltWarningV: 3.0,
    underVoltAlarmV: 2.75,
    overTempWarningC: 55,
    overTempAlarmC: 60,
    underTempWarningC: -15,
    underTempAlarmC: -20,
    chargeMinC: 0,
    chargeMaxC: 45,
    balanceStartV: 4.0,
    chargeC: 0.5,
    dischargeC: 1,
    selfDischargePctPerMonth: 3,
  },
};

/** Alarm thresholds common to both chemistries. */
export const COMMON_LIMITS = {
  /** Over-current warning / alarm, multiples of the continuous rating. */
  overCurrentWarningFactor: 1.1,
  overCurrentAlarmFactor: 1.5,
  /** Cell voltage spread: warning above min(3 % of the over-voltage alarm, 120 mV) (dbus-serialbattery). */
  voltageImbalanceFraction: 0.03,
  voltageImbalanceMaxV: 0.12,
  /** Sensor spread, °C. */
  temperatureImbalanceWarningC: 8,
  temperatureImbalanceAlarmC: 15,
  /** Insulation resistance: OTHER_WARNING below, GROUND_FAULT (trip) below, kΩ. */
  insulationWarningKOhm: 500,
  insulationAlarmKOhm: 100,
  /** A sensor reading outside this range is a failed sensor (OTHER_WARNING), °C. */
  plausibleMinC: -39,
  plausibleMaxC: 124,
  /** BMS SOC at which discharge stops / full is declared, %. */
  emptySoc: 5,
  fullSoc: 100,
  /** After "full", charging resumes below this BMS SOC; after "empty", discharge resumes above. */
  fullResumeSoc: 97,
  emptyResumeSoc: 8,
} as const;
