import { driveInRealTime, type PtyPair, pylontechFrames, type RunningSlcanAdapter, startPtyPair, startSlcanAdapter } from "@bms/simulators";
import { SerialPort } from "serialport";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { decodePylontechFrames, REQUIRED_IDS } from "../src/can/pylontech-decoder";
import { bitRateCommand, parseSlcanFrame, SlcanTokenizer } from "../src/transports/slcan-codec";
import { SlcanTransport } from "../src/transports/slcan-transport";
import { BadReplyError, DeviceTimeoutError } from "../src/transports/transport-errors";
import { quietRunner } from "./fixtures/simulated-bus";
import { describeTransport } from "./transport.conformance";

/** A garbled CAN link that still lets some frames through. */
const GARBLED_CAN = { kind: "garbled-link", crcErrorRate: 0.3, truncateRate: 0.1, wrongUnitRate: 0.1 } as const;

describeTransport("SLCAN adapter against the simulator, unplugged and back", async () => {
  const runner = quietRunner(1);
  const [pack] = runner.packs;
  if (!pack) throw new Error("a pack");
  const driver = driveInRealTime(runner, { timeScale: 1 });
  const dir = makeTempDir("bms-slcan-");
  let pty: PtyPair = await startPtyPair({ dir: dir.path });
  let adapter: RunningSlcanAdapter = await startSlcanAdapter({ path: pty.devicePath, device: pack });
  const transport = new SlcanTransport({ path: pty.clientPath });
  const read = (ids: readonly number[] = REQUIRED_IDS) => transport.frames({ required: ids, since: Date.now(), timeoutMs: 1500 });
  return {
    transport,
    read: () => read(),
    expectServed: (frames) => {
      const { sample } = decodePylontechFrames(frames as Map<number, { data: Uint8Array }>, Date.now());
      const truth = pack.snapshot();
      expect(Math.abs((sample.packVoltage ?? 0) - truth.packVoltage)).toBeLessThanOrEqual(0.011);
      expect(Math.abs((sample.soc ?? 0) - truth.soc)).toBeLessThanOrEqual(0.011);
      expect(sample.soh).toBe(Math.round(truth.soh));
    },
    readAbsent: () => read(REQUIRED_IDS.map((id) => id + 0x40)),
    garble: (on) => (on ? pack.injectFault(GARBLED_CAN) : pack.clearFaults()),
    garbledReads: 6,
    stopDevice: async () => {
      await adapter.close();
      await pty.close();
    },
    startDevice: async () => {
      pty = await startPtyPair({ dir: dir.path });
      adapter = await startSlcanAdapter({ path: pty.devicePath, device: pack });
    },
    teardown: async () => {
      driver.stop();
      await adapter.close();
      await pty.close();
      dir.remove();
    },
  };
});

describe("SLCAN lines", () => {
  it("parses 11- and 29-bit data frames, with or without a timestamp", () => {
    expect(parseSlcanFrame("t1002AA33")).toEqual({ id: 0x100, extended: false, data: Uint8Array.from([0xaa, 0x33]) });
    expect(parseSlcanFrame("t1002AA33EA5F")).toEqual({ id: 0x100, extended: false, data: Uint8Array.from([0xaa, 0x33]) });
    expect(parseSlcanFrame("T1234567810F")).toEqual({ id: 0x12345678, extended: true, data: Uint8Array.from([0x0f]) });
    expect(parseSlcanFrame("t3560")).toEqual({ id: 0x356, extended: false, data: new Uint8Array(0) });
  });

  it.each([
    ["a length digit that does not match the data", "t3566AABBCCDDEE"],
    ["a line cut short", "t35"],
    ["a length over 8", "t3569001122334455667788"],
    ["non-hex data", "t3562ZZ00"],
    ["an 11-bit ID over 0x7FF", "t8001AA"],
    ["a 29-bit ID over 0x1FFFFFFF", "T200000001AA"],
    ["a remote frame", "r3560"],
    ["an empty line", ""],
    ["binary noise", "t\u0000\u00ff2AABB"],
  ])("never turns %s into a frame", (_what, line) => {
    expect(parseSlcanFrame(line)).toBeNull();
  });

  it("splits a byte stream into replies, frames and noise, across chunk boundaries", () => {
    const t = new SlcanTokenizer();
    const tokens = [...t.push("\r\x07t1002AA"), ...t.push("33\rz\rV1013\rt3566AABB\r"), ...t.push(`${"x".repeat(100)}\r`)];
    expect(tokens.slice(0, 6).map((tok) => tok.kind)).toEqual(["ok", "error", "frame", "ok", "ok", "malformed"]);
    // An overlong line is noise, however long it runs.
    expect(tokens.slice(6).length).toBeGreaterThan(0);
    expect(tokens.slice(6).every((tok) => tok.kind === "malformed")).toBe(true);
  });

  it("knows the bit rate commands, and refuses a rate SLCAN has none for", () => {
    expect(bitRateCommand(500_000)).toBe("S6");
    expect(bitRateCommand(1_000_000)).toBe("S8");
    expect(() => bitRateCommand(333_000)).toThrow(/no bit rate 333000/);
  });
});

