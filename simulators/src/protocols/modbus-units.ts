import { createLogger, type Logger } from "@bms/shared";
import { MODBUS_EXCEPTION, ModbusException } from "../modbus-exception";
import type { SimulatedDevice } from "../simulated-device";
import { exceptionPdu, isRefused, isWrite, type ModbusRequest, parseRequestPdu, readResponsePdu, writeResponsePdu } from "./modbus-pdu";
import type { RegisterMap } from "./register-map";

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

/** The reply PDU to one request, and the device whose link carries it (none for an absent unit). */
export interface UnitReply {
  device: SimulatedDevice | undefined;
  pdu: Buffer;
}

/**
 * The Modbus slaves behind one server: routes a request PDU by unit ID to its device and answers
 * it from the register map. Reads (3: holding, 4: input registers) and writes (6, 16) reach the
 * map's read and write; a ModbusException from the map becomes that exception, anything else
 * 0x04. A silent device never answers. A unit ID without a device answers 0x0B (gateway target
 * failed) on TCP, as a gateway does, and nothing on an RTU line, as nobody is there.
 */
export class ModbusUnits {
  private readonly log: Logger;

  constructor(
    private readonly devices: readonly SimulatedDevice[],
    private readonly map: RegisterMap,
    private readonly absentUnit: "gateway-exception" | "no-reply",
  ) {
    this.log = createLogger("simulator-modbus");
  }

  /** The reply to `pdu` addressed to `unitId`; null when no reply goes out. */
  answer(unitId: number, pdu: Buffer): UnitReply | null {
    const device = deviceAt(this.devices, unitId);
    if (device ? device.link().kind === "silent" : this.absentUnit === "no-reply") return null;
    const request = parseRequestPdu(pdu);
    if (isRefused(request)) return { device, pdu: exceptionPdu(request.fn, request.exception) };
    if (!device) return { device, pdu: exceptionPdu(request.fn, MODBUS_EXCEPTION.GATEWAY_TARGET_FAILED) };
    return { device, pdu: this.serve(device, request) };
  }

  /** An RTU broadcast (unit 0): every device that hears the line carries out a write; nobody answers. */
  broadcast(pdu: Buffer): void {
    const request = parseRequestPdu(pdu);
    if (isRefused(request) || !isWrite(request)) return;
    for (const device of this.devices) if (device.link().kind !== "silent") this.serve(device, request);
  }

  private serve(device: SimulatedDevice, request: ModbusRequest): Buffer {
    try {
      if (isWrite(request)) {
        this.map.write(device, request.address, request.fn === 6 ? [request.value] : request.values);
        this.log.info({ unitId: device.unitId, address: request.address, fn: request.fn }, "register written over Modbus");
        return writeResponsePdu(request);
      }
      const words = this.map.read(device, request.address, request.count, request.fn === 4 ? "input" : "holding");
      if (words.length !== request.count) throw new Error(`the ${this.map.name} map returned ${words.length} registers for ${request.count}`);
      return readResponsePdu(request.fn, words);
    } catch (err) {
      if (err instanceof ModbusException) return exceptionPdu(request.fn, err.modbusErrorCode);
      this.log.warn({ err, unitId: device.unitId, fn: request.fn, address: request.address }, "the register map failed: answered 0x04");
      return exceptionPdu(request.fn, MODBUS_EXCEPTION.SERVER_DEVICE_FAILURE);
    }
  }
}
