import ModbusRTU from "modbus-serial";
import { MAX_REGISTERS_PER_READ, type RegisterTransport } from "./register-transport";
import { RequestQueue } from "./request-queue";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError } from "./transport-errors";

export interface ModbusTcpTransportOptions {
  host: string;
  port: number;
  /** Reply timeout per request, ms. modbus-serial has none by default, so one is always set. @default 1000 */
  timeoutMs?: number;
  /** How long a TCP connect may take, ms. @default timeoutMs */
  connectTimeoutMs?: number;
}

interface ModbusSerialError {
  name?: unknown;
  message?: unknown;
  modbusCode?: unknown;
  errno?: unknown;
  code?: unknown;
}

function describe(err: unknown): ModbusSerialError {
  return typeof err === "object" && err !== null ? (err as ModbusSerialError) : { message: String(err) };
}

/**
 * Modbus TCP over modbus-serial's client. One connection per host:port, shared by every unit ID
 * behind it; requests are serialised. Any socket trouble closes the connection and the next call
 * reconnects ("Port Not Open" otherwise sticks forever: modbus-serial issues #92, #461, #529).
 */
export class ModbusTcpTransport implements RegisterTransport {
  private client: ModbusRTU | null = null;
  private readonly queue = new RequestQueue();
  private closed = false;
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: ModbusTcpTransportOptions) {
    this.endpoint = `modbus-tcp://${options.host}:${options.port}`;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? this.timeoutMs;
  }

  readHoldingRegisters(unitId: number, address: number, count: number): Promise<number[]> {
    if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) return Promise.reject(new RangeError(`unit ID ${unitId} is not 0-255`));
    if (!Number.isInteger(address) || !Number.isInteger(count) || address < 0 || count < 1 || address + count > 0x10000) {
      return Promise.reject(new RangeError(`cannot read ${count} registers at ${address}: the range must lie inside 0-65535`));
    }
    // All chunks of one read run in one queue slot, so concurrent callers never interleave.
    return this.queue.run(async () => {
      const out: number[] = [];
      for (let offset = 0; offset < count; offset += MAX_REGISTERS_PER_READ) {
        const n = Math.min(MAX_REGISTERS_PER_READ, count - offset);
        const words = await this.readChunk(unitId, address + offset, n);
        for (const w of words) out.push(w);
      }
      return out;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.run(async () => this.dropConnection());
  }

  private async readChunk(unitId: number, address: number, count: number): Promise<number[]> {
    const client = await this.connection();
    client.setID(unitId);
    let data: number[];
    try {
      ({ data } = await client.readHoldingRegisters(address, count));
    } catch (err) {
      const typed = this.classify(err, address, count);
      if (!(typed instanceof ModbusExceptionError)) this.dropConnection();
      throw typed;
    }
    if (!Array.isArray(data) || data.length !== count) {
      this.dropConnection();
      throw new BadReplyError(this.endpoint, `asked for ${count} registers at ${address}, got ${Array.isArray(data) ? data.length : "none"}`);
    }
    return data;
  }

  private classify(err: unknown, address: number, count: number): Error {
    const e = describe(err);
    const message = typeof e.message === "string" ? e.message : String(err);
    if (typeof e.modbusCode === "number") return new ModbusExceptionError(this.endpoint, e.modbusCode, address, count);
    if (e.name === "TransactionTimedOutError" || e.errno === "ETIMEDOUT") return new DeviceTimeoutError(this.endpoint, this.timeoutMs);
    if (/CRC|length/i.test(message)) return new BadReplyError(this.endpoint, message);
    return new DeviceUnreachableError(this.endpoint, message);
  }

  private async connection(): Promise<ModbusRTU> {
    if (this.closed) throw new DeviceUnreachableError(this.endpoint, "the transport is closed");
    if (this.client?.isOpen) return this.client;
    this.dropConnection();
    const client = new ModbusRTU();
    // Without a listener an 'error' event would crash the process; the failed request reports it.
    client.on("error", () => this.dropConnection(client));
    client.on("close", () => this.dropConnection(client));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connectTCP(this.options.host, { port: this.options.port }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new DeviceUnreachableError(this.endpoint, `no TCP connection within ${this.connectTimeoutMs} ms`)),
            this.connectTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      safeClose(client);
      if (err instanceof DeviceUnreachableError) throw err;
      const e = describe(err);
      throw new DeviceUnreachableError(this.endpoint, typeof e.message === "string" && e.message !== "" ? e.message : String(e.code ?? err));
    } finally {
      clearTimeout(timer);
    }
    client.setTimeout(this.timeoutMs);
    this.client = client;
    return client;
  }

  /** Forgets the connection (only `which`, when given, so a late event of an old one is harmless). */
  private dropConnection(which?: ModbusRTU): void {
    const client = this.client;
    if (!client || (which && which !== client)) return;
    this.client = null;
    safeClose(client);
  }
}

function safeClose(client: ModbusRTU): void {
  try {
    client.close(() => undefined);
  } catch {
    // already closed
  }
}
