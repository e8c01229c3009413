import { SerialPort } from "serialport";
import { bitRateCommand, type CanFrame, formatSlcanTransmit, SlcanTokenizer } from "./slcan-codec";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError } from "./transport-errors";

export interface SlcanTransportOptions {
  /** Serial device of the adapter. */
  path: string;
  /** Serial speed to the adapter. @default 115200 */
  baudRate?: number;
  /** CAN bit rate. @default 500000 */
  bitRate?: number;
  /** Open with `L` (listen only) instead of `O`. @default false */
  listenOnly?: boolean;
  /** Send the inverter keep-alive 0x305 every second. @default false */
  keepAlive?: boolean;
  /** How long the adapter may take to answer a command, ms. @default 1000 */
  commandTimeoutMs?: number;
}

/** A frame as it arrived, with the local time (ms since the epoch) it did. */
export interface ReceivedFrame extends CanFrame {
  at: number;
}

export interface FrameRequest {
  /** IDs that must each have arrived after `since`. */
  required: readonly number[];
  /** IDs returned when seen (their latest), never waited for. */
  optional?: readonly number[];
  /** ms since the epoch. */
  since: number;
  timeoutMs: number;
}

/** Pylontech keep-alive: the inverter's 0x305, 8 zero bytes. */
const KEEP_ALIVE = formatSlcanTransmit(0x305, new Uint8Array(8));

const hex = (id: number) => `0x${id.toString(16).toUpperCase()}`;

