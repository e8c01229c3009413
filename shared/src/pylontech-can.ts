import type { BmsAlarmCode } from "./bms-alarms";

/**
 * The Pylontech/Victron CAN protocol's wire layout (docs/protocols.md §2), shared by the simulator
 * (encodes) and the edge agent (decodes). Multi-byte fields are little-endian.
 */

/** The broadcast IDs, in the order a BMS sends them. */
export const PYLONTECH_IDS = {
  limits: 0x351,
  socSoh: 0x355,
  measurements: 0x356,
  protection: 0x359,
  victronAlarms: 0x35a,
  requests: 0x35c,
  manufacturer: 0x35e,
} as const;

/** 0x359 flags as [byte, bit, code]: protection (alarm) flags in bytes 0–1, warnings in bytes 2–3. */
export const PYLONTECH_PROTECTION_BITS: readonly (readonly [number, number, BmsAlarmCode])[] = [
  [0, 1, "OVER_VOLT_ALARM"],
  [0, 2, "UNDER_VOLT_ALARM"],
  [0, 3, "OVER_TEMP_ALARM"],
  [0, 4, "UNDER_TEMP_ALARM"],
  [0, 7, "OVER_DISCHARGE_CURRENT_ALARM"],
  [1, 0, "OVER_CHARGE_CURRENT_ALARM"],
  [1, 3, "OTHER_ALARM"], // "system error"
  [2, 1, "OVER_VOLT_WARNING"],
  [2, 2, "UNDER_VOLT_WARNING"],
  [2, 3, "OVER_TEMP_WARNING"],
  [2, 4, "UNDER_TEMP_WARNING"],
  [2, 7, "OVER_DISCHARGE_CURRENT_WARNING"],
  [3, 0, "OVER_CHARGE_CURRENT_WARNING"],
  [3, 3, "COMMUNICATION_ERROR"], // "internal communication failure"
];
