import type { BmsCounterName } from "@bms/shared";
import {
  type DeviceProfile,
  decodeProfileValue,
  encodeProfileValue,
  type ProfileEventLog,
  type ProfileParameter,
  type RegisterSpace,
  registerSize,
} from "@bms/shared/device-profile";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";

/**
 * The diagnostic registers of a profile on a simulated BMS (docs/remote-diagnosis.md): the
 * parameters an engineer may set (kept per device, refused outside their bounds), the event log
 * (a ring of the BMS's newest events, its head and its counters) and the alarm reset.
 */

/** Parameter values written over Modbus, per device: name → value in engineering units. */
const settingsByDevice = new WeakMap<SimulatedDevice, Map<string, number>>();

function settingsOf(device: SimulatedDevice): Map<string, number> {
  let settings = settingsByDevice.get(device);
  if (!settings) {
    settings = new Map();
    settingsByDevice.set(device, settings);
  }
  return settings;
}

/** A parameter's value on this device: what was written, else its factory default (else its minimum). */
export function parameterValue(device: SimulatedDevice, parameter: ProfileParameter): number {
  return settingsOf(device).get(parameter.name) ?? parameter.default ?? parameter.min;
}

/** The exponent this BMS writes into a diagnostic scale-factor register. */
const COUNTER_EXPONENT: Readonly<Record<BmsCounterName, number>> = {
  overVoltage: 0,
  underVoltage: 0,
  overTemperature: 0,
  overCurrent: 0,
  shortCircuit: 0,
  deepestDischargeV: -3,
  highestTemperatureC: -1,
};
const PARAMETER_EXPONENT = -1;

/** Where the encoder puts words, and the exponent a shared scale-factor register already holds. */
export interface RegisterSink {
  put(address: number, words: readonly number[]): void;
  /** The exponent at `register` (written now with `chosen` unless another value chose first). */
  exponent(register: number | undefined, chosen: number): number | undefined;
}

const UNIX_2000_S = 946_684_800;

/** Event code name → the profile's raw code; 0xFFFF for an event the profile does not name. */
function rawCodes(log: ProfileEventLog): Map<string, number> {
  return new Map(Object.entries(log.codes).map(([raw, name]) => [name, Number(raw)]));
}

function encodeEventLog(log: ProfileEventLog, device: SimulatedDevice, space: RegisterSpace, profileSpace: RegisterSpace, sink: RegisterSink): void {
  const history = device.history();
  const logSpace = log.registers ?? profileSpace;
  if (logSpace === space) {
    const codes = rawCodes(log);
    // Empty slots read 0 everywhere; each kept event sits at n mod count.
    for (let slot = 0; slot < log.count; slot++) sink.put(log.address + slot * log.stride, new Array<number>(log.stride).fill(0));
    for (const event of history.events.slice(-log.count)) {
      const base = log.address + (event.n % log.count) * log.stride;
      const seconds = Math.floor(event.at / 1000) - (log.timestamp.epoch === "2000" ? UNIX_2000_S : 0);
      sink.put(base + log.code.at, encodeProfileValue(codes.get(event.code) ?? 0xffff, { type: log.code.type, byteOrder: log.code.byteOrder }));
      sink.put(base + log.timestamp.at, encodeProfileValue(seconds, { type: log.timestamp.type, byteOrder: log.timestamp.byteOrder }));
      if (event.value !== null) sink.put(base + log.value.at, encodeProfileValue(event.value, log.value));
    }
    sink.put(log.head.address, encodeProfileValue(history.total, { type: log.head.type, byteOrder: log.head.byteOrder }));
  }
  for (const counter of log.counters) {
    if ((counter.registers ?? logSpace) !== space) continue;
    const value = history.counters[counter.counter];
    const sf = sink.exponent(counter.scaleFactorRegister, COUNTER_EXPONENT[counter.counter]);
    if (value !== undefined && Number.isFinite(value)) sink.put(counter.address, encodeProfileValue(value, counter, sf));
  }
}

/** Every diagnostic word of `space` for one device now (parameters, event log, alarm reset). */
export function encodeDiagnosticRegisters(profile: DeviceProfile, device: SimulatedDevice, space: RegisterSpace, sink: RegisterSink): void {
  if (space === "holding") {
    for (const p of profile.parameters) {
      if (p.address === undefined || p.type === undefined) continue;
      const sf = sink.exponent(p.scaleFactorRegister, PARAMETER_EXPONENT);
      sink.put(p.address, encodeProfileValue(parameterValue(device, p), { ...p, type: p.type }, sf));
    }
    // A reset completes at once: the register reads 0 again.
    if (profile.alarmReset) sink.put(profile.alarmReset.address, [0]);
  }
  if (profile.eventLog) encodeEventLog(profile.eventLog, device, space, profile.registers, sink);
}

/**
 * A Modbus write into the profile's diagnostic registers: the alarm reset (its value asks for the
 * reset), or one whole parameter whose value lies within its bounds; anything else that lands there
 * is refused, and nothing is changed. Returns false when the write touches none of them.
 * `scaleFactorAt` reads the exponent the device serves in a scale-factor register.
 */
export function writeDiagnosticRegisters(
  profile: DeviceProfile,
  device: SimulatedDevice,
  address: number,
  values: readonly number[],
  scaleFactorAt: (register: number) => number | undefined,
): boolean {
  const last = address + values.length - 1;
  const reset = profile.alarmReset;
  if (reset && address === reset.address && values.length === 1) {
    if (values[0] !== reset.value) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `the alarm reset accepts only ${reset.value}, not ${values[0]}`);
    }
    device.resetAlarms();
    return true;
  }
  for (const p of profile.parameters) {
    if (p.address === undefined || p.type === undefined) continue;
    const size = registerSize(p.type);
    if (last < p.address || address >= p.address + size) continue;
    if (address !== p.address || values.length !== size) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `the write covers part of parameter ${p.name} (${size} registers from ${p.address})`);
    }
    const sf = p.scaleFactorRegister === undefined ? undefined : scaleFactorAt(p.scaleFactorRegister);
    const value = decodeProfileValue(values, { ...p, type: p.type }, sf);
    // A hair of slack for the scale's rounding (0.1 × 36 = 3.6000000000000005).
    const slack = 1e-9 * Math.max(1, Math.abs(p.max), Math.abs(p.min));
    if (value === undefined || value < p.min - slack || value > p.max + slack) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `${p.name} accepts ${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}, not ${value}`);
    }
    settingsOf(device).set(p.name, value);
    return true;
  }
  return false;
}
