import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { type DeviceProfile, profileBlocks, type RegisterSpace } from "@bms/shared/device-profile";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { MODEL_BATTERY, MODEL_LITHIUM_BANK, MODEL_LITHIUM_STRING, modelLength, SET_STRING_CONNECT, SET_STRING_ENABLE } from "@bms/shared/sunspec/models";
import { decodeWrite, type PointWrite } from "@bms/shared/sunspec/point-write";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import { encodePackRegisters, type PlacedModel, type SunSpecLayout, sunspecLayoutFor, sunspecModels } from "../sunspec-register-map";
import { writeDiagnosticRegisters } from "./diagnostic-registers";
import { encodeProfileRegisters, servedScaleFactor } from "./profile-register-map";
import type { RegisterMap } from "./register-map";
import { controlsOf, type SunSpecControls } from "./sunspec-controls";

type Apply = (controls: SunSpecControls, device: SimulatedDevice) => void;

const refuse = (code: number, message: string): never => {
  throw new ModbusException(code, message);
};

function oneOf(values: Readonly<Record<string, number>>, raw: number, label: string): void {
  if (!Object.values(values).includes(raw)) {
    const names = Object.entries(values).map(([name, value]) => `${value} ${name}`);
    refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `${label} accepts ${names.join(", ")}, not ${raw}`);
  }
}

/** An 802 point's value in engineering units: the raw value at the scale factor the device serves now. */
function batteryValue(device: SimulatedDevice, layout: SunSpecLayout, point: PointWrite): number {
  const sfName = point.def.sf;
  if (!sfName) return point.raw;
  const start = layout.battery - layout.base;
  const block = encodePackRegisters(layout, device.identity, device.snapshot(), controlsOf(device, layout.topology.strings)).slice(
    start,
    start + 2 + modelLength(MODEL_BATTERY),
  );
  const sf = new ModelReader(MODEL_BATTERY, block).scaleFactor(sfName) ?? 0;
  return Number((point.raw * 10 ** sf).toPrecision(12));
}

/** 802 SocRsvMax / SoCRsvMin: a percentage the site keeps, 0–100, the reserve below the maximum. */
function reserveSetting(device: SimulatedDevice, layout: SunSpecLayout, point: PointWrite, which: "socReserveMax" | "socReserveMin"): Apply {
  const value = batteryValue(device, layout, point);
  if (value < 0 || value > 100) refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `${point.name} is a percentage, 0–100, not ${value}`);
  return (c) => {
    c[which] = value;
  };
}

/**
 * What one written point does on this BMS, checked before anything is applied. Read-write points
 * it does not implement (model 1 DA: unit IDs are fixed) answer 0x02.
 */
function effectOf(placed: PlacedModel, point: PointWrite, device: SimulatedDevice, layout: SunSpecLayout): Apply {
  const { name, raw } = point;
  const label = `${name} (model ${placed.model.id})`;
  switch (`${placed.model.id}.${name}`) {
    case `${MODEL_BATTERY.id}.SocRsvMax`:
      return reserveSetting(device, layout, point, "socReserveMax");
    case `${MODEL_BATTERY.id}.SoCRsvMin`:
      return reserveSetting(device, layout, point, "socReserveMin");
    case `${MODEL_BATTERY.id}.AlmRst`:
      if (raw !== 1) refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `AlmRst accepts only 1 (reset latched alarms), not ${raw}`);
      return (_, device) => device.resetAlarms();
    case `${MODEL_BATTERY.id}.CtrlHb`:
      return (c) => {
        c.controllerHeartbeat = raw;
      };
    case `${MODEL_BATTERY.id}.SetOp`:
      return (c) => {
        c.setOperation = raw;
      };
    case `${MODEL_BATTERY.id}.SetInvState`:
      return (c) => {
        c.setInverterState = raw;
      };
    case `${MODEL_LITHIUM_BANK.id}.StrSetEna`:
    case `${MODEL_LITHIUM_STRING.id}.SetEna`:
      oneOf(SET_STRING_ENABLE, raw, label);
      return stringSetting(placed, point, "enable");
    case `${MODEL_LITHIUM_BANK.id}.StrSetCon`:
    case `${MODEL_LITHIUM_STRING.id}.SetCon`:
      oneOf(SET_STRING_CONNECT, raw, label);
      return stringSetting(placed, point, "connect");
    default:
      return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `${label} is not implemented by this BMS`);
  }
}

function stringSetting(placed: PlacedModel, point: PointWrite, setting: "enable" | "connect"): Apply {
  // 803 addresses a string by its group instance, an 804 is one string.
  const s = placed.model.id === MODEL_LITHIUM_BANK.id ? point.index : placed.string;
  return (c) => {
    const entry = c.strings[s ?? 0];
    if (entry) entry[setting] = point.raw;
  };
}

/**
 * SunSpec at `base`: SunS, 1, 802, [803, 804…], 805…, end, encoded from the device's snapshot on
 * every read. Writes (functions 6 and 16) go through the model table: whole read-write points
 * only, else 0x02; values outside a point's type or symbols, else 0x03; all or nothing.
 * `vendor`, a diagnostics profile, adds the BMS's vendor registers beside the map (its event log,
 * parameters and alarm reset), served and written as a vendor-profile map serves them.
 */
export function sunspecRegisterMap(base = SUNSPEC_BASE_ADDRESS, vendor?: DeviceProfile): RegisterMap {
  const vendorBlocks = vendor ? profileBlocks(vendor) : [];
  const inVendorBlock = (space: RegisterSpace, address: number, count: number) =>
    vendorBlocks.some((b) => b.space === space && address >= b.from && address + count <= b.to);
  return {
    name: "sunspec",
    read(device, address, count, space = "holding") {
      if (vendor && inVendorBlock(space, address, count)) {
        const words = encodeProfileRegisters(vendor, device, space);
        return Array.from({ length: count }, (_, i) => words.get(address + i) ?? 0);
      }
      const snapshot = device.snapshot();
      const layout = sunspecLayoutFor(snapshot, base);
      const start = address - layout.base;
      if (start < 0 || start + count > layout.length) {
        refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `registers ${address}–${address + count - 1} are outside the map`);
      }
      const controls = controlsOf(device, layout.topology.strings);
      return encodePackRegisters(layout, device.identity, snapshot, controls).slice(start, start + count);
    },
    write(device, address, values) {
      if (vendor && inVendorBlock("holding", address, values.length)) {
        if (writeDiagnosticRegisters(vendor, device, address, values, (register) => servedScaleFactor(vendor, device, register))) return;
        return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${address} is read-only in the vendor registers`);
      }
      const layout = sunspecLayoutFor(device.snapshot(), base);
      const last = address + values.length - 1;
      const endOf = (m: PlacedModel) => m.address + 2 + modelLength(m.model, m.instances);
      const placed = sunspecModels(layout).find((m) => address >= m.address && address < endOf(m));
      if (!placed) return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${address} is not in a writable model`);
      const end = endOf(placed);
      if (last >= end) refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `registers ${address}–${last} run past the end of model ${placed.model.id} (${end - 1})`);
      const decoded = decodeWrite(placed.model, placed.instances, address - placed.address, values);
      if ("kind" in decoded) {
        return refuse(decoded.kind === "address" ? MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS : MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, decoded.message);
      }
      const effects = decoded.points.map((point) => effectOf(placed, point, device, layout));
      const controls = controlsOf(device, layout.topology.strings);
      for (const apply of effects) apply(controls, device);
    },
  };
}
