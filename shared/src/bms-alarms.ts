import { z } from "zod";

/**
 * The one vocabulary of BMS-reported alarm codes: SunSpec model 802 Evt1 point names.
 * CAN 0x359/0x35A flags are mapped onto these by the CAN decoder. Index = Evt1 bit number.
 */
export const EVT1_BITS = {
  COMMUNICATION_ERROR: 0,
  OVER_TEMP_ALARM: 1,
  OVER_TEMP_WARNING: 2,
  UNDER_TEMP_ALARM: 3,
  UNDER_TEMP_WARNING: 4,
  OVER_CHARGE_CURRENT_ALARM: 5,
  OVER_CHARGE_CURRENT_WARNING: 6,
  OVER_DISCHARGE_CURRENT_ALARM: 7,
  OVER_DISCHARGE_CURRENT_WARNING: 8,
  OVER_VOLT_ALARM: 9,
  OVER_VOLT_WARNING: 10,
  UNDER_VOLT_ALARM: 11,
  UNDER_VOLT_WARNING: 12,
  UNDER_SOC_MIN_ALARM: 13,
  UNDER_SOC_MIN_WARNING: 14,
  OVER_SOC_MAX_ALARM: 15,
  OVER_SOC_MAX_WARNING: 16,
  VOLTAGE_IMBALANCE_WARNING: 17,
  TEMPERATURE_IMBALANCE_ALARM: 18,
  TEMPERATURE_IMBALANCE_WARNING: 19,
  CONTACTOR_ERROR: 20,
  FAN_ERROR: 21,
  GROUND_FAULT: 22,
  OPEN_DOOR_ERROR: 23,
  CURRENT_IMBALANCE_WARNING: 24,
  OTHER_ALARM: 25,
  OTHER_WARNING: 26,
  CONFIGURATION_ALARM: 28,
  CONFIGURATION_WARNING: 29,
} as const;

export type BmsAlarmCode = keyof typeof EVT1_BITS;

const CODES = Object.keys(EVT1_BITS) as [BmsAlarmCode, ...BmsAlarmCode[]];
export const BmsAlarmCode = z.enum(CODES);

/** Decodes a 32-bit Evt1 bitfield into alarm codes, in bit order. Unknown bits are ignored. */
export function evt1ToAlarms(bits: number): BmsAlarmCode[] {
  return CODES.filter((code) => ((bits >>> EVT1_BITS[code]) & 1) === 1);
}

/** Encodes alarm codes into a 32-bit Evt1 bitfield (unsigned). */
export function alarmsToEvt1(codes: readonly BmsAlarmCode[]): number {
  let bits = 0;
  for (const code of codes) bits |= 1 << EVT1_BITS[code];
  return bits >>> 0;
}
