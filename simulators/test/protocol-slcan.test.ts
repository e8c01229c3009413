import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../../test/support/binaries";
import { waitFor } from "../../test/support/free-port";
import { type CanFrame, formatSlcanFrame, pylontechFrames } from "../src/protocols/can-frames";
import { type PtyPair, startPtyPair } from "../src/protocols/pty-pair";
import { type RunningSlcanAdapter, startSlcanAdapter } from "../src/protocols/slcan-adapter";
import { TestDevice } from "./protocol-fixtures";

const socat = requireBinary("socat", "socat");
const BEL = "\x07";

/** A plain SLCAN host: writes commands, splits what comes back at CR / BEL. */
class SlcanReader {
  private text = "";
  constructor(private readonly port: SerialPort) {
    port.on("data", (chunk: Buffer) => {
      this.text += chunk.toString("latin1");
    });
  }
  static async open(path: string): Promise<SlcanReader> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new SlcanReader(port);
  }
  /** Sends a command and returns the answer (up to and including CR or BEL). */
  async command(cmd: string): Promise<string> {
    this.text = "";
    this.port.write(`${cmd}\r`);
    const end = () => Math.max(this.text.indexOf("\r"), this.text.indexOf(BEL));
    await waitFor(() => end() >= 0, 2000, `answer to ${cmd}`);
    const cr = this.text.indexOf("\r");
    const bel = this.text.indexOf(BEL);
    const stop = cr < 0 ? bel : bel < 0 ? cr : Math.min(cr, bel);
    return this.text.slice(0, stop + 1);
  }
  clear(): void {
    this.text = "";
  }
  /** Frame lines received since the last clear. */
  frames(): string[] {
    return this.text.split("\r").filter((line) => line.startsWith("t"));
  }
  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}

function decode(line: string): CanFrame {
  const length = Number.parseInt(line[4] ?? "0", 16);
  const data = Uint8Array.from({ length }, (_, i) => Number.parseInt(line.slice(5 + 2 * i, 7 + 2 * i), 16));
  return { id: Number.parseInt(line.slice(1, 4), 16), data };
}

