import ModbusRTU from "modbus-serial";
import type { NodeStyleCallback, ReadRegisterResult } from "modbus-serial/ModbusRTU";
import { MAX_REGISTERS_PER_READ, MAX_REGISTERS_PER_WRITE, type RegisterSpace, type WritableRegisterTransport } from "./register-transport";
import { RequestQueue } from "./request-queue";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError } from "./transport-errors";

/** What differs between Modbus TCP and RTU over modbus-serial's client. */
export interface ModbusLink {
  endpoint: string;
  /** Lowest and highest unit ID this bus can address. */
  unitRange: readonly [number, number];
  /** Reply timeout per request, ms (modbus-serial has none by default, so one is always set). */
  timeoutMs: number;
  /** How long opening the connection or port may take, ms. */
  connectTimeoutMs: number;
  /** Pause before each request, ms. */
  interRequestDelayMs: number;
  /**
   * After a timeout, wait this long before the next request and discard what arrived meanwhile: on
   * a serial line a late reply would otherwise be taken for the answer to the next request.
   */
  quietAfterTimeoutMs: number;
  /** True for TCP: after a bad reply or a timeout the stream cannot be trusted, so reconnect. */
  reconnectAfterBadReply: boolean;
  open(client: ModbusRTU): Promise<void>;
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Register reads and writes over one modbus-serial client (one TCP connection or one serial port),
 * shared by every unit ID behind it: one request at a time (the lock of the line), at most 125
 * registers a read, 123 a write.
 * Connection trouble closes the client and the next call opens it again ("Port Not Open" otherwise
 * sticks forever: modbus-serial issues #92, #461, #529).
 */
export class ModbusClientTransport implements WritableRegisterTransport {
  private client: ModbusRTU | null = null;
  private readonly queue = new RequestQueue();
  private closed = false;
  private lastRequestEnd = 0;
  readonly endpoint: string;

  constructor(private readonly link: ModbusLink) {
    this.endpoint = link.endpoint;
  }

  readHoldingRegisters(unitId: number, address: number, count: number): Promise<number[]> {
    return this.read("holding", unitId, address, count);
  }

  readInputRegisters(unitId: number, address: number, count: number): Promise<number[]> {
    return this.read("input", unitId, address, count);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.run(async () => this.dropConnection());
  }

  /** Function 6 for one register, 16 for up to 123; in the queue with the reads. */
  writeRegisters(unitId: number, address: number, values: readonly number[]): Promise<void> {
    const problem = this.rangeProblem(unitId, address, values.length, "write");
    if (problem) return Promise.reject(problem);
    if (values.length > MAX_REGISTERS_PER_WRITE)
      return Promise.reject(new RangeError(`cannot write ${values.length} registers at once: at most ${MAX_REGISTERS_PER_WRITE}`));
    if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff)) return Promise.reject(new RangeError("a register holds a whole number 0-65535"));
    return this.queue.run(async () => {
      await this.request<unknown>(address, values.length, "writing", (client, done) =>
        values.length === 1 ? client.writeFC6(unitId, address, values[0] ?? 0, done) : client.writeFC16(unitId, address, [...values], done),
      );
    });
  }

  private rangeProblem(unitId: number, address: number, count: number, verb: "read" | "write"): RangeError | undefined {
    const [lowUnit, highUnit] = this.link.unitRange;
    if (!Number.isInteger(unitId) || unitId < lowUnit || unitId > highUnit)
      return new RangeError(`unit ID ${unitId} is not ${lowUnit}-${highUnit} on ${this.endpoint}`);
    if (!Number.isInteger(address) || !Number.isInteger(count) || address < 0 || count < 1 || address + count > 0x10000) {
      return new RangeError(`cannot ${verb} ${count} registers at ${address}: the range must lie inside 0-65535`);
    }
    return undefined;
  }

  private read(space: RegisterSpace, unitId: number, address: number, count: number): Promise<number[]> {
    const problem = this.rangeProblem(unitId, address, count, "read");
    if (problem) return Promise.reject(problem);
    // All chunks of one read run in one queue slot, so concurrent callers never interleave.
    return this.queue.run(() => this.readRange(space, unitId, address, count));
  }

