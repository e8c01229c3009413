import { modbusCrc, withCrc } from "@bms/shared";
import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requireBinary } from "../../test/support/binaries";
import { type RunningModbusRtuServer, startModbusRtuServer } from "../src/protocols/modbus-rtu-server";
import { type PtyPair, startPtyPair } from "../src/protocols/pty-pair";
import { sunspecLayoutFor } from "../src/sunspec-register-map";
import { registersOf, runMbpoll } from "./mbpoll-client";
import { TestDevice } from "./protocol-fixtures";

const socat = requireBinary("socat", "socat");

/** Runs mbpoll once as the RTU master on the client end of the pty pair. */
function poll(path: string, args: string[]): Promise<{ stdout: string; code: number }> {
  return runMbpoll(["-m", "rtu", "-b", "115200", "-P", "none", "-o", "1", ...args, path]);
}

/** The client end as a raw byte pipe: send a frame, collect what comes back within a window. */
class RawLine {
  private received = Buffer.alloc(0);
  constructor(private readonly port: SerialPort) {
    port.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
  }
  static async open(path: string): Promise<RawLine> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new RawLine(port);
  }
  /** Sends `frame` and returns every byte that arrives in the next `windowMs`. */
  async exchange(frame: Buffer, windowMs = 250): Promise<Buffer> {
    this.received = Buffer.alloc(0);
    this.port.write(frame);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    return this.received;
  }
  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}

const read = (unit: number, address: number, count: number, fc = 3) => withCrc(Buffer.from([unit, fc, address >> 8, address & 0xff, count >> 8, count & 0xff]));

