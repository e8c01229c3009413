import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type RunningModbusTcpServer, startModbusTcpServer } from "../src/protocols/modbus-tcp-server";
import { sunspecLayoutFor } from "../src/sunspec-register-map";
import { TestDevice } from "./protocol-fixtures";
import { exception, RawConnection, readPdu, request } from "./raw-modbus-tcp";

/** A device whose register reads fail with an ordinary error (a bug, a lost sensor bus). */
class FailingDevice extends TestDevice {
  failing = false;
  override snapshot() {
    if (this.failing) throw new Error("the BMS's own bus is down");
    return super.snapshot();
  }
}

const SUNS = [0x53, 0x75, 0x6e, 0x53];
/** The reply to `request(tid, unit, readPdu(fn, 40000, 2))`. */
const marker = (tid: number, unit: number, fn = 3) => [tid >> 8, tid & 0xff, 0, 0, 0, 7, unit, fn, 4, ...SUNS];

describe("Modbus TCP server on its own framing", () => {
  const one = new FailingDevice(1);
  const two = new TestDevice(2);
  let server: RunningModbusTcpServer;
  const open: RawConnection[] = [];
  const connection = async () => {
    const conn = await RawConnection.open(server.port);
    open.push(conn);
    return conn;
  };

  beforeAll(async () => {
    server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: [one, two] });
  });

  afterAll(async () => {
    for (const conn of open) conn.close();
    await server.close();
  });

  it("answers requests pipelined in one write in order, each with its own transaction ID", async () => {
    const conn = await connection();
    const tids = Array.from({ length: 200 }, (_, i) => (i * 977 + 13) & 0xffff);
    const fn = (i: number) => (i % 3 === 0 ? 4 : 3);
    conn.send(tids.flatMap((tid, i) => request(tid, 1 + (i % 2), readPdu(fn(i), 40000, 2))));
    for (const [i, tid] of tids.entries()) expect(await conn.response()).toEqual(marker(tid, 1 + (i % 2), fn(i)));
  });

  it("serves several connections at once, each its own stream", async () => {
    const conns = await Promise.all(Array.from({ length: 6 }, () => connection()));
    const requests = conns.map((_, i) => request(0x100 + i, 1 + (i % 2), readPdu(3, 40000, 2)));
    for (const [i, conn] of conns.entries()) conn.send((requests[i] ?? []).slice(0, 5)); // half a header each...
    for (const [i, conn] of conns.entries()) conn.send((requests[i] ?? []).slice(5)); // ...then the rest
    for (const [i, conn] of conns.entries()) expect(await conn.response()).toEqual(marker(0x100 + i, 1 + (i % 2)));
  });

  it("carries writes (functions 6 and 16) to the register map", async () => {
    const conn = await connection();
    const almRst = sunspecLayoutFor(two.snapshot()).battery + MODEL_BATTERY.points.AlmRst.offset;
    const reset = vi.spyOn(two, "resetAlarms");
    conn.send(request(5, 2, [16, almRst >> 8, almRst & 0xff, 0, 1, 2, 0, 1]));
    expect(await conn.response()).toEqual([0, 5, 0, 0, 0, 6, 2, 16, almRst >> 8, almRst & 0xff, 0, 1]);
    conn.send(request(6, 2, [6, almRst >> 8, almRst & 0xff, 0, 1]));
    expect(await conn.response()).toEqual([0, 6, 0, 0, 0, 6, 2, 6, almRst >> 8, almRst & 0xff, 0, 1]);
    expect(reset).toHaveBeenCalledTimes(2);
    conn.send(request(7, 2, [6, almRst >> 8, almRst & 0xff, 0, 9]));
    expect(await conn.response()).toEqual(exception(7, 2, 6, 0x03)); // the map refuses the value
    expect(reset).toHaveBeenCalledTimes(2);
  });

  it("answers 0x04 (server device failure) when the map fails, and keeps serving", async () => {
    const conn = await connection();
    one.failing = true;
    try {
      conn.send(request(8, 1, readPdu(3, 40000, 2)));
      expect(await conn.response()).toEqual(exception(8, 1, 3, 0x04));
    } finally {
      one.failing = false;
    }
    conn.send(request(9, 1, readPdu(3, 40000, 2)));
    expect(await conn.response()).toEqual(marker(9, 1));
  });

  it("says nothing for a silent device and keeps answering the other on the same connection", async () => {
    const conn = await connection();
    two.linkCondition = { kind: "silent" };
    try {
      conn.send([...request(10, 2, readPdu(3, 40000, 2)), ...request(11, 1, readPdu(3, 40000, 2))]);
      expect(await conn.response()).toEqual(marker(11, 1));
      expect(await conn.response(300)).toBeNull();
    } finally {
      two.linkCondition = { kind: "ok" };
    }
  });

  it("drops, truncates or mis-addresses the replies of a garbled link, as a gateway passes them on", async () => {
    const good = Buffer.from(marker(12, 1));
    const seen = new Set<string>();
    one.linkCondition = { kind: "garbled", crcErrorRate: 0.3, truncateRate: 0.3, wrongUnitRate: 0.3 };
    try {
      for (let i = 0; i < 40 && seen.size < 3; i++) {
        const conn = await connection();
        conn.send(request(12, 1, readPdu(3, 40000, 2)));
        const reply = await conn.bytesWithin(80);
        conn.close();
        if (reply.length === 0) seen.add("dropped");
        else if (reply.length < good.length) seen.add("truncated");
        else if (reply[6] !== 1 && reply.subarray(7).equals(good.subarray(7))) seen.add("wrong unit");
      }
    } finally {
      one.linkCondition = { kind: "ok" };
    }
    expect(seen).toEqual(new Set(["dropped", "truncated", "wrong unit"]));
  });

  it("keeps serving others while a client pipelines without reading, and answers it all in order once it reads", async () => {
    const greedy = await connection();
    const count = 20_000; // ~5 MB of replies: more than the socket buffers hold
    const burst: number[] = [];
    for (let i = 0; i < count; i++) burst.push(...request(i, 1, readPdu(3, 40000, 125)));
    greedy.socket.pause();
    greedy.send(burst);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const other = await connection();
    other.send(request(77, 2, readPdu(3, 40000, 2)));
    expect(await other.response()).toEqual(marker(77, 2));
    greedy.socket.resume();
    for (let i = 0; i < count; i++) {
      const reply = await greedy.response(5000);
      expect(reply?.slice(0, 2)).toEqual([(i >> 8) & 0xff, i & 0xff]);
    }
  }, 60_000);
});