  /**
   * A read of any length, in requests of at most 125 registers. One request (a poll's usual read)
   * answers with its reply as it is; several fill one array of the final length (pushing word by
   * word would regrow it several times: garbage on every poll).
   */
  private async readRange(space: RegisterSpace, unitId: number, address: number, count: number): Promise<number[]> {
    if (count <= MAX_REGISTERS_PER_READ) return this.readChunk(space, unitId, address, count);
    const out = new Array<number>(count);
    for (let offset = 0; offset < count; offset += MAX_REGISTERS_PER_READ) {
      const words = await this.readChunk(space, unitId, address + offset, Math.min(MAX_REGISTERS_PER_READ, count - offset));
      for (let i = 0; i < words.length; i++) out[offset + i] = words[i] as number;
    }
    return out;
  }

  /**
   * One request on the line: connect, pause, send; failures typed and recovered from. Runs inside a
   * queue slot. `send` puts the request through modbus-serial's callback API, which takes the unit
   * ID with each call: its promise API would bind, copy the arguments and wrap a promise per request.
   * `check` judges a reply that came back without an error.
   */
  private async request<T>(
    address: number,
    count: number,
    operation: "reading" | "writing",
    send: (client: ModbusRTU, done: NodeStyleCallback<T>) => void,
    check?: (reply: T) => Error | undefined,
  ): Promise<T> {
    // An open connection is used at once: the request goes out before the caller of the previous
    // one decodes its reply (an await here would let that decoding run first, off the wire).
    const client = this.client?.isOpen && !this.closed ? this.client : await this.connection();
    if (this.link.interRequestDelayMs > 0) {
      const pause = this.lastRequestEnd + this.link.interRequestDelayMs - Date.now();
      if (pause > 0) await sleep(pause);
    }
    discardReceived(client);
    try {
      const reply = await new Promise<T>((resolve, reject) => send(client, (err, result) => (err ? reject(err) : resolve(result))));
      const bad = check?.(reply);
      if (bad) throw bad;
      return reply;
    } catch (err) {
      const typed = this.classify(err, address, count, operation);
      await this.afterFailure(typed, client);
      throw typed;
    } finally {
      this.lastRequestEnd = Date.now();
    }
  }

  private async readChunk(space: RegisterSpace, unitId: number, address: number, count: number): Promise<number[]> {
    const reply = await this.request<ReadRegisterResult>(
      address,
      count,
      "reading",
      (client, done) => (space === "input" ? client.writeFC4(unitId, address, count, done) : client.writeFC3(unitId, address, count, done)),
      ({ data }) =>
        Array.isArray(data) && data.length === count
          ? undefined
          : new BadReplyError(this.endpoint, `asked for ${count} registers at ${address}, got ${Array.isArray(data) ? data.length : "none"}`),
    );
    return reply.data;
  }

  private async afterFailure(err: Error, client: ModbusRTU): Promise<void> {
    if (err instanceof ModbusExceptionError) return;
    if (err instanceof DeviceUnreachableError || this.link.reconnectAfterBadReply) {
      this.dropConnection();
      return;
    }
    if (err instanceof DeviceTimeoutError && this.link.quietAfterTimeoutMs > 0) await sleep(this.link.quietAfterTimeoutMs);
    discardReceived(client);
  }

  private classify(err: unknown, address: number, count: number, operation: "reading" | "writing"): Error {
    if (err instanceof BadReplyError) return err;
    const e = describe(err);
    const message = typeof e.message === "string" ? e.message : String(err);
    if (typeof e.modbusCode === "number") return new ModbusExceptionError(this.endpoint, e.modbusCode, address, count, operation);
    if (e.name === "TransactionTimedOutError" || e.errno === "ETIMEDOUT") return new DeviceTimeoutError(this.endpoint, this.link.timeoutMs);
    // CRC and length errors, and modbus-serial's "Unexpected data error" (a reply from another unit or for another function).
    if (/CRC|length|unexpected data/i.test(message)) return new BadReplyError(this.endpoint, message);
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
        this.link.open(client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new DeviceUnreachableError(this.endpoint, `not open within ${this.link.connectTimeoutMs} ms`)),
            this.link.connectTimeoutMs,
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
    client.setTimeout(this.link.timeoutMs);
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

/**
 * modbus-serial's buffered RTU port keeps unmatched bytes (a truncated or late reply) and would
 * match them against the next request; requests are serialised, so anything buffered before one
 * is sent is stale. TCP ports have no such buffer (nothing to do).
 */
function discardReceived(client: ModbusRTU): void {
  const port: unknown = Reflect.get(client, "_port");
  if (typeof port === "object" && port !== null && Buffer.isBuffer(Reflect.get(port, "_buffer"))) Reflect.set(port, "_buffer", Buffer.alloc(0));
}

function safeClose(client: ModbusRTU): void {
  try {
    client.close(() => undefined);
  } catch {
    // already closed
  }
}