describe("Modbus RTU on a pseudo-terminal", () => {
  let pty: PtyPair;
  let server: RunningModbusRtuServer;
  const one = new TestDevice(1);
  const two = new TestDevice(2);

  beforeAll(async () => {
    pty = await startPtyPair({ socat });
    server = await startModbusRtuServer({ path: pty.devicePath, devices: [one, two] });
  });

  afterAll(async () => {
    await server?.close();
    await pty?.close();
  });

  it("computes the CRC of the Modbus serial-line spec", () => {
    expect(modbusCrc(Buffer.from([0x01, 0x03, 0x9c, 0x41, 0x00, 0x02]))).toBe(0x4fba);
  });

  it("is read by mbpoll at two unit IDs on one line", async () => {
    for (const unit of ["1", "2"]) {
      const { stdout, code } = await poll(pty.clientPath, ["-a", unit, "-r", "40001", "-c", "4", "-t", "4:hex"]);
      expect(code).toBe(0);
      expect(registersOf(stdout)).toEqual({ 40001: "0x5375", 40002: "0x6E53", 40003: "0x0001", 40004: "0x0042" });
    }
    const da = await poll(pty.clientPath, ["-a", "2", "-r", "40069", "-c", "1"]);
    expect(registersOf(da.stdout)).toEqual({ 40069: "2" });
  });

  describe("hostile frames, answered as a real RTU slave would", () => {
    let line: RawLine;
    beforeAll(async () => {
      line = await RawLine.open(pty.clientPath);
    });
    afterAll(async () => {
      await line.close();
    });

    it("answers a good read", async () => {
      expect([...(await line.exchange(read(1, 40000, 2)))]).toEqual([...withCrc(Buffer.from([1, 3, 4, 0x53, 0x75, 0x6e, 0x53]))]);
    });

    it.each([
      ["a bad CRC", Buffer.from([1, 3, 0x9c, 0x40, 0, 2, 0x12, 0x34])],
      ["a unit ID nobody has", read(9, 40000, 2)],
      ["a broadcast read", read(0, 40000, 2)],
      ["an oversized frame", withCrc(Buffer.alloc(300, 1))],
      ["line noise", Buffer.from([0xff, 0x00])],
    ])("ignores %s", async (_what, frame) => {
      expect((await line.exchange(frame)).length).toBe(0);
      expect((await line.exchange(read(2, 40000, 1))).length).toBe(7);
    });

    it.each([
      ["an unknown function", withCrc(Buffer.from([1, 0x63, 0, 0, 0, 1])), 0x63, 0x01],
      ["read coils", read(1, 0, 8, 1), 0x01, 0x01],
      ["an oversized read", read(1, 40000, 126), 0x03, 0x03],
      ["a read past the map", read(1, 40200, 100), 0x03, 0x02],
      ["a read below the map", read(2, 100, 4, 4), 0x04, 0x02],
    ])("answers %s with an exception", async (_what, frame, fc, code) => {
      const unit = frame[0] ?? 0;
      expect([...(await line.exchange(frame))]).toEqual([...withCrc(Buffer.from([unit, fc | 0x80, code]))]);
    });

    it("carries writes to the map: function 16 answered with address and count, function 6 echoed", async () => {
      const almRst = sunspecLayoutFor(one.snapshot()).battery + MODEL_BATTERY.points.AlmRst.offset;
      const [hi, lo] = [almRst >> 8, almRst & 0xff];
      const reset = vi.spyOn(one, "resetAlarms");
      expect([...(await line.exchange(withCrc(Buffer.from([1, 16, hi, lo, 0, 1, 2, 0, 1]))))]).toEqual([...withCrc(Buffer.from([1, 16, hi, lo, 0, 1]))]);
      expect([...(await line.exchange(withCrc(Buffer.from([1, 6, hi, lo, 0, 1]))))]).toEqual([...withCrc(Buffer.from([1, 6, hi, lo, 0, 1]))]);
      expect([...(await line.exchange(withCrc(Buffer.from([1, 6, 0x9c, 0x40, 0, 1]))))]).toEqual([...withCrc(Buffer.from([1, 0x86, 0x02]))]);
      expect(reset).toHaveBeenCalledTimes(2);
      reset.mockRestore();
    });

    it("carries out a broadcast write on every unit and answers nothing", async () => {
      const almRst = sunspecLayoutFor(one.snapshot()).battery + MODEL_BATTERY.points.AlmRst.offset;
      const resets = [vi.spyOn(one, "resetAlarms"), vi.spyOn(two, "resetAlarms")];
      expect((await line.exchange(withCrc(Buffer.from([0, 6, almRst >> 8, almRst & 0xff, 0, 1])))).length).toBe(0);
      for (const reset of resets) expect(reset).toHaveBeenCalledTimes(1);
      for (const reset of resets) reset.mockRestore();
      expect((await line.exchange(read(2, 40000, 1))).length).toBe(7);
    });

    it("ends a frame at a silence: a request sent in two parts far apart is two bad frames, ignored", async () => {
      const request = read(1, 40000, 2);
      expect((await line.exchange(request.subarray(0, 3), 100)).length).toBe(0);
      expect((await line.exchange(request.subarray(3))).length).toBe(0);
      expect((await line.exchange(request)).length).toBe(9);
    });

    it("says nothing for a silent device and keeps serving the other", async () => {
      two.linkCondition = { kind: "silent" };
      try {
        expect((await line.exchange(read(2, 40000, 2))).length).toBe(0);
        expect((await line.exchange(read(1, 40000, 2))).length).toBe(9);
      } finally {
        two.linkCondition = { kind: "ok" };
      }
    });

    it("garbles replies of a garbled link: bad CRC, truncated, wrong unit ID", async () => {
      const good = withCrc(Buffer.from([1, 3, 4, 0x53, 0x75, 0x6e, 0x53]));
      const seen = new Set<string>();
      one.linkCondition = { kind: "garbled", crcErrorRate: 0.3, truncateRate: 0.3, wrongUnitRate: 0.3 };
      try {
        for (let i = 0; i < 30 && seen.size < 3; i++) {
          const reply = await line.exchange(read(1, 40000, 2), 120);
          if (reply.length < good.length) seen.add("truncated");
          else if (reply[0] !== 1 && modbusCrc(reply.subarray(0, -2)) === reply.readUInt16LE(reply.length - 2)) seen.add("wrong unit");
          else if (!reply.equals(good)) seen.add("bad crc");
        }
      } finally {
        one.linkCondition = { kind: "ok" };
      }
      expect(seen).toEqual(new Set(["truncated", "wrong unit", "bad crc"]));
      expect([...(await line.exchange(read(1, 40000, 2)))]).toEqual([...good]);
    });
  });

  it("times out in mbpoll for a silent device", async () => {
    one.linkCondition = { kind: "silent" };
    try {
      const { stdout, code } = await poll(pty.clientPath, ["-a", "1", "-r", "40001", "-c", "2"]);
      expect(code).not.toBe(0);
      expect(stdout).toMatch(/timed out|Connection timed out/i);
    } finally {
      one.linkCondition = { kind: "ok" };
    }
  });
});
