import { type BmsAlarmCode, evt1ToAlarms } from "@bms/shared";
import {
  type DeviceProfile,
  encodeProfileText,
  encodeProfileValue,
  type ProfileArrayField,
  type ProfileMetaField,
  type ProfilePoint,
  type ProfileScalarField,
  profileBlocks,
  type RegisterSpace,
  type RegisterSpan,
  registerSize,
} from "@bms/shared/device-profile";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import { SCALE_FACTORS } from "../sunspec-register-map";
import { packSampleFieldsOf } from "./pack-sample-fields";
import type { RegisterMap } from "./register-map";

export type { RegisterSpan };

/** The address blocks a profile serves (its declared blocks, or its points merged across small gaps). */
export function profileSpans(profile: DeviceProfile): RegisterSpan[] {
  return profileBlocks(profile);
}

/** The exponent this BMS writes into a scale-factor register: the SunSpec simulator's for that quantity. */
const SCALE_FACTOR_OF: Record<ProfileScalarField | ProfileArrayField, number> = {
  packVoltage: SCALE_FACTORS.V_SF,
  current: SCALE_FACTORS.A_SF,
  soc: SCALE_FACTORS.SoC_SF,
  soh: SCALE_FACTORS.SoH_SF,
  remainingCapacity: SCALE_FACTORS.AHRtg_SF,
  cycleCount: 0,
  chargeCurrentLimit: SCALE_FACTORS.A_SF,
  dischargeCurrentLimit: SCALE_FACTORS.A_SF,
  chargeVoltageLimit: SCALE_FACTORS.V_SF,
  dischargeVoltageLimit: SCALE_FACTORS.V_SF,
  insulationResistance: 0,
  bmsAlarms: 0,
  cellVoltages: SCALE_FACTORS.CellV_SF,
  cellTemperatures: SCALE_FACTORS.Tmp_SF,
};

/** A bitfield with the point's bit map (or SunSpec Evt1 bit numbers) for the active alarm codes. */
function alarmBits(point: ProfilePoint, evt1: number): number {
  if (!point.bits) return evt1;
  const active = new Set<BmsAlarmCode>(evt1ToAlarms(evt1));
  let bits = 0;
  for (const [bit, code] of Object.entries(point.bits)) if (active.has(code)) bits |= 1 << Number(bit);
  return bits >>> 0;
}

function metaValue(meta: ProfileMetaField, device: SimulatedDevice): string | number {
  const id = device.identity;
  switch (meta) {
    case "manufacturer":
      return id.manufacturer;
    case "model":
      return id.model;
    case "serial":
      return id.serial;
    case "bmsFirmware":
      return id.firmware;
    case "cellCount":
      return id.cellCount;
    case "ratedCapacity":
      return id.capacityAh;
  }
}

/** Every word the profile places in one register space, keyed by address, for one device now. Missing values read as 0. */
export function encodeProfileRegisters(profile: DeviceProfile, device: SimulatedDevice, space: RegisterSpace = "holding"): Map<number, number> {
  const snapshot = device.snapshot();
  const fields = packSampleFieldsOf(snapshot, device.identity);
  const words = new Map<number, number>();
  const put = (address: number, values: number[]) => {
    values.forEach((word, i) => {
      words.set(address + i, word);
    });
  };
  const inSpace = (own: RegisterSpace | undefined) => (own ?? profile.registers) === space;
  /** A scale-factor register gets the exponent of the first value that refers to it. */
  const exponentAt = new Map<number, number>();
  const exponent = (register: number | undefined, field: ProfileScalarField | ProfileArrayField): number | undefined => {
    if (register === undefined) return undefined;
    const known = exponentAt.get(register);
    if (known !== undefined) return known;
    const chosen = SCALE_FACTOR_OF[field];
    exponentAt.set(register, chosen);
    put(register, encodeProfileValue(chosen, { type: "sunssf" }));
    return chosen;
  };
  for (const point of profile.points.filter((p) => inSpace(p.registers))) {
    if (point.meta !== undefined) {
      const value = metaValue(point.meta, device);
      put(point.address, typeof value === "string" ? encodeProfileText(value, point) : encodeProfileValue(value, point));
      continue;
    }
    const field = point.field;
    if (field === undefined) continue;
    const sf = exponent(point.scaleFactorRegister, field);
    const value = field === "bmsAlarms" ? alarmBits(point, fields.scalars.bmsAlarms ?? 0) : fields.scalars[field];
    if (value !== undefined) put(point.address, encodeProfileValue(value, point, sf));
    else if (point.missing !== undefined) put(point.address, encodeProfileValue(point.missing, { ...point, scale: 1, scaleFactor: 0, offset: 0 }));
  }
  for (const array of profile.arrays.filter((a) => inSpace(a.registers))) {
    const values = fields.arrays[array.field];
    const sf = exponent(array.scaleFactorRegister, array.field);
    const stride = array.stride ?? registerSize(array.type);
    for (let i = 0; i < array.count; i++) {
      const value = values[i];
      if (value !== undefined) put(array.address + i * stride, encodeProfileValue(value, array, sf));
    }
  }
  return words;
}

/** A vendor-style map: the profile decides every address and register space; the device is read-only. */
export function profileRegisterMap(profile: DeviceProfile): RegisterMap {
  const spans = profileSpans(profile);
  return {
    name: profile.name,
    read(device, address, count, space = "holding") {
      if (!spans.some((span) => span.space === space && address >= span.from && address + count <= span.to)) {
        throw new ModbusException(
          MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS,
          `${space} registers ${address}–${address + count - 1} are outside the ${profile.name} map`,
        );
      }
      const words = encodeProfileRegisters(profile, device, space);
      return Array.from({ length: count }, (_, i) => words.get(address + i) ?? 0);
    },
    write(_device, address) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${address} is read-only in the ${profile.name} map`);
    },
  };
}
