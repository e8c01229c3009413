import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { withCrc } from "@bms/shared";
import { type PtyPair, startPtyPair } from "@bms/simulators";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModbusRtuTransport } from "../src/transports/modbus-rtu-transport";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import type { RegisterTransport } from "../src/transports/register-transport";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError } from "../src/transports/transport-errors";
import { type RtuRegisterServer, startRtuRegisterServer } from "./fixtures/rtu-register-server";

/**
 * Property-based tests (fast-check) of the agent's Modbus reply handling, over real sockets and a
 * real serial line: whatever a device answers (random bytes, a header that lies about its length,
 * a wrong function, unit or byte count, an exception, a reply cut short or in pieces, silence), a
 * read either returns exactly the registers asked for or rejects with one of the typed transport
 * errors, within its timeout; nothing throws past it and nothing hangs.
 */

const TIMEOUT_MS = 150;
const TYPED = [BadReplyError, DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError];

/** The bytes a device sends back to one request (`fn`, `count`, transaction `tid`, `unit`). */
type ReplyPlan = (request: { tid: number; unit: number; fn: number; count: number }) => Buffer[];

const byte = fc.integer({ min: 0, max: 255 });
const word = fc.integer({ min: 0, max: 0xffff });

/** A Modbus PDU as a device might botch it: right or wrong function, byte count, payload length; or an exception. */
const pdu = fc.oneof(
  fc
    .record({
      fnDelta: fc.constantFrom(0, 0, 1, 0x80),
      byteCountDelta: fc.constantFrom(0, 0, 0, -2, 2, 100),
      payloadDelta: fc.constantFrom(0, 0, -1, 1, -4),
      words: fc.array(word, { maxLength: 130 }),
    })
    .map(({ fnDelta, byteCountDelta, payloadDelta, words }) => (fn: number, count: number) => {
      const data = Buffer.alloc(Math.max(0, 2 * count + payloadDelta));
      for (let i = 0; i + 1 < data.length; i += 2) data.writeUInt16BE(words[(i / 2) % Math.max(1, words.length)] ?? 0, i);
      return Buffer.concat([Buffer.from([(fn + fnDelta) & 0xff, (2 * count + byteCountDelta) & 0xff]), data]);
    }),
  fc.tuple(fc.integer({ min: 1, max: 255 })).map(
    ([code]) =>
      (fn: number) =>
        Buffer.from([fn | 0x80, code]),
  ),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => () => Buffer.from(bytes)),
);

/** Modbus TCP replies: an MBAP header (right or wrong transaction, protocol, length, unit) around a PDU, sent whole, in pieces, cut, doubled or not at all. */
const tcpReply: fc.Arbitrary<ReplyPlan> = fc
  .record({
    pdu,
    tidDelta: fc.constantFrom(0, 0, 0, 1),
    protocol: fc.constantFrom(0, 0, 0, 7),
    lengthDelta: fc.constantFrom(0, 0, 0, -1, 1, 1000),
    unitDelta: fc.constantFrom(0, 0, 0, 1),
    delivery: fc.constantFrom("whole", "whole", "pieces", "cut", "twice", "silent", "raw"),
    raw: fc.uint8Array({ maxLength: 64 }),
    cutAt: fc.nat(40),
  })
  .map((r) => (req) => {
    const body = r.pdu(req.fn, req.count);
    const header = Buffer.alloc(7);
    header.writeUInt16BE((req.tid + r.tidDelta) & 0xffff, 0);
    header.writeUInt16BE(r.protocol, 2);
    header.writeUInt16BE((body.length + 1 + r.lengthDelta) & 0xffff, 4);
    header[6] = (req.unit + r.unitDelta) & 0xff;
    const frame = Buffer.concat([header, body]);
    switch (r.delivery) {
      case "pieces":
        return [frame.subarray(0, 3), frame.subarray(3, 9), frame.subarray(9)];
      case "cut":
        return [frame.subarray(0, r.cutAt)];
      case "twice":
        return [frame, frame];
      case "silent":
        return [];
      case "raw":
        return [Buffer.from(r.raw)];
      default:
        return [frame];
    }
  });

/** A raw TCP "device": answers each request as the current plan says. */
async function startRawDevice(): Promise<{ port: number; plan: ReplyPlan; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = {
    port: 0,
    plan: (() => []) as ReplyPlan,
    server: createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      let pending = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 12) {
          const request = { tid: pending.readUInt16BE(0), unit: pending[6] ?? 0, fn: pending[7] ?? 0, count: pending.readUInt16BE(10) };
          pending = pending.subarray(12);
          for (const piece of state.plan(request)) if (!socket.destroyed) socket.write(piece);
        }
      });
    }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => state.server.close(() => resolve()));
    },
  };
  state.server.listen(0, "127.0.0.1");
  await once(state.server, "listening");
  const address = state.server.address();
  state.port = typeof address === "object" && address ? address.port : 0;
  return state;
}

/**
 * After a bad exchange the transport recovers by itself (TCP reconnects; RTU discards what is
 * buffered): a well-formed reply is read right within a few reads, the failures on the way typed.
 */
