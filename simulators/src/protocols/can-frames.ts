import { type BmsAlarmCode, PYLONTECH_IDS, PYLONTECH_PROTECTION_BITS } from "@bms/shared";
import type { PackSnapshot } from "../pack-model";
import type { PackIdentity } from "../simulated-device";
import { packSampleFieldsOf } from "./pack-sample-fields";
import { topologyOf } from "./pack-topology";

/** One classic CAN frame: 11-bit ID, 0–8 data bytes. */
export interface CanFrame {
  id: number;
  data: Uint8Array;
}

export interface PylontechFrameOptions {
  /** +1: current positive while charging (Victron, this project); −1 for inverters that expect the opposite. @default 1 */
  currentSign?: 1 | -1;
  /** Up to 8 ASCII characters in 0x35E. @default "PYLON" */
  manufacturer?: string;
  /** Added to every ID, for several BMSes on one bus. @default 0 */
  canIdOffset?: number;
}

function u16(view: DataView, at: number, value: number): void {
  view.setUint16(at, Math.min(0xffff, Math.max(0, Math.round(value))), true);
}

function s16(view: DataView, at: number, value: number): void {
  view.setInt16(at, Math.min(0x7fff, Math.max(-0x8000, Math.round(value))), true);
}

/** 0x359: the shared layout, and the contactor error, which this BMS reports as a system error. */
const PROTECTION_BITS: readonly (readonly [number, number, BmsAlarmCode])[] = [...PYLONTECH_PROTECTION_BITS, [1, 3, "CONTACTOR_ERROR"]];

/**
 * 0x35A items in order (byte 0 bits 0–1 first, 2 bits each): the alarm code that makes each one
 * active; null = always "OK". Alarms fill bytes 0–3, warnings the same items in bytes 4–7.
 */
const VICTRON_ALARM_ITEMS: readonly (readonly BmsAlarmCode[] | null)[] = [
  null, // general: set below from any alarm
  ["OVER_VOLT_ALARM"],
  ["UNDER_VOLT_ALARM"],
  ["OVER_TEMP_ALARM"],
  ["UNDER_TEMP_ALARM"],
  null, // high temperature while charging
  null, // low temperature while charging
  ["OVER_DISCHARGE_CURRENT_ALARM"],
  ["OVER_CHARGE_CURRENT_ALARM"],
  ["CONTACTOR_ERROR"],
  null, // short circuit
  ["OTHER_ALARM", "COMMUNICATION_ERROR"],
  null, // cell imbalance (alarm level not reported by this BMS)
];
const VICTRON_WARNING_ITEMS: readonly (readonly BmsAlarmCode[] | null)[] = [
  null,
  ["OVER_VOLT_WARNING"],
  ["UNDER_VOLT_WARNING"],
  ["OVER_TEMP_WARNING"],
  ["UNDER_TEMP_WARNING"],
  null,
  null,
  ["OVER_DISCHARGE_CURRENT_WARNING"],
  ["OVER_CHARGE_CURRENT_WARNING"],
  null,
  null,
  ["OTHER_WARNING"],
  ["VOLTAGE_IMBALANCE_WARNING"],
];

function victronPairs(
  view: DataView,
  firstByte: number,
  items: readonly (readonly BmsAlarmCode[] | null)[],
  active: ReadonlySet<BmsAlarmCode>,
  any: boolean,
): void {
  items.forEach((codes, i) => {
    const on = i === 0 ? any : (codes ?? []).some((code) => active.has(code));
    const byte = firstByte + Math.floor(i / 4);
    const shift = (i % 4) * 2;
    view.setUint8(byte, view.getUint8(byte) | ((on ? 0b01 : 0b10) << shift));
  });
}

/**
 * The frames a Pylontech-protocol BMS broadcasts for this snapshot: 0x351 limits, 0x355 SOC/SOH,
 * 0x356 voltage/current/temperature (the hottest sensor), 0x359 protection and warning flags,
 * 0x35A Victron alarm pairs, 0x35C charge/discharge requests, 0x35E manufacturer. Little-endian.
 * Pure: the same snapshot always gives the same bytes.
 */
