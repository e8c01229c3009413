/** Modbus exception codes the simulator answers with (Modbus application protocol v1.1b3 §7). */
export const MODBUS_EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  /** An unrecoverable error while serving the request (the map threw something else). */
  SERVER_DEVICE_FAILURE: 0x04,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

/**
 * Thrown by a register map: the Modbus servers answer it with an exception response (function
 * code | 0x80, `modbusErrorCode`) instead of a reply.
 */
export class ModbusException extends Error {
  override readonly name = "ModbusException";
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}
