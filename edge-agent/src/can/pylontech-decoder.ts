import { type BmsAlarmCode, EVT1_BITS, PYLONTECH_IDS, PYLONTECH_PROTECTION_BITS } from "@bms/shared";
import { DecodeError } from "../readers/decode-error";
import { type DecodedSample, withoutUndefined } from "../readers/device-reader";

/** A sample needs these; 0x35A, 0x35C and 0x35E are taken when the BMS sends them. */
export const REQUIRED_IDS = [PYLONTECH_IDS.limits, PYLONTECH_IDS.socSoh, PYLONTECH_IDS.measurements, PYLONTECH_IDS.protection] as const;
export const OPTIONAL_IDS = [PYLONTECH_IDS.victronAlarms, PYLONTECH_IDS.requests, PYLONTECH_IDS.manufacturer] as const;

/** A frame that cannot be what its ID says (too short). */
export class CanDecodeError extends DecodeError {
  override readonly name = "CanDecodeError";
}

export interface PylontechOptions {
  /** +1: current positive while charging; −1 when the BMS sends the opposite. @default 1 */
  currentSign?: 1 | -1;
}

/**
 * 0x35A items, 2 bits each from byte 0 bit 0 (`01` active, `10` OK, `00` unsupported): the code each
 * maps onto, alarms in bytes 0–3 and the same items as warnings in bytes 4–7. Item 0 ("general")
 * only summarises the others and maps onto nothing.
 */
const VICTRON_ALARMS: readonly (BmsAlarmCode | null)[] = [
  null,
  "OVER_VOLT_ALARM",
  "UNDER_VOLT_ALARM",
  "OVER_TEMP_ALARM",
  "UNDER_TEMP_ALARM",
  "OVER_TEMP_ALARM", // high temperature while charging
  "UNDER_TEMP_ALARM", // low temperature while charging
  "OVER_DISCHARGE_CURRENT_ALARM",
  "OVER_CHARGE_CURRENT_ALARM",
  "CONTACTOR_ERROR",
  "OVER_DISCHARGE_CURRENT_ALARM", // short circuit
  "OTHER_ALARM", // BMS internal
  "VOLTAGE_IMBALANCE_WARNING", // cell imbalance: the vocabulary has no alarm level for it
];
const VICTRON_WARNINGS: readonly (BmsAlarmCode | null)[] = [
  null,
  "OVER_VOLT_WARNING",
  "UNDER_VOLT_WARNING",
  "OVER_TEMP_WARNING",
  "UNDER_TEMP_WARNING",
  "OVER_TEMP_WARNING",
  "UNDER_TEMP_WARNING",
  "OVER_DISCHARGE_CURRENT_WARNING",
  "OVER_CHARGE_CURRENT_WARNING",
  "OTHER_WARNING", // contactor
  "OVER_DISCHARGE_CURRENT_WARNING", // short circuit
  "OTHER_WARNING", // BMS internal
  "VOLTAGE_IMBALANCE_WARNING",
];

function view(frames: ReadonlyMap<number, { data: Uint8Array }>, id: number, minLength: number): DataView | undefined {
  const frame = frames.get(id);
  if (!frame) return undefined;
  if (frame.data.length < minLength) {
    throw new CanDecodeError(`frame 0x${id.toString(16).toUpperCase()} has ${frame.data.length} bytes, needs ${minLength}`);
  }
  return new DataView(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

export interface DecodedCanFrames {
  sample: DecodedSample;
  /** 0x35E, when the BMS sent it. */
  manufacturer?: string;
}

/**
 * The latest Pylontech frames (IDs without any bus offset) → a pack sample, not yet validated.
 * Little-endian. The protocol carries no cell voltages (`cellVoltages` is empty) and one
 * temperature (0x356, taken as the pack's one sensor). Alarm flags of 0x359 and 0x35A are or'ed.
 */
export function decodePylontechFrames(frames: ReadonlyMap<number, { data: Uint8Array }>, ts: number, options: PylontechOptions = {}): DecodedCanFrames {
  const sign = options.currentSign ?? 1;
  const limits = view(frames, PYLONTECH_IDS.limits, 8);
  const soc = view(frames, PYLONTECH_IDS.socSoh, 4);
  const measured = view(frames, PYLONTECH_IDS.measurements, 6);
  const protection = view(frames, PYLONTECH_IDS.protection, 4);
  const victron = view(frames, PYLONTECH_IDS.victronAlarms, 8);
  const sample: DecodedSample = { v: 1, ts, seq: 0, cellVoltages: [], cellTemperatures: [] };
  if (measured) {
    sample.packVoltage = round(measured.getInt16(0, true) * 0.01, 2);
    sample.current = round(sign * measured.getInt16(2, true) * 0.1, 1);
    sample.cellTemperatures = [round(measured.getInt16(4, true) * 0.1, 1)];
  }
  if (soc) {
    sample.soc = soc.getUint16(0, true);
    sample.soh = soc.getUint16(2, true);
    // Some BMSes add SOC in 0.01 %: finer, used when it agrees with the whole-percent value.
    if (soc.byteLength >= 6) {
      const fine = soc.getUint16(4, true) / 100;
      if (Math.abs(fine - sample.soc) <= 1) sample.soc = round(fine, 2);
    }
  }
  if (limits) {
    sample.chargeVoltageLimit = round(limits.getUint16(0, true) * 0.1, 1);
    sample.chargeCurrentLimit = round(limits.getInt16(2, true) * 0.1, 1);
    // Sent positive by most BMSes, negative by a few: the limit is its size.
    sample.dischargeCurrentLimit = round(Math.abs(limits.getInt16(4, true)) * 0.1, 1);
    sample.dischargeVoltageLimit = round(limits.getUint16(6, true) * 0.1, 1);
  }
  const alarms = new Set<BmsAlarmCode>();
  if (protection) {
    for (const [byte, bit, code] of PYLONTECH_PROTECTION_BITS) if ((protection.getUint8(byte) >> bit) & 1) alarms.add(code);
  }
  if (victron) {
    const pairs = (first: number, items: readonly (BmsAlarmCode | null)[]) =>
      items.forEach((code, i) => {
        const bits = (victron.getUint8(first + Math.floor(i / 4)) >> ((i % 4) * 2)) & 0b11;
        if (code && bits === 0b01) alarms.add(code);
      });
    pairs(0, VICTRON_ALARMS);
    pairs(4, VICTRON_WARNINGS);
  }
  if (protection || victron) sample.bmsAlarms = (Object.keys(EVT1_BITS) as BmsAlarmCode[]).filter((code) => alarms.has(code));
  const name = frames.get(PYLONTECH_IDS.manufacturer);
  const manufacturer = name
    ? String.fromCharCode(...name.data)
        .replace(/[^\x20-\x7e]/g, "")
        .trim()
    : undefined;
  return { sample: withoutUndefined(sample), ...(manufacturer ? { manufacturer } : {}) };
}
