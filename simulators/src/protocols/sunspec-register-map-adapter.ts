import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { MODEL_BATTERY, MODEL_LITHIUM_BANK, MODEL_LITHIUM_STRING, modelLength, SET_STRING_CONNECT, SET_STRING_ENABLE } from "@bms/shared/sunspec/models";
import { decodeWrite, type PointWrite } from "@bms/shared/sunspec/point-write";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import { encodePackRegisters, type PlacedModel, sunspecLayoutFor, sunspecModels } from "../sunspec-register-map";
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

/**
 * What one written point does on this BMS, checked before anything is applied. Read-write points
 * it does not implement (model 1 DA: unit IDs are fixed; 802 SocRsvMax, SoCRsvMin) answer 0x02.
 */
function effectOf(placed: PlacedModel, point: PointWrite): Apply {
  const { name, raw } = point;
  const label = `${name} (model ${placed.model.id})`;
  switch (`${placed.model.id}.${name}`) {
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
 */
export function sunspecRegisterMap(base = SUNSPEC_BASE_ADDRESS): RegisterMap {
  return {
    name: "sunspec",
    read(device, address, count) {
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
      const effects = decoded.points.map((point) => effectOf(placed, point));
      const controls = controlsOf(device, layout.topology.strings);
      for (const apply of effects) apply(controls, device);
    },
  };
}
