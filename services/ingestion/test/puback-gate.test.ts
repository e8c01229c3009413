import { Duplex } from "node:stream";
import mqttPacket, { type Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { PubackGate } from "../src/intake/puback-gate";

/** A socket stand-in that records what the gate writes to it. */
function fakeSocket(): { socket: Duplex; written: () => Buffer } {
  const chunks: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { socket, written: () => Buffer.concat(chunks) };
}

/** Packets as mqtt-packet (the oracle) reads them back. */
function parse(bytes: Buffer): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: Packet[] = [];
  parser.on("packet", (p: Packet) => out.push(p));
  parser.parse(bytes);
  return out;
}

const gen = (packet: Packet) => mqttPacket.generate(packet);
const publish = (messageId: number, size: number): Packet => ({
  cmd: "publish",
  topic: "bms/site-1/pack-1/command",
  payload: Buffer.alloc(size, 7),
  qos: 1,
  messageId,
  dup: false,
  retain: false,
});

async function writeInPieces(gate: PubackGate, bytes: Buffer, sizes: () => number): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, sizes());
    await new Promise<void>((resolve, reject) => gate.write(bytes.subarray(at, at + n), (err) => (err ? reject(err) : resolve())));
    at += n;
  }
}

describe("the PUBACK gate", () => {
  it("passes every other packet through as the client wrote it, whatever the chunking, and holds the PUBACKs", async () => {
    const others: Packet[] = [
      { cmd: "pingreq" },
      { cmd: "subscribe", messageId: 9, subscriptions: [{ topic: "bms/#", qos: 1 }] },
      publish(10, 100),
      publish(11, 200), // two bytes of remaining length
      publish(12, 20_000), // three
      { cmd: "disconnect" },
    ];
    const acks = [1, 2, 300, 65_535];
    const stream = Buffer.concat([
      gen(others[0] as Packet),
      ...acks.slice(0, 2).map((id) => gen({ cmd: "puback", messageId: id })),
      ...others.slice(1, 4).map(gen),
      ...acks.slice(2).map((id) => gen({ cmd: "puback", messageId: id })),
      ...others.slice(4).map(gen),
    ]);
    for (const sizes of [() => 1, () => 3, () => 4096, () => 1 + Math.floor(Math.random() * 50)]) {
      const { socket, written } = fakeSocket();
      const gate = new PubackGate(socket);
      await writeInPieces(gate, stream, sizes);
      expect(Buffer.compare(written(), Buffer.concat(others.map(gen)))).toBe(0);
      expect(gate.heldCount).toBe(4);
    }
  });

  it("lets PUBACKs go in arrival order once their messages are released, as mqtt-packet encodes them", async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    await writeInPieces(gate, Buffer.concat([5, 6, 7].map((id) => gen({ cmd: "puback", messageId: id }))), () => 100);
    gate.release([6]);
    expect(written().length).toBe(0);
    gate.release([5]);
    expect(parse(written()).map((p) => (p as { messageId?: number }).messageId)).toEqual([5, 6]);
    expect(Buffer.compare(written(), Buffer.concat([gen({ cmd: "puback", messageId: 5 }), gen({ cmd: "puback", messageId: 6 })]))).toBe(0);
    gate.release([7]);
    expect(parse(written()).map((p) => (p as { messageId?: number }).messageId)).toEqual([5, 6, 7]);
    expect(gate.heldCount).toBe(0);
  });

  it("takes the pieces of corked writes together, as MQTT.js writes through mqtt-packet's writeToStream", async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    for (const id of [1, 2, 3]) mqttPacket.writeToStream({ cmd: "puback", messageId: id }, gate);
    mqttPacket.writeToStream(publish(4, 300), gate);
    mqttPacket.writeToStream({ cmd: "pingreq" }, gate);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.heldCount).toBe(3);
    expect(Buffer.compare(written(), Buffer.concat([gen(publish(4, 300)), gen({ cmd: "pingreq" })]))).toBe(0);
    gate.release([1, 2, 3]);
    expect(parse(written()).map((p) => p.cmd)).toEqual(["publish", "pingreq", "puback", "puback", "puback"]);
  });

  it("fails on a remaining length longer than four bytes", async () => {
    const { socket } = fakeSocket();
    const gate = new PubackGate(socket);
    const failed = new Promise<Error>((resolve) => gate.on("error", resolve));
    gate.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect((await failed).message).toMatch(/remaining length/);
  });
});