describe("SLCAN adapter with a Pylontech BMS", () => {
  let pty: PtyPair;
  let adapter: RunningSlcanAdapter;
  let reader: SlcanReader;
  const device = new TestDevice(1, { topology: { strings: 1, modulesPerString: 1, cellsPerModule: 16 } });
  const hostFrames: CanFrame[] = [];

  beforeAll(async () => {
    pty = await startPtyPair({ socat });
    adapter = await startSlcanAdapter({ path: pty.devicePath, device, pollMs: 20, onHostFrame: (frame) => hostFrames.push(frame) });
    reader = await SlcanReader.open(pty.clientPath);
  });

  afterAll(async () => {
    await reader?.close();
    await adapter?.close();
    await pty?.close();
  });

  it("answers commands while closed, and refuses what needs an open channel", async () => {
    expect(await reader.command("V")).toBe("V1013\r");
    expect(await reader.command("N")).toBe("N0001\r");
    expect(await reader.command("S9")).toBe("\x07");
    expect(await reader.command("C")).toBe("\x07");
    expect(await reader.command("t3050")).toBe("\x07");
    expect(await reader.command("X")).toBe("\x07");
    expect(await reader.command("Z0")).toBe("\r");
    expect(await reader.command("S6")).toBe("\r");
    device.model.step(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reader.frames()).toEqual([]); // closed: no frames
  });

  it("opens, streams well-formed frames that decode to the snapshot, and accepts host frames", async () => {
    expect(await reader.command("O")).toBe("\r");
    expect(await reader.command("S5")).toBe("\x07"); // bit rate only while closed
    expect(await reader.command("O")).toBe("\x07");
    reader.clear();
    device.model.step(1);
    await waitFor(() => reader.frames().length >= 7, 3000, "seven frames");
    const lines = reader.frames().slice(0, 7);
    for (const line of lines) expect(line).toMatch(/^t[0-9A-F]{3}[0-8]([0-9A-F]{2})*$/);
    const frames = lines.map(decode);
    expect(frames.map((f) => f.id)).toEqual([0x351, 0x355, 0x356, 0x359, 0x35a, 0x35c, 0x35e]);
    for (const frame of frames) expect(frame.data.length).toBe(Number.parseInt(lines[frames.indexOf(frame)]?.[4] ?? "", 16));
    const truth = device.snapshot();
    const view = (id: number) => {
      const data = frames.find((f) => f.id === id)?.data ?? new Uint8Array();
      return new DataView(data.buffer, data.byteOffset, data.byteLength);
    };
    expect(view(0x355).getUint16(0, true)).toBe(Math.round(truth.soc));
    expect(view(0x356).getInt16(0, true) / 100).toBeCloseTo(truth.packVoltage, 1);
    expect(view(0x356).getInt16(2, true) / 10).toBeCloseTo(truth.current, 0);
    expect(view(0x356).getInt16(4, true) / 10).toBeCloseTo(Math.max(...truth.cellTemperatures), 0);
    expect(view(0x359).getUint8(0)).toBe(0);
    expect(String.fromCharCode(...(frames.at(-1)?.data ?? []))).toBe("PYLON   ");
    expect(lines).toEqual(pylontechFrames(truth, device.identity).map((f) => formatSlcanFrame(f).slice(0, -1)));

    expect(await reader.command("t30580000000000000000")).toBe("z\r");
    expect(hostFrames.at(-1)).toEqual({ id: 0x305, data: new Uint8Array(8) });
    expect(await reader.command("t3059")).toBe("\x07");
    expect(await reader.command("C")).toBe("\r");
  });

  it("sets the over-temperature bits of 0x359 and 0x35A when the BMS alarms", () => {
    const hot = { ...device.snapshot(), alarms: ["OVER_TEMP_WARNING", "OVER_TEMP_ALARM"] as const };
    const frames = pylontechFrames({ ...hot, alarms: [...hot.alarms] }, device.identity);
    const p359 = frames.find((f) => f.id === 0x359)?.data ?? new Uint8Array();
    expect(p359[0]).toBe(1 << 3);
    expect(p359[2]).toBe(1 << 3);
    const a35a = frames.find((f) => f.id === 0x35a)?.data ?? new Uint8Array();
    expect((a35a[0] ?? 0) >> 6).toBe(0b01); // high temperature alarm active
    expect((a35a[0] ?? 0) & 0b11).toBe(0b01); // general alarm
    expect((a35a[1] ?? 0) & 0b11).toBe(0b10); // low temperature OK
  });

  it("flips the current sign when asked and is a pure function of the snapshot", () => {
    const s = device.snapshot();
    const a = pylontechFrames(s, device.identity, { currentSign: -1 });
    const b = pylontechFrames(s, device.identity, { currentSign: -1 });
    expect(a).toEqual(b);
    const current = new DataView(a[2]?.data.buffer ?? new ArrayBuffer(6)).getInt16(2, true);
    expect(current).toBe(Math.round(-s.current * 10));
  });

  it("sends nothing for a silent device and damaged lines for a garbled one", async () => {
    expect(await reader.command("Z1")).toBe("\r");
    expect(await reader.command("O")).toBe("\r");
    device.linkCondition = { kind: "silent" };
    reader.clear();
    device.model.step(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(reader.frames()).toEqual([]);
    device.linkCondition = { kind: "garbled", crcErrorRate: 0.5, truncateRate: 0.5, wrongUnitRate: 0 };
    device.model.step(1);
    await waitFor(() => reader.frames().length >= 7, 3000, "garbled frames");
    const wellFormed = (line: string) => /^t[0-9A-F]{3}[0-8]/.test(line) && line.length === 5 + 2 * Number(line[4]) + 4;
    expect(reader.frames().slice(0, 7).some(wellFormed)).toBe(false);
    device.linkCondition = { kind: "ok" };
    reader.clear();
    device.model.step(1);
    await waitFor(() => reader.frames().length >= 7, 3000, "frames with timestamps");
    expect(reader.frames().slice(0, 7).every(wellFormed)).toBe(true);
    expect(await reader.command("C")).toBe("\r");
  });
});
