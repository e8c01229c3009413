import { z } from "zod";
import { BmsAlarmCode, EVT1_BITS } from "./bms-alarms";
import { EpochMs } from "./pack-sample";

/**
 * What a BMS remembers of its own life (the `read-event-log` command): its event log and its
 * lifetime counters. Pylontech's console keeps about 1 800 history items and counts short circuits
 * and over-voltages; Orion BMS keeps error codes with freeze frames. They are the evidence of what
 * happened while a site was offline.
 */

/** Event codes: the BMS alarm vocabulary (SunSpec 802 Evt1 names), plus what a BMS logs that is no alarm. */
export const BmsEventCode = z.enum([...BmsAlarmCode.options, "SHORT_CIRCUIT", "ALARMS_RESET", "PARAMETER_CHANGED"]);
export type BmsEventCode = z.infer<typeof BmsEventCode>;

/** An event code a profile does not name: `CODE_<raw>`, so nothing the BMS logged is dropped. */
export const UnknownBmsEventCode = z.string().regex(/^CODE_\d{1,10}$/, "CODE_<number>");

/** Lifetime counters: events counted over the pack's life, and its extremes. */
export const BmsCounterName = z.enum([
  /** Over-voltage trips. */
  "overVoltage",
  /** Under-voltage trips. */
  "underVoltage",
  /** Over-temperature trips. */
  "overTemperature",
  /** Over-current trips (charge or discharge). */
  "overCurrent",
  /** Short circuits. */
  "shortCircuit",
  /** The deepest discharge: the lowest cell voltage ever measured, V. */
  "deepestDischargeV",
  /** The highest temperature ever measured, °C. */
  "highestTemperatureC",
]);
export type BmsCounterName = z.infer<typeof BmsCounterName>;

/** The counters that count events (the others are extremes, with a unit). */
export const BMS_EVENT_COUNTERS: readonly BmsCounterName[] = ["overVoltage", "underVoltage", "overTemperature", "overCurrent", "shortCircuit"];

export const BmsCounters = z.partialRecord(BmsCounterName, z.number().finite());
export type BmsCounters = z.infer<typeof BmsCounters>;

/** One entry of the BMS's event log. */
export const BmsEvent = z.object({
  code: z.union([BmsEventCode, UnknownBmsEventCode]),
  /** When the BMS logged it, by its own clock; null when its clock was not set (0, or before 2000). */
  at: EpochMs.nullable(),
  /** What it measured, in the unit of `unit`; null when the entry has none. */
  value: z.number().finite().nullable(),
  /** V for voltage events, °C for temperature events, A for current events; null otherwise. */
  unit: z.enum(["V", "°C", "A"]).nullable(),
});
export type BmsEvent = z.infer<typeof BmsEvent>;

/** The result of `read-event-log`: the log oldest first, and the counters, as read at `readAt`. */
export const BmsHistory = z.object({
  readAt: EpochMs,
  /** Entries the BMS keeps (its ring); older ones are overwritten. */
  capacity: z.number().int().min(0).max(65_536),
  /** Events the BMS has logged in all (more than `events` once its ring wrapped); null when it does not say. */
  totalEvents: z.number().int().min(0).nullable(),
  events: z.array(BmsEvent).max(65_536),
  counters: BmsCounters,
});
export type BmsHistory = z.infer<typeof BmsHistory>;

/** The unit of an event's value, from its code. */
export function bmsEventUnit(code: string): BmsEvent["unit"] {
  if (/VOLT/.test(code)) return "V";
  if (/TEMP/.test(code)) return "°C";
  if (/CURRENT|SHORT_CIRCUIT/.test(code)) return "A";
  return null;
}

/** The alarm codes (Evt1 names) the BMS log shares with the sample's `bmsAlarms`. */
export function isAlarmEvent(code: string): code is BmsAlarmCode {
  return code in EVT1_BITS;
}
