import { createLogger } from "@bms/shared";
import { SerialPort } from "serialport";
import type { SimulatedDevice } from "../simulated-device";
import { type CanFrame, formatSlcanFrame, type PylontechFrameOptions, pylontechFrames } from "./can-frames";
import { replyDamage } from "./link-faults";

export interface SlcanAdapterOptions extends PylontechFrameOptions {
  /** Serial device to serve on, e.g. one end of a socat pseudo-terminal pair. */
  path: string;
  /** The one BMS on this adapter's bus (a real CAN bus carries one Pylontech BMS; use canIdOffset to share one). */
  device: SimulatedDevice;
  /** How often the adapter looks for a new simulated second, real ms. @default 50 */
  pollMs?: number;
  /** Called with each frame the host transmits (e.g. the inverter's 0x305 keep-alive). */
  onHostFrame?: (frame: CanFrame) => void;
}

export interface RunningSlcanAdapter {
  path: string;
  close(): Promise<void>;
}

const OK = "\r";
const ERROR = "\x07";
/** S0..S8, bit/s. */
const BIT_RATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;
/** Longest command: `T` + 8 + 1 + 16 hex digits; anything longer without a CR is noise. */
const MAX_LINE = 32;

type ChannelState = "closed" | "open" | "listen";

/** Parses a host transmit command (`tIIIL…`, `TIIIIIIIIL…`, `rIIIL`, `RIIIIIIIIL`); null if malformed. */
export function parseSlcanTransmit(line: string): CanFrame | null {
  const kind = line[0];
  const extended = kind === "T" || kind === "R";
  const idDigits = extended ? 8 : 3;
  const match = /^[tTrR]([0-9A-Fa-f]+)$/.exec(line);
  if (!match || line.length < 2 + idDigits) return null;
  const id = Number.parseInt(line.slice(1, 1 + idDigits), 16);
  const length = Number.parseInt(line.slice(1 + idDigits, 2 + idDigits), 16);
  if (id > (extended ? 0x1fffffff : 0x7ff) || !(length >= 0 && length <= 8)) return null;
  const remote = kind === "r" || kind === "R";
  const hex = line.slice(2 + idDigits);
  if (remote ? hex.length !== 0 : hex.length !== 2 * length) return null;
  const data = new Uint8Array(remote ? 0 : length);
  for (let i = 0; i < data.length; i++) data[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return { id, data };
}

/**
 * An emulated SLCAN (Lawicel) CAN-to-serial adapter with one Pylontech-protocol BMS on its bus.
 * Answers S0–S8 (closed only), O, L, C, V, N, Z0/Z1 (closed only), F with CR or BEL; accepts host
 * frames while open with `z`/`Z`; while open or listening, sends the BMS's 0x351…0x35E frames once
 * per simulated second as `tIIILDD..` lines. A silent device sends nothing; a garbled one sends
 * lines with a wrong length digit, cut short, or under a neighbour's ID.
 */
export async function startSlcanAdapter(options: SlcanAdapterOptions): Promise<RunningSlcanAdapter> {
  const { device, path } = options;
  const log = createLogger("simulator-slcan");
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new Error(`cannot open ${path} for the SLCAN adapter: ${err.message}`)) : resolve())),
  );
  port.on("error", (err) => log.warn({ err, path }, "SLCAN port error"));

  let state: ChannelState = "closed";
  let timestamps = false;
  let bitRate: number = BIT_RATES[6];
  let lastSecond: number | undefined;
  let pending = "";

  const send = (text: string) => {
    if (port.isOpen) port.write(text);
  };

  const command = (line: string): string => {
    const head = line[0];
    switch (head) {
      case "S": {
        const index = line.length === 2 ? Number(line[1]) : Number.NaN;
        const rate = BIT_RATES[index];
        if (state !== "closed" || rate === undefined) return ERROR;
        bitRate = rate;
        return OK;
      }
      case "O":
      case "L":
        if (line.length !== 1 || state !== "closed") return ERROR;
        state = head === "O" ? "open" : "listen";
        lastSecond = undefined;
        log.info({ path, bitRate, mode: state }, "SLCAN channel opened");
        return OK;
      case "C":
        if (line.length !== 1 || state === "closed") return ERROR;
        state = "closed";
        return OK;
      case "V":
        return line.length === 1 ? `V1013${OK}` : ERROR;
      case "N":
        return line.length === 1 ? `N${(device.unitId & 0xffff).toString(16).toUpperCase().padStart(4, "0")}${OK}` : ERROR;
      case "F":
        return line.length === 1 && state !== "closed" ? `F00${OK}` : ERROR;
      case "Z":
        if (state !== "closed" || (line !== "Z0" && line !== "Z1")) return ERROR;
        timestamps = line === "Z1";
        return OK;
      case "t":
      case "T":
      case "r":
      case "R": {
        const frame = parseSlcanTransmit(line);
        if (!frame || state !== "open") return ERROR;
        options.onHostFrame?.(frame);
        return head === "t" || head === "r" ? `z${OK}` : `Z${OK}`;
      }
      default:
        return ERROR;
    }
  };

  port.on("data", (chunk: Buffer) => {
    pending += chunk.toString("latin1");
    for (let cr = pending.indexOf("\r"); cr >= 0; cr = pending.indexOf("\r")) {
      const line = pending.slice(0, cr).replace(/\n/g, "");
      pending = pending.slice(cr + 1);
      if (line.length > 0) send(command(line)); // an empty command (a bare CR, used to flush) gets no answer
    }
    if (pending.length > MAX_LINE) {
      pending = "";
      send(ERROR);
    }
  });

  const damaged = (line: string): string | null => {
    switch (replyDamage(device)) {
      case "none":
        return line;
      case "crc": // SLCAN has no checksum: corruption shows as a length digit that does not match the data
        return `${line.slice(0, 4)}${(Number.parseInt(line[4] ?? "0", 16) + 1) % 9}${line.slice(5)}`;
      case "truncate":
        return `${line.slice(0, Math.max(2, Math.floor(line.length / 2)))}\r`;
      case "wrong-unit": {
        const id = (Number.parseInt(line.slice(1, 4), 16) + 0x100) & 0x7ff;
        return `t${id.toString(16).toUpperCase().padStart(3, "0")}${line.slice(4)}`;
      }
    }
  };

  const tick = () => {
    if (state === "closed") return;
    try {
      const snapshot = device.snapshot();
      const second = Math.floor(snapshot.simulatedSeconds);
      if (second === lastSecond) return;
      lastSecond = second;
      if (device.link().kind === "silent") return;
      const stamp = timestamps ? Math.round(snapshot.simulatedSeconds * 1000) : undefined;
      const lines = pylontechFrames(snapshot, device.identity, options).map((frame) => damaged(formatSlcanFrame(frame, stamp)));
      send(lines.filter((line) => line !== null).join(""));
    } catch (err) {
      log.error({ err }, "SLCAN frame building failed");
    }
  };
  const timer = setInterval(tick, options.pollMs ?? 50);
  timer.unref();
  log.info({ path, unitId: device.unitId }, "SLCAN adapter ready");

  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      });
      return closing;
    },
  };
}
