import { once } from "node:events";
import { connect, type Socket } from "node:net";
import mqttPacket from "mqtt-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { AGENT, agentClientId, SERVICE, serviceClientId, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

const SERVER_UNAVAILABLE = 3;

async function metricValue(broker: TestBroker, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await broker.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** A raw MQTT 3.1.1 connection, to put many packets into one socket write. */
async function rawClient(port: number, connectPacket: Record<string, unknown>): Promise<Socket> {
  const socket = connect({ port, host: "127.0.0.1" });
  await once(socket, "connect");
  socket.write(
    mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 30, ...connectPacket } as mqttPacket.IConnectPacket),
  );
  const [connack] = (await once(socket, "data")) as [Buffer];
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`CONNECT refused: ${connack.toString("hex")}`);
  return socket;
}

describe("connections per account", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ maxConnectionsPerAccount: 3, users: [AGENT, { ...SERVICE, maxConnections: 5 }] });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("refuses an account's connection past its cap (CONNACK 3); a takeover of its own ID and a freed slot are fine", async () => {
    const agent = (clientId: string) => ({ username: AGENT.username, password: AGENT.password, clientId });
    const held = await Promise.all(["test-agent-1-a", "test-agent-1-b", "test-agent-1-c"].map((id) => clients.connect(broker.url, agent(id))));
    expect(await clients.refusedCode(broker.url, agent("test-agent-1-d"))).toBe(SERVER_UNAVAILABLE);
    expect(await metricValue(broker, "bms_broker_connections_refused_total", { reason: "account-limit" })).toBe(1);
    // The same client ID again replaces the older connection: not a fourth one.
    const replaced = new Promise<void>((resolve) => held[0]?.once("close", () => resolve()));
    const again = await clients.connect(broker.url, { ...agent("test-agent-1-a"), reconnectPeriod: 0 });
    await replaced;
    expect(again.connected).toBe(true);
    await held[1]?.endAsync();
    await waitFor(
      async () =>
        await clients.connect(broker.url, agent("test-agent-1-e")).then(
          () => true,
          () => false,
        ),
      5000,
      "a freed slot",
    );
    expect(broker.logs.some((l) => l.msg === "connection refused" && /maxConnectionsPerAccount/.test(String(l.reason)))).toBe(true);
  });

  it("a user's own maxConnections overrides the broker's cap", async () => {
    const service = (i: number) => ({ username: SERVICE.username, password: SERVICE.password, clientId: `bms-ingestion-cap-${i}` });
    for (let i = 0; i < 5; i++) expect((await clients.connect(broker.url, service(i))).connected).toBe(true);
    expect(await clients.refusedCode(broker.url, service(5))).toBe(SERVER_UNAVAILABLE);
  });
});

describe("connections on the whole broker", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ maxConnections: 4 });
  });
  afterAll(() => broker.close());

  it("closes sockets past maxConnections at once, before any MQTT is read", async () => {
    const sockets = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const s = connect({ port: broker.port, host: "127.0.0.1" });
        await once(s, "connect");
        return s;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = connect({ port: broker.port, host: "127.0.0.1" });
    extra.on("error", () => {});
    await once(extra, "close");
    expect(await metricValue(broker, "bms_broker_connections_refused_total", { reason: "server-limit" })).toBe(1);
    for (const s of sockets) s.destroy();
  });
});

describe("messages in flight per client", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ maxInflightMessages: 10 });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("cuts off a client that puts more QoS 1 publishes in flight than the cap; forwards none past it", async () => {
    const service = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    await service.subscribeAsync("bms/#", { qos: 1 });
    const received = collect(service);
    const socket = await rawClient(broker.port, { clientId: agentClientId(), username: AGENT.username, password: Buffer.from(AGENT.password) });
    const burst = Buffer.concat(
      Array.from({ length: 50 }, (_, i) =>
        mqttPacket.generate({
          cmd: "publish",
          topic: "bms/site-1/p/telemetry",
          payload: Buffer.from(`burst-${i}`),
          qos: 1,
          messageId: i + 1,
          retain: false,
          dup: false,
        }),
      ),
    );
    socket.write(burst);
    socket.on("error", () => {});
    await once(socket, "close");
    expect(await metricValue(broker, "bms_broker_publishes_refused_total", { reason: "inflight" })).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.filter((m) => m.payload.startsWith("burst-")).length).toBeLessThanOrEqual(10);
  });

  it("a client that waits for its acknowledgements publishes as much as it likes", async () => {
    const service = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    await service.subscribeAsync("bms/#", { qos: 1 });
    const received = collect(service);
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: agentClientId() });
    for (let i = 0; i < 100; i++) await agent.publishAsync("bms/site-1/p/telemetry", `steady-${i}`, { qos: 1 });
    await waitFor(() => received.length === 100, 5000, "100 messages");
    expect(agent.connected).toBe(true);
  });
});
