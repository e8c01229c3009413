import { MODBUS_EXCEPTION } from "../modbus-exception";

/**
 * Modbus request and response PDUs (function code + data), the same over TCP and RTU, for the
 * functions the simulator serves: 3 and 4 (read holding / input registers), 6 (write one
 * register) and 16 (write registers). Limits and checks per the Modbus application protocol
 * v1.1b3 §6.3, 6.4, 6.6, 6.12 (docs/simulators.md "How the Modbus servers frame requests").
 */

/** Registers a read may ask for (function 3/4) and a write may carry (function 16). */
export const MAX_READ_REGISTERS = 125;
export const MAX_WRITE_REGISTERS = 123;

export type ModbusRequest =
  | { fn: 3 | 4; address: number; count: number }
  | { fn: 6; address: number; value: number }
  | { fn: 16; address: number; values: number[] };

/** A request that must be answered with this exception code. */
export interface RefusedRequest {
  fn: number;
  exception: number;
}

/**
 * Parses a request PDU. An unknown function gets 0x01 (illegal function); a PDU of the wrong
 * length, a count out of range or a byte count that disagrees with it gets 0x03 (illegal data
 * value). The address is checked later, by the register map (0x02).
 */
export function parseRequestPdu(pdu: Buffer): ModbusRequest | RefusedRequest {
  const fn = pdu[0] ?? 0;
  const refuse = (exception: number): RefusedRequest => ({ fn, exception });
  switch (fn) {
    case 3:
    case 4: {
      if (pdu.length !== 5) return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE);
      const count = pdu.readUInt16BE(3);
      if (count < 1 || count > MAX_READ_REGISTERS) return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE);
      return { fn, address: pdu.readUInt16BE(1), count };
    }
    case 6:
      if (pdu.length !== 5) return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE);
      return { fn, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) };
    case 16: {
      if (pdu.length < 6) return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE);
      const count = pdu.readUInt16BE(3);
      const byteCount = pdu[5] ?? 0;
      if (count < 1 || count > MAX_WRITE_REGISTERS || byteCount !== 2 * count || pdu.length !== 6 + byteCount) {
        return refuse(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE);
      }
      const values: number[] = [];
      for (let i = 0; i < count; i++) values.push(pdu.readUInt16BE(6 + 2 * i));
      return { fn, address: pdu.readUInt16BE(1), values };
    }
    default:
      return refuse(MODBUS_EXCEPTION.ILLEGAL_FUNCTION);
  }
}

export function isRefused(request: ModbusRequest | RefusedRequest): request is RefusedRequest {
  return "exception" in request;
}

/** True for a request that writes (function 6 or 16). */
export function isWrite(request: ModbusRequest): request is Extract<ModbusRequest, { fn: 6 | 16 }> {
  return request.fn === 6 || request.fn === 16;
}

/** Exception response: function code | 0x80, then the code. */
export function exceptionPdu(fn: number, code: number): Buffer {
  return Buffer.from([(fn | 0x80) & 0xff, code]);
}

/** Function 3/4 response: function, byte count, the registers (big-endian). */
export function readResponsePdu(fn: 3 | 4, words: readonly number[]): Buffer {
  const pdu = Buffer.allocUnsafe(2 + 2 * words.length);
  pdu[0] = fn;
  pdu[1] = 2 * words.length;
  for (let i = 0; i < words.length; i++) pdu.writeUInt16BE((words[i] ?? 0) & 0xffff, 2 + 2 * i);
  return pdu;
}

/** Function 6 echoes the request; function 16 answers with the address and the count written. */
export function writeResponsePdu(request: Extract<ModbusRequest, { fn: 6 | 16 }>): Buffer {
  const pdu = Buffer.allocUnsafe(5);
  pdu[0] = request.fn;
  pdu.writeUInt16BE(request.address, 1);
  pdu.writeUInt16BE(request.fn === 6 ? request.value : request.values.length, 3);
  return pdu;
}
