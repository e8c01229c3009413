import type ModbusRTU from "modbus-serial";
import { ModbusClientTransport } from "./modbus-client-transport";

export interface ModbusTcpTransportOptions {
  host: string;
  port: number;
  /** Reply timeout per request, ms. @default 1000 */
  timeoutMs?: number;
  /** How long a TCP connect may take, ms. @default timeoutMs */
  connectTimeoutMs?: number;
  /** Pause before each request, ms. @default 0 */
  interRequestDelayMs?: number;
}

/**
 * Modbus TCP: one connection per host:port, shared by every unit ID behind it (a gateway to an
 * RS-485 line, or a device with several units); requests are serialised. After a timeout or a bad
 * reply the connection is dropped and opened again.
 */
export class ModbusTcpTransport extends ModbusClientTransport {
  constructor(options: ModbusTcpTransportOptions) {
    const timeoutMs = options.timeoutMs ?? 1000;
    super({
      endpoint: `modbus-tcp://${options.host}:${options.port}`,
      unitRange: [0, 255],
      timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? timeoutMs,
      interRequestDelayMs: options.interRequestDelayMs ?? 0,
      quietAfterTimeoutMs: 0,
      reconnectAfterBadReply: true,
      open: (client: ModbusRTU) => client.connectTCP(options.host, { port: options.port }),
    });
  }
}
