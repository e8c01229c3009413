import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import { encodePackRegisters, sunspecLayoutFor } from "../sunspec-register-map";
import type { RegisterMap } from "./modbus-register-map";

/** SunSpec at `base`: SunS, 1, 802, [803, 804…], 805…, end, encoded from the device's snapshot on every read. */
export function sunspecRegisterMap(base = SUNSPEC_BASE_ADDRESS): RegisterMap {
  return {
    name: "sunspec",
    read(device, address, count) {
      const snapshot = device.snapshot();
      const layout = sunspecLayoutFor(snapshot, base);
      const start = address - layout.base;
      if (start < 0 || start + count > layout.length) {
        throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `registers ${address}–${address + count - 1} are outside the map`);
      }
      return encodePackRegisters(layout, device.identity, snapshot).slice(start, start + count);
    },
    write(device: SimulatedDevice, address, values) {
      const almRst = sunspecLayoutFor(device.snapshot(), base).battery + MODEL_BATTERY.points.AlmRst.offset;
      if (address !== almRst || values.length !== 1) {
        throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${address} is read-only (only AlmRst at ${almRst} is writable)`);
      }
      if (values[0] !== 1) throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, "AlmRst accepts only 1");
      device.resetAlarms();
    },
  };
}