interface Waiter {
  request: FrameRequest;
  resolve(frames: Map<number, ReceivedFrame>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  malformedAtStart: number;
  framesAtStart: number;
}

interface PendingCommand {
  resolve(reply: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A CAN bus through an SLCAN (Lawicel) serial adapter. Opens the port, sets the bit rate and opens
 * the channel (`C`, `Sn`, `O`/`L`), then keeps the latest frame of every ID. Readers ask for a
 * fresh set of frames; several BMSes on one bus (different ID offsets) share one transport.
 * A port that closes (adapter unplugged) or a bus that goes quiet makes the next request open and
 * set up the adapter again. Malformed lines are counted and never become frames.
 */
export class SlcanTransport {
  readonly endpoint: string;
  private port: SerialPort | null = null;
  private ready: Promise<void> | null = null;
  private readonly tokenizer = new SlcanTokenizer();
  private readonly latest = new Map<number, ReceivedFrame>();
  private readonly waiters = new Set<Waiter>();
  private readonly commands: PendingCommand[] = [];
  private commandChain: Promise<unknown> = Promise.resolve();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Frames and malformed lines received since start. */
  framesReceived = 0;
  malformedLines = 0;

  constructor(private readonly options: SlcanTransportOptions) {
    this.endpoint = `slcan://${options.path}`;
    bitRateCommand(options.bitRate ?? 500_000);
  }

  /** The latest frame of each requested ID, once every required one has arrived after `since`. */
  async frames(request: FrameRequest): Promise<Map<number, ReceivedFrame>> {
    await this.ensureReady();
    const done = this.pick(request);
    if (done) return done;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        request,
        resolve,
        reject,
        malformedAtStart: this.malformedLines,
        framesAtStart: this.framesReceived,
        timer: setTimeout(() => this.expire(waiter), request.timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new DeviceUnreachableError(this.endpoint, "the transport is closed"));
    const port = this.port;
    this.port = null;
    this.ready = null;
    if (port?.isOpen) {
      port.write("C\r");
      await new Promise<void>((resolve) => port.drain(() => resolve()));
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
  }

  private pick(request: FrameRequest): Map<number, ReceivedFrame> | null {
    const out = new Map<number, ReceivedFrame>();
    for (const id of request.required) {
      const frame = this.latest.get(id);
      if (!frame || frame.at <= request.since) return null;
      out.set(id, frame);
    }
    for (const id of request.optional ?? []) {
      const frame = this.latest.get(id);
      if (frame) out.set(id, frame);
    }
    return out;
  }

  private expire(waiter: Waiter): void {
    this.waiters.delete(waiter);
    const { request } = waiter;
    const missing = request.required.filter((id) => (this.latest.get(id)?.at ?? 0) <= request.since);
    const framesSeen = this.framesReceived - waiter.framesAtStart;
    const malformed = this.malformedLines - waiter.malformedAtStart;
    // A quiet bus: the adapter may have been reset or replaced; open and set it up again next time.
    if (framesSeen === 0) this.dropPort();
    if (malformed > 0 && framesSeen === 0) {
      waiter.reject(
        new BadReplyError(
          this.endpoint,
          `${malformed} malformed SLCAN lines and no valid frame in ${request.timeoutMs} ms (line noise, or the wrong serial speed?)`,
        ),
      );
      return;
    }
    const hint =
      framesSeen === 0
        ? "no CAN frames at all: check the bus wiring, termination and bit rate"
        : `no fresh frame ${missing.map(hex).join(", ")}: is the BMS's ID offset right?`;
    waiter.reject(new DeviceTimeoutError(this.endpoint, request.timeoutMs, hint));
  }

  private fail(err: Error): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
    for (const command of this.commands.splice(0)) {
      clearTimeout(command.timer);
      command.reject(err);
    }
  }

  private ensureReady(): Promise<void> {
    if (this.closed) return Promise.reject(new DeviceUnreachableError(this.endpoint, "the transport is closed"));
    this.ready ??= this.setUp().catch((err: unknown) => {
      this.dropPort();
      throw err;
    });
    return this.ready;
  }

  /** Forgets the port (closing it if it is open); the next request opens the device path again. */
  private dropPort(): void {
    const port = this.port;
    this.port = null;
    this.ready = null;
    clearInterval(this.keepAliveTimer);
    if (port?.isOpen) port.close(() => undefined);
  }

  private async setUp(): Promise<void> {
    const port = this.port?.isOpen ? this.port : await this.openPort();
    port.write("\r\r\r"); // flush whatever half-command the adapter holds
    await new Promise((resolve) => setTimeout(resolve, 50));
    this.commands.splice(0); // replies to the flush, if any, are not ours
    await this.command("C").catch(() => undefined); // closing a closed channel is an error: fine
    const rate = bitRateCommand(this.options.bitRate ?? 500_000);
    if ((await this.command(rate)) === "error")
      throw new BadReplyError(this.endpoint, `the adapter refused ${rate} (bit rate ${this.options.bitRate ?? 500_000})`);
    const open = this.options.listenOnly ? "L" : "O";
    if ((await this.command(open)) === "error") throw new BadReplyError(this.endpoint, `the adapter refused to open the channel (${open})`);
    if (this.options.keepAlive && !this.options.listenOnly) this.startKeepAlive();
  }

  private openPort(): Promise<SerialPort> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: this.options.path, baudRate: this.options.baudRate ?? 115_200, autoOpen: false });
      port.open((err) => {
        if (err) {
          reject(new DeviceUnreachableError(this.endpoint, err.message));
          return;
        }
        port.on("data", (chunk: Buffer) => this.onData(chunk));
        // Without an 'error' listener a serial error would crash the process; the close that follows is what matters.
        port.on("error", () => undefined);
        port.on("close", () => {
          if (this.port !== port) return;
          this.port = null;
          this.ready = null;
          clearInterval(this.keepAliveTimer);
          this.fail(new DeviceUnreachableError(this.endpoint, "the serial port closed (adapter unplugged?)"));
        });
        this.port = port;
        resolve(port);
      });
    });
  }

  /** Sends one command and resolves with its reply ("" for a bare CR, "error" for BEL). One at a time. */
  private command(text: string): Promise<string> {
    const run = async () => {
      const port = this.port;
      if (!port?.isOpen) throw new DeviceUnreachableError(this.endpoint, "the serial port is not open");
      const timeoutMs = this.options.commandTimeoutMs ?? 1000;
      return new Promise<string>((resolve, reject) => {
        const command: PendingCommand = {
          resolve,
          reject,
          timer: setTimeout(() => {
            const at = this.commands.indexOf(command);
            if (at >= 0) this.commands.splice(at, 1);
            reject(new DeviceTimeoutError(this.endpoint, timeoutMs, `the adapter did not answer ${JSON.stringify(text)}: is it an SLCAN adapter?`));
          }, timeoutMs),
        };
        this.commands.push(command);
        port.write(`${text}\r`);
      });
    };
    const result = this.commandChain.then(run, run);
    this.commandChain = result.catch(() => undefined);
    return result;
  }

  private startKeepAlive(): void {
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = setInterval(() => {
      if (this.port?.isOpen) this.command(KEEP_ALIVE.slice(0, -1)).catch(() => undefined);
    }, 1000);
    this.keepAliveTimer.unref();
  }

  private onData(chunk: Buffer): void {
    for (const token of this.tokenizer.push(chunk.toString("latin1"))) {
      switch (token.kind) {
        case "frame": {
          this.framesReceived += 1;
          const frame: ReceivedFrame = { ...token.frame, at: Date.now() };
          this.latest.set(frame.id, frame);
          break;
        }
        case "malformed":
          this.malformedLines += 1;
          break;
        case "ok":
        case "error": {
          const command = this.commands.shift();
          if (command) {
            clearTimeout(command.timer);
            command.resolve(token.kind === "error" ? "error" : token.text);
          }
          break;
        }
        case "remote":
          break;
      }
    }
    for (const waiter of [...this.waiters]) {
      const done = this.pick(waiter.request);
      if (!done) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(done);
    }
  }
}
