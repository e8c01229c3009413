import { type DeviceProfile, encodeProfileValue, registerSize } from "@bms/shared/device-profile";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import type { RegisterMap } from "./modbus-register-map";
import { packSampleFieldsOf } from "./pack-sample-fields";

/** Points closer than this many registers are served as one block (the gap reads as 0), as vendor maps do. */
const MAX_GAP = 16;

export interface RegisterSpan {
  from: number;
  /** Exclusive. */
  to: number;
}

/** The address blocks a profile serves: every point and array element, merged across small gaps. */
export function profileSpans(profile: DeviceProfile): RegisterSpan[] {
  const spans: RegisterSpan[] = [];
  for (const p of profile.points) spans.push({ from: p.address, to: p.address + registerSize(p.type) });
  for (const a of profile.arrays) {
    const size = registerSize(a.type);
    const stride = a.stride ?? size;
    spans.push({ from: a.address, to: a.address + (a.count - 1) * stride + size });
  }
  spans.sort((x, y) => x.from - y.from);
  const merged: RegisterSpan[] = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.from <= last.to + MAX_GAP) last.to = Math.max(last.to, span.to);
    else merged.push({ ...span });
  }
  return merged;
}

/** Every word the profile places, keyed by address, for one device now. Missing values read as 0. */
export function encodeProfileRegisters(profile: DeviceProfile, device: SimulatedDevice): Map<number, number> {
  const snapshot = device.snapshot();
  const fields = packSampleFieldsOf(snapshot, device.identity);
  const words = new Map<number, number>();
  const put = (address: number, values: number[]) => {
    values.forEach((word, i) => {
      words.set(address + i, word);
    });
  };
  for (const point of profile.points) {
    const value = fields.scalars[point.field];
    if (value !== undefined) put(point.address, encodeProfileValue(value, point));
  }
  for (const array of profile.arrays) {
    const values = fields.arrays[array.field];
    const stride = array.stride ?? registerSize(array.type);
    for (let i = 0; i < array.count; i++) {
      const value = values[i];
      if (value !== undefined) put(array.address + i * stride, encodeProfileValue(value, array));
    }
  }
  return words;
}

/** A vendor-style map: the profile decides every address; the device is read-only. */
export function profileRegisterMap(profile: DeviceProfile): RegisterMap {
  const spans = profileSpans(profile);
  return {
    name: profile.name,
    read(device, address, count) {
      if (!spans.some((span) => address >= span.from && address + count <= span.to)) {
        throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `registers ${address}–${address + count - 1} are outside the ${profile.name} map`);
      }
      const words = encodeProfileRegisters(profile, device);
      return Array.from({ length: count }, (_, i) => words.get(address + i) ?? 0);
    },
    write(_device, address) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${address} is read-only in the ${profile.name} map`);
    },
  };
}
