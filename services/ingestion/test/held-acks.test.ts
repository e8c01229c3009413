import { Writable } from "node:stream";
import mqttPacket, { type Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { HeldAcks } from "../src/intake/held-acks";

/** A socket stand-in that records what is written to it. */
function fakeSocket(): { socket: Writable; written: () => Buffer } {
  const chunks: Buffer[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { socket, written: () => Buffer.concat(chunks) };
}

/** The message IDs of the PUBACKs in `bytes`, as mqtt-packet (the oracle) reads them. */
function acked(bytes: Buffer): number[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: number[] = [];
  parser.on("packet", (p: Packet) => {
    expect(p.cmd).toBe("puback");
    out.push((p as { messageId: number }).messageId);
  });
  parser.parse(bytes);
  return out;
}

describe("held PUBACKs", () => {
  it("go out when released, in arrival order, encoded as mqtt-packet encodes them", () => {
    const { socket, written } = fakeSocket();
    const acks = new HeldAcks(socket);
    for (const id of [5, 6, 7, 1, 65_535]) acks.hold(id);
    acks.release([6]);
    expect(written().length).toBe(0);
    acks.release([5]);
    expect(acked(written())).toEqual([5, 6]);
    expect(Buffer.compare(written(), Buffer.concat([5, 6].map((messageId) => mqttPacket.generate({ cmd: "puback", messageId }))))).toBe(0);
    acks.release([65_535, 1]);
    acks.release([7]);
    expect(acked(written())).toEqual([5, 6, 7, 1, 65_535]);
    expect(acks.heldCount).toBe(0);
  });

  it("a forgotten message holds up none after it, and is never acknowledged", () => {
    const { socket, written } = fakeSocket();
    const acks = new HeldAcks(socket);
    for (const id of [1, 2, 3]) acks.hold(id);
    acks.release([2, 3]);
    expect(written().length).toBe(0);
    acks.forget(1);
    expect(acked(written())).toEqual([2, 3]);
    acks.release([1]);
    expect(acked(written())).toEqual([2, 3]);
  });

  it("keeps order over a long run of batches released in order and out of it", () => {
    const { socket, written } = fakeSocket();
    const acks = new HeldAcks(socket);
    const expected: number[] = [];
    let next = 1;
    for (let batch = 0; batch < 40; batch++) {
      const ids = Array.from({ length: 100 }, () => (next++ % 65_535) + 1);
      for (const id of ids) acks.hold(id);
      // Every third batch releases its second half first.
      if (batch % 3 === 0) {
        acks.release(ids.slice(50));
        acks.release(ids.slice(0, 50));
      } else acks.release(ids);
      expected.push(...ids);
    }
    expect(acked(written())).toEqual(expected);
    expect(acks.heldCount).toBe(0);
  });

  it("writes nothing once the connection is gone", () => {
    const { socket, written } = fakeSocket();
    const acks = new HeldAcks(socket);
    acks.hold(1);
    socket.destroy();
    acks.release([1]);
    expect(written().length).toBe(0);
  });
});
