/** Modbus exception codes the simulator answers with. */
export const MODBUS_EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

/**
 * Thrown from the register vector: modbus-serial's ServerTCP turns `modbusErrorCode` into an
 * exception response (function code | 0x80) instead of a reply.
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
