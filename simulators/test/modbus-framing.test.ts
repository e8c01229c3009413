import { describe, expect, it } from "vitest";
import { MbapFramer, mbapFrame } from "../src/protocols/modbus-mbap";
import { exceptionPdu, parseRequestPdu, readResponsePdu, writeResponsePdu } from "../src/protocols/modbus-pdu";
import { MAX_RTU_FRAME_BYTES, RtuFrameAssembler, t35Ms } from "../src/protocols/modbus-rtu-framing";

const adu = (tid: number, unit: number, pdu: number[], protocol = 0) =>
  Buffer.from([tid >> 8, tid & 0xff, protocol >> 8, protocol & 0xff, 0, pdu.length + 1, unit, ...pdu]);
const read = (fn: number, address: number, count: number) => [fn, address >> 8, address & 0xff, count >> 8, count & 0xff];

describe("MBAP framing", () => {
  it("cuts requests out of a stream however it is split or joined", () => {
    const a = adu(1, 1, read(3, 40000, 2));
    const b = adu(2, 7, read(4, 40002, 125));
    const framer = new MbapFramer();
    const stream = Buffer.concat([a, b, a]);
    const seen = [];
    for (const byte of stream.subarray(0, 5)) seen.push(...framer.push(Buffer.from([byte])));
    seen.push(...framer.push(stream.subarray(5, a.length + 3)));
    seen.push(...framer.push(stream.subarray(a.length + 3)));
    expect(seen.map((r) => [r.transactionId, r.protocolId, r.unitId, [...r.pdu]])).toEqual([
      [1, 0, 1, read(3, 40000, 2)],
      [2, 0, 7, read(4, 40002, 125)],
      [1, 0, 1, read(3, 40000, 2)],
    ]);
    expect(framer.unframeable).toBe(false);
  });

  it("hands over another protocol's frame with its protocol ID (the server ignores it)", () => {
    const [request] = new MbapFramer().push(adu(9, 1, read(3, 0, 1), 0x1234));
    expect(request?.protocolId).toBe(0x1234);
  });

  it.each([
    ["a length of 0", [0, 1, 0, 0, 0, 0]],
    ["a length of 1 (no function code)", [0, 1, 0, 0, 0, 1, 1]],
    ["a length over 254", [0, 1, 0, 0, 0, 255, 1, 3]],
    ["HTTP", [...Buffer.from("GET / HTTP/1.1\r\n")]],
  ])("gives up on %s, and stays given up", (_what, bytes) => {
    const framer = new MbapFramer();
    expect(framer.push(Buffer.from(bytes))).toEqual([]);
    expect(framer.unframeable).toBe(true);
    expect(framer.push(adu(1, 1, read(3, 40000, 2)))).toEqual([]);
  });

  it("frames a reply with the transaction ID echoed", () => {
    expect([...mbapFrame(0xbeef, 3, Buffer.from([3, 2, 0x12, 0x34]))]).toEqual([0xbe, 0xef, 0, 0, 0, 5, 3, 3, 2, 0x12, 0x34]);
  });
});

describe("request PDUs", () => {
  it.each([
    ["read holding", read(3, 40000, 125), { fn: 3, address: 40000, count: 125 }],
    ["read input", read(4, 0, 1), { fn: 4, address: 0, count: 1 }],
    ["write one", [6, 0x9c, 0x5a, 0, 1], { fn: 6, address: 40026, value: 1 }],
    ["write many", [16, 0, 10, 0, 2, 4, 0, 1, 0xff, 0xff], { fn: 16, address: 10, values: [1, 0xffff] }],
  ])("parses %s", (_what, pdu, expected) => {
    expect(parseRequestPdu(Buffer.from(pdu))).toEqual(expected);
  });

  it.each([
    ["an empty PDU", [], 0, 0x01],
    ["an unknown function", [0x63, 0, 0], 0x63, 0x01],
    ["read coils", read(1, 0, 8), 1, 0x01],
    ["diagnostics", [8, 0, 0, 0, 0], 8, 0x01],
    ["a read of 0", read(3, 0, 0), 3, 0x03],
    ["a read of 126", read(4, 0, 126), 4, 0x03],
    ["a short read", [3, 0, 0, 0], 3, 0x03],
    ["a read with trailing bytes", [...read(3, 0, 1), 0], 3, 0x03],
    ["a short single write", [6, 0, 1, 0], 6, 0x03],
    ["a write of 0 registers", [16, 0, 0, 0, 0, 0], 16, 0x03],
    ["a write of 124 registers", [16, 0, 0, 0, 124, 248, ...new Array<number>(248).fill(0)], 16, 0x03],
    ["a write whose byte count lies", [16, 0, 0, 0, 1, 4, 0, 1], 16, 0x03],
    ["a write cut short", [16, 0, 0, 0, 2, 4, 0, 1], 16, 0x03],
  ])("refuses %s with the exception the spec names", (_what, pdu, fn, exception) => {
    expect(parseRequestPdu(Buffer.from(pdu))).toEqual({ fn, exception });
  });

  it("encodes responses", () => {
    expect([...readResponsePdu(4, [0x5375, 0x6e53])]).toEqual([4, 4, 0x53, 0x75, 0x6e, 0x53]);
    expect([...writeResponsePdu({ fn: 6, address: 40090, value: 1 })]).toEqual([6, 0x9c, 0x9a, 0, 1]);
    expect([...writeResponsePdu({ fn: 16, address: 40090, values: [1, 2, 3] })]).toEqual([16, 0x9c, 0x9a, 0, 3]);
    expect([...exceptionPdu(16, 2)]).toEqual([0x90, 2]);
  });
});

describe("RTU framing on silences", () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("uses t3.5 of 11-bit characters, 1.75 ms above 19200 baud", () => {
    expect(t35Ms(9600)).toBeCloseTo(4.01, 2);
    expect(t35Ms(19200)).toBeCloseTo(2.005, 3);
    expect(t35Ms(115200)).toBe(1.75);
  });

  it("joins bytes that come closer than the gap and splits on a longer silence", async () => {
    const frames: number[][] = [];
    const assembler = new RtuFrameAssembler(40, (frame) => frames.push([...frame]));
    assembler.push(Buffer.from([1, 3]));
    await pause(5);
    assembler.push(Buffer.from([0x9c, 0x40]));
    await pause(150);
    assembler.push(Buffer.from([2]));
    await pause(150);
    expect(frames).toEqual([[1, 3, 0x9c, 0x40], [2]]);
    assembler.stop();
  });

  it("drops a frame that grows past 256 bytes, up to the next silence, then frames again", async () => {
    const frames: number[][] = [];
    const overlong: number[] = [];
    const assembler = new RtuFrameAssembler(
      30,
      (frame) => frames.push([...frame]),
      (bytes) => overlong.push(bytes),
    );
    for (let i = 0; i < 10; i++) assembler.push(Buffer.alloc(40, 0x55));
    await pause(120);
    assembler.push(Buffer.from([1, 3]));
    await pause(120);
    expect(overlong).toEqual([400]);
    expect(frames).toEqual([[1, 3]]);
    expect(MAX_RTU_FRAME_BYTES).toBe(256);
    assembler.stop();
  });

  it("forgets a half frame when stopped", async () => {
    const frames: Buffer[] = [];
    const assembler = new RtuFrameAssembler(10, (frame) => frames.push(frame));
    assembler.push(Buffer.from([1, 3, 0]));
    assembler.stop();
    await pause(50);
    expect(frames).toEqual([]);
  });
});
