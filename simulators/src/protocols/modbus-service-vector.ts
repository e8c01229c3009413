import { createLogger } from "@bms/shared";
import type { RegisterSpace } from "@bms/shared/device-profile";
import type { IServiceVector } from "modbus-serial";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import type { RegisterMap } from "./modbus-register-map";

/** Modbus read limit per request (function 3/4). */
const MAX_READ = 125;

/** The device at `unitId` now (the list may grow or shrink while a server runs). */
export function deviceAt(devices: readonly SimulatedDevice[], unitId: number): SimulatedDevice | undefined {
  return devices.find((device) => device.unitId === unitId);
}

/** Throws when two devices share a unit ID: a Modbus line cannot address them apart. */
export function assertUniqueUnits(devices: readonly SimulatedDevice[]): void {
  const seen = new Set<number>();
  for (const device of devices) {
    if (!Number.isInteger(device.unitId) || device.unitId < 1 || device.unitId > 247)
      throw new RangeError(`unit ID ${device.unitId} is not a Modbus unit ID (1–247)`);
    if (seen.has(device.unitId)) throw new RangeError(`two devices share unit ID ${device.unitId}: give each its own`);
    seen.add(device.unitId);
  }
}

/**
 * modbus-serial's register vector over a list of devices and a map: input-register reads go to the
 * map's input space (a SunSpec map answers them like holding registers); a unit without a device answers 0x0B (gateway target failed), as a TCP
 * gateway does (an RTU server never gets that far: it ignores such frames).
 */
export function modbusServiceVector(devices: readonly SimulatedDevice[], map: RegisterMap): IServiceVector {
  const log = createLogger("simulator-modbus");
  const deviceFor = (unitId: number): SimulatedDevice => {
    const device = deviceAt(devices, unitId);
    if (!device) throw new ModbusException(MODBUS_EXCEPTION.GATEWAY_TARGET_FAILED, `no pack at unit ID ${unitId}`);
    return device;
  };
  const read = (address: number, count: number, unitId: number, space: RegisterSpace = "holding"): number[] => {
    const device = deviceFor(unitId);
    if (count < 1 || count > MAX_READ) throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `cannot read ${count} registers`);
    return map.read(device, address, count, space);
  };
  const write = (address: number, values: readonly number[], unitId: number): void => {
    map.write(deviceFor(unitId), address, values);
    log.info({ unitId, address }, "register written over Modbus");
  };
  const first = (values: number[]): number => values[0] ?? 0;
  return {
    getHoldingRegister: (address: number, unitId: number) => first(read(address, 1, unitId)),
    getInputRegister: (address: number, unitId: number) => first(read(address, 1, unitId, "input")),
    getMultipleHoldingRegisters: (address: number, count: number, unitId: number) => read(address, count, unitId),
    getMultipleInputRegisters: (address: number, count: number, unitId: number) => read(address, count, unitId, "input"),
    setRegister: (address: number, value: number, unitId: number) => write(address, [value], unitId),
    setRegisterArray: (address: number, values: number[], unitId: number) => write(address, values, unitId),
  };
}
