import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../src/index";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";
import { exception, RawConnection, readPdu, request } from "./raw-modbus-tcp";

describe("hostile Modbus requests", () => {
  let sim: RunningSimulator;
  let raw: RawConnection;

  beforeAll(async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: 1 });
  });

  afterAll(async () => {
    raw?.close();
    await sim.close();
  });

  /** The server still answers a good read on the same connection. */
  async function stillAnswers(conn: RawConnection, tid = 0x7777): Promise<void> {
    conn.send(request(tid, 1, readPdu(3, 40000, 2)));
    expect(await conn.response()).toEqual([tid >> 8, tid & 0xff, 0, 0, 0, 7, 1, 3, 4, 0x53, 0x75, 0x6e, 0x53]);
  }

  it("answers a good read on a raw socket", async () => {
    raw = await RawConnection.open(sim.port!);
    await stillAnswers(raw, 1);
  });

  it.each([
    ["an unknown function code", 0x63, [0x63, 0, 0, 0, 1], 0x01],
    ["read coils (not served)", 0x01, readPdu(1, 40000, 8), 0x01],
    ["write coil (not served)", 0x05, [0x05, 0, 1, 0xff, 0], 0x01],
    ["encapsulated interface (MEI)", 0x2b, [0x2b, 0x0e, 0x01, 0x00], 0x01],
    ["a read of 0 registers", 0x03, readPdu(3, 40000, 0), 0x03],
    ["a read of 126 registers", 0x03, readPdu(3, 40000, 126), 0x03],
    ["a read of 65535 registers", 0x04, readPdu(4, 40000, 0xffff), 0x03],
    ["a truncated read", 0x03, [0x03, 0x9c, 0x40], 0x03],
    ["a read past the map", 0x03, readPdu(3, 40200, 60), 0x02],
    ["a read below the map", 0x04, readPdu(4, 100, 10), 0x02],
    ["a write whose byte count lies", 0x10, [0x10, 0x9c, 0x5a, 0, 1, 4, 0, 1], 0x03],
    ["a write of a read-only register", 0x06, [0x06, 0x9c, 0x40, 0, 0], 0x02],
  ])("answers %s with an exception and keeps serving", async (_what, fc, pdu, code) => {
    raw.send(request(0x1234, 1, pdu));
    expect(await raw.response()).toEqual(exception(0x1234, 1, fc, code));
    await stillAnswers(raw);
  });

  it("answers unit IDs without a pack with 0x0B (gateway target failed)", async () => {
    for (const unit of [0, 2, 247, 255]) {
      raw.send(request(0x0a00 + unit, unit, readPdu(3, 40000, 2)));
      expect(await raw.response()).toEqual(exception(0x0a00 + unit, unit, 3, 0x0b));
    }
    await stillAnswers(raw);
  });

  it("handles a request split into single bytes and two requests in one write", async () => {
    for (const byte of request(0x0101, 1, readPdu(3, 40002, 2))) raw.send([byte]);
    expect(await raw.response()).toEqual([1, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 66]);
    raw.send([...request(0x0201, 1, readPdu(3, 40000, 1)), ...request(0x0202, 1, readPdu(3, 40001, 1))]);
    expect([await raw.response(), await raw.response()]).toEqual([
      [2, 1, 0, 0, 0, 5, 1, 3, 2, 0x53, 0x75],
      [2, 2, 0, 0, 0, 5, 1, 3, 2, 0x6e, 0x53],
    ]);
  });

  it("ignores a frame whose protocol ID is not Modbus", async () => {
    raw.send(request(0x0301, 1, readPdu(3, 40000, 2), 0x1234));
    expect(await raw.response(300)).toBeNull();
    await stillAnswers(raw);
  });

  it("closes a connection whose length field cannot be framed, and accepts new ones", async () => {
    const bad = await RawConnection.open(sim.port!);
    bad.send([0, 1, 0, 0, 0xff, 0xff, 1, 3, 0x9c, 0x40, 0, 2]);
    expect(await bad.response()).toBeNull();
    expect(bad.closed).toBe(true);

    const garbage = await RawConnection.open(sim.port!);
    garbage.send([...Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]);
    expect(await garbage.response(500)).toBeNull();
    garbage.close();

    const fresh = await RawConnection.open(sim.port!);
    await stillAnswers(fresh);
    fresh.close();
    const client = await connectClient(sim.port!);
    expect(await readRegisters(client, 1, 40000, 2)).toEqual([0x5375, 0x6e53]);
    await closeClient(client);
    await stillAnswers(raw);
  });
});