export function pylontechFrames(snapshot: PackSnapshot, identity: PackIdentity, options: PylontechFrameOptions = {}): CanFrame[] {
  const sign = options.currentSign ?? 1;
  const offset = options.canIdOffset ?? 0;
  const topology = topologyOf(snapshot);
  const cellsInSeries = topology.modulesPerString * topology.cellsPerModule;
  const fields = packSampleFieldsOf(snapshot, identity, cellsInSeries);
  const active = new Set(snapshot.alarms);
  const frame = (id: number, length: number, fill: (view: DataView) => void): CanFrame => {
    const data = new Uint8Array(length);
    fill(new DataView(data.buffer));
    return { id: id + offset, data };
  };
  const maxTemperature = Math.max(...snapshot.cellTemperatures);
  const anyAlarm = snapshot.alarms.some((code) => code.endsWith("_ALARM") || code === "COMMUNICATION_ERROR" || code === "CONTACTOR_ERROR");
  const anyWarning = snapshot.alarms.some((code) => code.endsWith("_WARNING"));
  return [
    frame(PYLONTECH_IDS.limits, 8, (v) => {
      u16(v, 0, fields.chargeVoltageLimit * 10);
      s16(v, 2, snapshot.chargeCurrentLimit * 10);
      s16(v, 4, snapshot.dischargeCurrentLimit * 10);
      u16(v, 6, fields.dischargeVoltageLimit * 10);
    }),
    frame(PYLONTECH_IDS.socSoh, 6, (v) => {
      u16(v, 0, snapshot.soc);
      u16(v, 2, snapshot.soh);
      u16(v, 4, snapshot.soc * 100);
    }),
    frame(PYLONTECH_IDS.measurements, 6, (v) => {
      s16(v, 0, snapshot.packVoltage * 100);
      s16(v, 2, sign * snapshot.current * 10);
      s16(v, 4, maxTemperature * 10);
    }),
    frame(PYLONTECH_IDS.protection, 8, (v) => {
      for (const [byte, bit, code] of PROTECTION_BITS) if (active.has(code)) v.setUint8(byte, v.getUint8(byte) | (1 << bit));
      v.setUint8(4, Math.min(255, topology.strings * topology.modulesPerString));
      v.setUint8(5, 0x50); // "P"
      v.setUint8(6, 0x4e); // "N"
    }),
    frame(PYLONTECH_IDS.victronAlarms, 8, (v) => {
      victronPairs(v, 0, VICTRON_ALARM_ITEMS, active, anyAlarm);
      victronPairs(v, 4, VICTRON_WARNING_ITEMS, active, anyWarning);
    }),
    frame(PYLONTECH_IDS.requests, 2, (v) => {
      let flags = 0;
      if (snapshot.chargeCurrentLimit > 0) flags |= 1 << 7;
      if (snapshot.dischargeCurrentLimit > 0) flags |= 1 << 6;
      v.setUint8(0, flags);
    }),
    frame(PYLONTECH_IDS.manufacturer, 8, (v) => {
      const name = (options.manufacturer ?? "PYLON").padEnd(8, " ").slice(0, 8);
      for (let i = 0; i < 8; i++) v.setUint8(i, name.charCodeAt(i) & 0x7f);
    }),
  ];
}

/** A frame as an SLCAN line: `tIIILDD..` (+ 4 hex digits of ms when timestamps are on) + CR. */
export function formatSlcanFrame(frame: CanFrame, timestampMs?: number): string {
  const id = frame.id.toString(16).toUpperCase().padStart(3, "0");
  const data = Array.from(frame.data, (byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join("");
  const stamp = timestampMs === undefined ? "" : (Math.floor(timestampMs) % 60000).toString(16).toUpperCase().padStart(4, "0");
  return `t${id}${frame.data.length}${data}${stamp}\r`;
}
