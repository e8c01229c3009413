import type ModbusRTU from "modbus-serial";
import { ModbusClientTransport } from "./modbus-client-transport";

export interface ModbusRtuTransportOptions {
  /** Serial device, e.g. /dev/ttyUSB0 or one end of a pseudo-terminal pair. */
  path: string;
  /** @default 9600 */
  baudRate?: number;
  /** @default "none" */
  parity?: "none" | "even" | "odd";
  /** @default 8 */
  dataBits?: 7 | 8;
  /** @default 1 */
  stopBits?: 1 | 2;
  /** Reply timeout per request, ms. @default 1000 */
  timeoutMs?: number;
  /** Pause before each request, ms. @default t3.5 at baudRate, rounded up, at least 2 ms */
  interRequestDelayMs?: number;
  /** After a timeout, silence to wait out (late bytes are discarded), ms. @default min(timeoutMs, 100) */
  quietAfterTimeoutMs?: number;
}

/** 3.5 characters of 11 bits at `baudRate`; above 19200 baud the spec fixes 1.75 ms (docs/protocols.md §4). */
export function interFrameDelayMs(baudRate: number): number {
  const t35 = baudRate > 19_200 ? 1.75 : (3.5 * 11 * 1000) / baudRate;
  return Math.max(2, Math.ceil(t35));
}

/**
 * Modbus RTU on one serial port (modbus-serial's connectRTUBuffered, which frames replies by their
 * expected length: issues #25, #95). One transport per port is the line's one lock: every unit ID
 * on that RS-485 line goes through it, one request at a time, with a pause between requests. A
 * silent unit costs its own timeout and never closes the port under the others.
 */
export class ModbusRtuTransport extends ModbusClientTransport {
  constructor(options: ModbusRtuTransportOptions) {
    const timeoutMs = options.timeoutMs ?? 1000;
    const baudRate = options.baudRate ?? 9600;
    super({
      endpoint: `modbus-rtu://${options.path}`,
      unitRange: [1, 247],
      timeoutMs,
      connectTimeoutMs: Math.max(timeoutMs, 2000),
      interRequestDelayMs: options.interRequestDelayMs ?? interFrameDelayMs(baudRate),
      quietAfterTimeoutMs: options.quietAfterTimeoutMs ?? Math.min(timeoutMs, 100),
      reconnectAfterBadReply: false,
      open: (client: ModbusRTU) =>
        client.connectRTUBuffered(options.path, {
          baudRate,
          parity: options.parity ?? "none",
          dataBits: options.dataBits ?? 8,
          stopBits: options.stopBits ?? 1,
        }),
    });
  }
}
