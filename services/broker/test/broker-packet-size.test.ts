import { connect, type Socket } from "node:net";
import fc from "fast-check";
import mqttPacket from "mqtt-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { PacketSizeScanner } from "../src/packet-size-guard";
import { AGENT, agentClientId, SERVICE, serviceClientId, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

const MB = 1024 * 1024;

/** The fixed header of a packet of `type` whose body is `remaining` bytes. */
function fixedHeader(type: number, remaining: number): Buffer {
  const bytes = [type];
  let n = remaining;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    bytes.push(digit);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** Opens a raw socket, writes `header`, then up to `bodyBytes` of filler; resolves with how much was written before the broker closed it. */
function sendOversized(port: number, header: Buffer, bodyBytes: number): Promise<{ closedByBroker: boolean; written: number }> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: "127.0.0.1" });
    let written = 0;
    let done = false;
    const finish = (closedByBroker: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ closedByBroker, written });
    };
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("end", () => finish(true));
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    const pump = () => {
      while (!done && written < bodyBytes) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once("drain", pump);
          return;
        }
      }
      // Everything went out and the broker kept the connection: give it a moment to say otherwise.
      if (!done) setTimeout(() => finish(false), 1000);
    };
    socket.on("connect", () => {
      socket.write(header);
      pump();
    });
  });
}

describe("maximum packet size, enforced from the fixed header", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ allowAnonymous: true });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("four unauthenticated 250 MB CONNECTs are cut off after their header, long before their body arrives", async () => {
    const header = fixedHeader(0x10, 250 * MB);
    const results = await Promise.all([1, 2, 3, 4].map(() => sendOversized(broker.port, header, 64 * MB)));
    for (const r of results) {
      expect(r.closedByBroker).toBe(true);
      expect(r.written).toBeLessThan(64 * MB);
    }
    await waitFor(() => broker.logs.filter((l) => l.msg.startsWith("packet refused")).length >= 4, 5000, "four refusals logged");
    expect(broker.logs.find((l) => l.msg.startsWith("packet refused"))).toMatchObject({ kind: "too-large", size: 250 * MB + 5, limit: 256 * 1024 });
    const metric = await broker.registry.getSingleMetric("bms_broker_connections_refused_total")?.get();
    expect(metric?.values.find((v) => v.labels.reason === "packet-too-large")?.value).toBeGreaterThanOrEqual(4);
    // The broker still serves.
    expect((await clients.connect(broker.url, { clientId: "after-the-flood" })).connected).toBe(true);
  });

  it("a 10 MB publish from an authenticated client is refused and reaches no subscriber; the client is disconnected", async () => {
    const service = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    await service.subscribeAsync("bms/#", { qos: 1 });
    const received = collect(service);
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: agentClientId() });
    const closed = new Promise<void>((resolve) => agent.once("close", () => resolve()));
    agent.publish("bms/site-1/pack-1/telemetry", Buffer.alloc(10 * MB, 0x42), { qos: 1 });
    await closed;
    const marker = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: agentClientId() });
    await marker.publishAsync("bms/site-1/pack-1/telemetry", "small", { qos: 1 });
    await waitFor(() => received.some((m) => m.payload === "small"), 5000, "the small message");
    expect(received.map((m) => m.payload.length)).toEqual([5]);
  });

  it("a malformed Remaining Length (a fifth length byte) closes the connection", async () => {
    const result = await sendOversized(broker.port, Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), 4 * MB);
    expect(result.closedByBroker).toBe(true);
  });
});

describe("maximum packet size at its edge", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ allowAnonymous: true, maxPacketSize: 1024 });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("delivers a publish of exactly maxPacketSize bytes and refuses one byte more", async () => {
    const listener = await clients.connect(broker.url, { clientId: "edge-listener" });
    await listener.subscribeAsync("bms/#", { qos: 0 });
    const received = collect(listener);
    const topic = "bms/s/p/telemetry";
    const sizeOf = (payload: Buffer) => mqttPacket.generate({ cmd: "publish", topic, payload, qos: 1, messageId: 1, retain: false, dup: false }).length;
    // 1024 bytes take two Remaining Length bytes: one more than an empty publish.
    const fits = Buffer.alloc(1024 - sizeOf(Buffer.alloc(0)) - 1, 0x61);
    expect(sizeOf(fits)).toBe(1024);
    const publisher = await clients.connect(broker.url, { clientId: "edge-publisher" });
    await publisher.publishAsync(topic, fits, { qos: 1 });
    await waitFor(() => received.length === 1, 5000, "the packet that fits");
    const closed = new Promise<void>((resolve) => publisher.once("close", () => resolve()));
    publisher.publish(topic, Buffer.alloc(fits.length + 1, 0x62), { qos: 1 });
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.map((m) => m.payload.length)).toEqual([fits.length]);
  });
});

describe("PacketSizeScanner", () => {
  const packet = (remaining: number) => Buffer.concat([fixedHeader(0x30, remaining), Buffer.alloc(remaining, 7)]);

  it("follows packets split anywhere and flags the first one over the limit, from its header", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 2, max: 2000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
        (bodies, limit, cuts) => {
          const stream = Buffer.concat(bodies.map(packet));
          const scanner = new PacketSizeScanner(limit);
          let at = 0;
          let problem: ReturnType<PacketSizeScanner["scan"]>;
          for (let i = 0; at < stream.length && problem === undefined; i++) {
            const size = cuts[i % cuts.length] ?? 1;
            problem = scanner.scan(stream.subarray(at, at + size));
            at += size;
          }
          const sizes = bodies.map((b) => fixedHeader(0x30, b).length + b);
          const firstTooLarge = sizes.find((s) => s > limit);
          if (firstTooLarge === undefined) expect(problem).toBeUndefined();
          else expect(problem).toEqual({ kind: "too-large", size: firstTooLarge, limit });
        },
      ),
    );
  });

  it("never throws on random bytes, and flags only sizes or malformed lengths", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 64, max: 1 << 20 }), (bytes, limit) => {
        const problem = new PacketSizeScanner(limit).scan(bytes);
        if (problem?.kind === "too-large") expect(problem.size).toBeGreaterThan(limit);
      }),
    );
  });

  it("refuses five length bytes", () => {
    expect(new PacketSizeScanner(1 << 28).scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toEqual({ kind: "malformed-length" });
    expect(new PacketSizeScanner(1 << 29).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined();
  });
});
