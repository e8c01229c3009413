import type { Server, Socket } from "node:net";
import { MODBUS_EXCEPTION } from "./modbus-exception";

/** Modbus limits per request (Modbus application protocol v1.1b3, §6.3/6.4/6.12). */
const MAX_READ_REGISTERS = 125;
const MAX_WRITE_REGISTERS = 123;
/** MBAP length field = unit ID + PDU; a PDU is at most 253 bytes. */
const MAX_MBAP_LENGTH = 254;
const MBAP_HEADER = 6;

type Verdict = "pass" | "drop" | number;
type WriteCallback = (err?: Error | null) => void;

/**
 * Checks one Modbus TCP request (MBAP header + unit + PDU) before modbus-serial sees it.
 * The library answers an oversized read with 0x04 (or crashes writing the byte count), and says
 * nothing at all to a short PDU or a function it has no handler for; a client then waits for its
 * timeout. Here those get the exception the Modbus spec names.
 */
export function checkRequest(frame: Buffer): Verdict {
  if (frame.readUInt16BE(2) !== 0) return "drop"; // not Modbus (protocol ID must be 0): ignore, as the spec says
  return checkPdu(frame.subarray(MBAP_HEADER + 1));
}

/** Checks one request PDU (function code + data), the same over TCP and RTU: "pass" or the exception code. */
export function checkPdu(pdu: Buffer): "pass" | number {
  const functionCode = pdu[0];
  switch (functionCode) {
    case 3:
    case 4: {
      if (pdu.length !== 5) return MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE;
      const count = pdu.readUInt16BE(3);
      return count >= 1 && count <= MAX_READ_REGISTERS ? "pass" : MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE;
    }
    case 6:
      return pdu.length === 5 ? "pass" : MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE;
    case 16: {
      if (pdu.length < 6) return MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE;
      const count = pdu.readUInt16BE(3);
      const byteCount = pdu[5] ?? 0;
      const valid = count >= 1 && count <= MAX_WRITE_REGISTERS && byteCount === 2 * count && pdu.length === 6 + byteCount;
      return valid ? "pass" : MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE;
    }
    default:
      return MODBUS_EXCEPTION.ILLEGAL_FUNCTION;
  }
}

function exceptionResponse(frame: Buffer, code: number): Buffer {
  const out = Buffer.alloc(MBAP_HEADER + 3);
  out.writeUInt16BE(frame.readUInt16BE(0), 0); // transaction ID
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(3, 4);
  out[6] = frame[6] ?? 0; // unit ID
  out[7] = ((frame[7] ?? 0) | 0x80) & 0xff;
  out[8] = code;
  return out;
}

export interface GuardOptions {
  /** True for a unit whose device does not answer now (communication loss): its requests get no reply. */
  ignoreUnit?: (unitId: number) => boolean;
  /** Sees every reply frame (MBAP + unit + PDU) before it is sent; null drops it. */
  replyFilter?: (frame: Buffer) => Buffer | null;
}

/**
 * Frames the byte stream of every connection on `server` into Modbus TCP requests and lets only
 * well-formed, supported ones through to the socket's other "data" listeners (modbus-serial's
 * handler); the rest get an exception response here. A length field no request can have means
 * the stream cannot be framed any more: the connection is closed.
 * Must be installed before the listener that reads the data (it is prepended).
 */
export function guardModbusRequests(server: Server, options: GuardOptions = {}): void {
  server.prependListener("connection", (socket: Socket) => {
    const deliver = socket.emit.bind(socket);
    const { replyFilter } = options;
    if (replyFilter) {
      // Every reply modbus-serial writes passes the link-fault filter (which may drop or damage it).
      const send = socket.write.bind(socket);
      socket.write = (chunk: Uint8Array | string, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
        const done = typeof encoding === "function" ? encoding : callback;
        if (!Buffer.isBuffer(chunk) || chunk.length < MBAP_HEADER + 1)
          return typeof encoding === "string" ? send(chunk, encoding, callback) : send(chunk, done);
        const out = replyFilter(chunk);
        if (out) return send(out, done);
        done?.();
        return true;
      };
    }
    let pending: Buffer = Buffer.alloc(0);
    socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      const chunk = args[0];
      if (event !== "data" || !Buffer.isBuffer(chunk)) return deliver(event, ...args);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= MBAP_HEADER + 2) {
        const length = pending.readUInt16BE(4);
        if (length < 2 || length > MAX_MBAP_LENGTH) {
          pending = Buffer.alloc(0);
          socket.destroy();
          return true;
        }
        if (pending.length < MBAP_HEADER + length) break;
        const frame = Buffer.from(pending.subarray(0, MBAP_HEADER + length));
        pending = pending.subarray(MBAP_HEADER + length);
        const verdict = options.ignoreUnit?.(frame[MBAP_HEADER] ?? 0) ? "drop" : checkRequest(frame);
        if (verdict === "pass") deliver("data", frame);
        else if (verdict !== "drop" && socket.writable) socket.write(exceptionResponse(frame, verdict));
      }
      return true;
    };
  });
}