describe("SLCAN adapter behaviour", () => {
  const cleanups = cleanupAfterEach();

  async function fakeAdapter(answer: (line: string) => string | null) {
    const pty = await startPtyPair();
    const port = new SerialPort({ path: pty.devicePath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    let pending = "";
    const lines: string[] = [];
    port.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let cr = pending.indexOf("\r"); cr >= 0; cr = pending.indexOf("\r")) {
        const line = pending.slice(0, cr);
        pending = pending.slice(cr + 1);
        if (line === "") continue;
        lines.push(line);
        const reply = answer(line);
        if (reply !== null) port.write(reply);
      }
    });
    cleanups.push(
      () => new Promise<void>((resolve) => port.close(() => resolve())),
      () => pty.close(),
    );
    return { pty, port, lines };
  }

  it("sets the bit rate and opens the channel (C, S6, O), or listens only (L)", async () => {
    for (const listenOnly of [false, true]) {
      const { pty, lines } = await fakeAdapter(() => "\r");
      const transport = new SlcanTransport({ path: pty.clientPath, listenOnly });
      cleanups.push(() => transport.close());
      await expect(transport.frames({ required: [0x356], since: 0, timeoutMs: 300 })).rejects.toBeInstanceOf(DeviceTimeoutError);
      expect(lines.slice(0, 3)).toEqual(["C", "S6", listenOnly ? "L" : "O"]);
    }
  });

  it("reports an adapter that refuses the bit rate, naming it", async () => {
    const { pty } = await fakeAdapter((line) => (line.startsWith("S") ? "\x07" : "\r"));
    const transport = new SlcanTransport({ path: pty.clientPath, bitRate: 250_000 });
    cleanups.push(() => transport.close());
    await expect(transport.frames({ required: [0x356], since: 0, timeoutMs: 300 })).rejects.toThrow(/refused S5 \(bit rate 250000\)/);
  });

  it("reports a bus of nothing but malformed lines as a bad reply, and counts them", async () => {
    const { pty, port } = await fakeAdapter(() => "\r");
    const transport = new SlcanTransport({ path: pty.clientPath });
    cleanups.push(() => transport.close());
    const noise = setInterval(() => port.write("t3566AABB\rt35\r"), 50);
    cleanups.push(() => clearInterval(noise));
    const err = await transport.frames({ required: [0x356], since: 0, timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadReplyError);
    expect(String(err)).toMatch(/malformed SLCAN lines/);
    expect(transport.malformedLines).toBeGreaterThan(2);
    expect(transport.framesReceived).toBe(0);
  });

  it("sends the inverter keep-alive 0x305 every second when asked to", async () => {
    const { pty, lines } = await fakeAdapter((line) => (line.startsWith("t") ? "z\r" : "\r"));
    const transport = new SlcanTransport({ path: pty.clientPath, keepAlive: true });
    cleanups.push(() => transport.close());
    await transport.frames({ required: [0x356], since: 0, timeoutMs: 200 }).catch(() => undefined);
    // The quiet bus closed the port after that request; the next one opens it and starts again.
    const waiting = transport.frames({ required: [0x356], since: 0, timeoutMs: 2500 }).catch(() => undefined);
    await waitFor(() => lines.includes(`t3058${"00".repeat(8)}`), 5000, "a keep-alive frame");
    await waiting;
  });

  it("decodes the simulator's frames to the pack's values (current sign either way)", () => {
    const runner = quietRunner(1, { load: { kind: "constant", amps: 20 } });
    runner.advance(5);
    const [pack] = runner.packs;
    if (!pack) throw new Error("a pack");
    const truth = pack.snapshot();
    for (const currentSign of [1, -1] as const) {
      const frames = new Map(pylontechFrames(truth, pack.identity, { currentSign }).map((f) => [f.id, f]));
      const { sample, manufacturer } = decodePylontechFrames(frames, 1, { currentSign });
      expect(sample.current).toBeCloseTo(truth.current, 1);
      expect(sample.packVoltage).toBeCloseTo(truth.packVoltage, 2);
      expect(sample.cellTemperatures).toEqual([Number(Math.max(...truth.cellTemperatures).toFixed(1))]);
      expect(sample.chargeCurrentLimit).toBeCloseTo(truth.chargeCurrentLimit, 1);
      expect(manufacturer).toBe("PYLON");
    }
  });
});