async function expectRecovery(read: () => Promise<number[]>, expected: number[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await read().then(
      (words) => words,
      (err: unknown) => err,
    );
    if (Array.isArray(outcome)) {
      expect(outcome).toEqual(expected);
      return;
    }
    expect(
      TYPED.some((type) => outcome instanceof type),
      String(outcome),
    ).toBe(true);
    expect(attempt, `still failing after ${attempt} reads: ${String(outcome)}`).toBeLessThan(3);
  }
}

/** Reads `count` registers; the outcome must be exactly `count` words or a typed error, within the timeout and a margin. */
async function expectExactOrTyped(transport: RegisterTransport, count: number): Promise<void> {
  const started = Date.now();
  const outcome = await transport.readHoldingRegisters(1, 100, count).then(
    (words) => words,
    (err: unknown) => err,
  );
  expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 4 + 2000);
  if (Array.isArray(outcome)) {
    expect(outcome).toHaveLength(count);
    for (const w of outcome) expect(Number.isInteger(w) && w >= 0 && w <= 0xffff).toBe(true);
  } else {
    expect(
      TYPED.some((type) => outcome instanceof type),
      String(outcome),
    ).toBe(true);
  }
}

describe("Modbus TCP replies, random and adversarial", () => {
  let device: Awaited<ReturnType<typeof startRawDevice>>;
  let transport: ModbusTcpTransport;
  beforeAll(async () => {
    device = await startRawDevice();
    transport = new ModbusTcpTransport({ host: "127.0.0.1", port: device.port, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await transport.close();
    await device.close();
  });

  it("every read returns exactly the registers asked for or a typed error, and valid replies are read right again", async () => {
    await fc.assert(
      fc.asyncProperty(tcpReply, fc.integer({ min: 1, max: 125 }), async (plan, count) => {
        device.plan = plan;
        await expectExactOrTyped(transport, count);
        // Whatever came before, a well-formed reply is read as sent.
        device.plan = (req) => {
          const body = Buffer.alloc(2 + 2 * req.count);
          body[0] = req.fn;
          body[1] = 2 * req.count;
          for (let i = 0; i < req.count; i++) body.writeUInt16BE(i * 3, 2 + 2 * i);
          const header = Buffer.alloc(7);
          header.writeUInt16BE(req.tid, 0);
          header.writeUInt16BE(body.length + 1, 4);
          header[6] = req.unit;
          return [Buffer.concat([header, body])];
        };
        await expectRecovery(() => transport.readHoldingRegisters(1, 100, 3), [0, 3, 6]);
      }),
      { numRuns: 150 },
    );
  }, 180_000);
});

describe("Modbus RTU replies, random and adversarial, on a serial line", () => {
  let pty: PtyPair;
  let server: RtuRegisterServer;
  let transport: ModbusRtuTransport;
  const registers = new Map(Array.from({ length: 300 }, (_, a) => [a, (a * 7919) & 0xffff]));
  beforeAll(async () => {
    pty = await startPtyPair();
    server = await startRtuRegisterServer({ path: pty.devicePath, units: new Map([[1, registers]]) });
    transport = new ModbusRtuTransport({ path: pty.clientPath, baudRate: 115_200, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await transport.close();
    await server.stop();
    await pty.close();
  });

  /** What the line does to a correct reply: nothing, flip bytes, cut it, pad it, replace it (with or without a valid CRC), drop it. */
  const damage = fc.oneof(
    fc.constant((reply: Buffer) => reply),
    fc.tuple(fc.nat(), byte).map(([at, value]) => (reply: Buffer) => {
      const copy = Buffer.from(reply);
      copy[at % copy.length] = value;
      return copy;
    }),
    fc.nat(300).map((at) => (reply: Buffer) => reply.subarray(0, at % reply.length)),
    fc.uint8Array({ minLength: 1, maxLength: 20 }).map((extra) => (reply: Buffer) => Buffer.concat([reply, Buffer.from(extra)])),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => () => Buffer.from(bytes)),
    fc.tuple(byte, byte, fc.uint8Array({ maxLength: 260 })).map(
      ([unit, fn, body]) =>
        () =>
          withCrc(Buffer.concat([Buffer.from([unit, fn]), Buffer.from(body)])),
    ),
    fc.constant(() => null),
  );

  it("every read returns exactly the registers served or a typed error, and the line recovers", async () => {
    await fc.assert(
      fc.asyncProperty(damage, fc.integer({ min: 1, max: 125 }), async (harm, count) => {
        server.damage = harm;
        const outcome = await transport.readHoldingRegisters(1, 100, count).then(
          (words) => words,
          (err: unknown) => err,
        );
        if (Array.isArray(outcome)) {
          // A reply that still checks out must be the served one: a damaged one never becomes values.
          expect(outcome).toEqual(Array.from({ length: count }, (_, i) => registers.get(100 + i)));
        } else {
          expect(
            TYPED.some((type) => outcome instanceof type),
            String(outcome),
          ).toBe(true);
        }
        server.damage = undefined;
        await expectRecovery(() => transport.readHoldingRegisters(1, 0, 2), [registers.get(0) ?? -1, registers.get(1) ?? -1]);
      }),
      { numRuns: 60 },
    );
  }, 180_000);
});
