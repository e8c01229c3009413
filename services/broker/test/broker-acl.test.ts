import { ErrorWithSubackPacket, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { AGENT, agentClientId, SERVICE, serviceClientId, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

const SUBACK_FAILURE = 128;

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) resolve();
    else client.once("close", () => resolve());
  });
}

describe("broker topic ACL", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  let service: MqttClient;
  let received: ReturnType<typeof collect>;
  let markers = 0;

  const asAgent = (clientId = agentClientId()) => clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId });

  /** Proves the service is caught up: a fresh marker from a good agent has arrived. */
  async function flush(): Promise<void> {
    const marker = `marker-${++markers}`;
    const agent = await asAgent();
    await agent.publishAsync(`bms/site-1/${marker}/telemetry`, marker, { qos: 1 });
    await waitFor(() => received.some((m) => m.payload === marker), 5000, marker);
  }

  /** The agent publishes `topic`; the broker must cut it off and the service must never see it. */
  async function expectRefusedPublish(client: MqttClient, topic: string, retain = false): Promise<void> {
    const gone = closed(client);
    client.publish(topic, "forbidden", { qos: 1, retain }, () => {});
    await gone;
    await flush();
    expect(received.filter((m) => m.payload === "forbidden")).toEqual([]);
  }

  beforeAll(async () => {
    broker = await startTestBroker();
  });
  beforeEach(async () => {
    service = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    received = collect(service);
    const granted = await service.subscribeAsync(["bms/#", "cases/#", "elsewhere/#"], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1]);
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("delivers an agent's QoS 1 publish under its own site to a service", async () => {
    const agent = await asAgent();
    await agent.publishAsync("bms/site-1/pack-1/telemetry", '{"v":1}', { qos: 1 });
    await agent.publishAsync("bms/site-1/status", '{"state":"online"}', { qos: 1, retain: true });
    await waitFor(() => received.length === 2, 5000, "two messages");
    expect(received.map((m) => m.topic)).toEqual(["bms/site-1/pack-1/telemetry", "bms/site-1/status"]);
    expect(agent.connected).toBe(true);
  });

  it("cuts off an agent publishing under another site, and logs it once", async () => {
    const agent = await asAgent("test-agent-1-gone-rogue");
    await expectRefusedPublish(agent, "bms/site-2/pack-1/telemetry");
    const lines = broker.logs.filter((l) => l.msg.startsWith("publish refused"));
    expect(lines.filter((l) => l.clientId === "test-agent-1-gone-rogue")).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ clientId: "test-agent-1-gone-rogue", username: AGENT.username, topic: "bms/site-2/pack-1/telemetry" });
  });

  it.each([
    ["cases/site-1/pack-1", false],
    ["cases/site-1/pack-1", true],
    ["elsewhere/site-1", true],
    ["$SYS/broker/x", false],
    ["bms/site-1", false],
    ["bms/site-10/pack-1/telemetry", false],
    ["bms/site-1/../site-2/telemetry", false],
    ["bms/site-1//telemetry", false],
    ["bms/site-1/pack\u0000/telemetry", false],
    ["bms/site-1/pack 1/telemetry", false],
  ])("refuses an agent publishing to %j (retain %s)", async (topic, retain) => {
    await expectRefusedPublish(await asAgent(), topic, retain);
  });

  it("refuses wildcard publish topics", async () => {
    await expectRefusedPublish(await asAgent(), "bms/site-1/+/telemetry");
    await expectRefusedPublish(await asAgent(), "bms/site-1/#");
  });

  it("refuses an agent's will message outside its site", async () => {
    const rogue = await clients.connect(broker.url, {
      username: AGENT.username,
      password: AGENT.password,
      clientId: agentClientId(),
      will: { topic: "cases/site-1/fake", payload: Buffer.from("forbidden"), qos: 1, retain: true },
    });
    rogue.stream.destroy(); // no DISCONNECT: the broker sends the will
    await flush();
    expect(received.filter((m) => m.payload === "forbidden")).toEqual([]);
  });

  it("grants an agent only its own status and the broker's time, and keeps it connected", async () => {
    const agent = await asAgent("test-agent-1-nosy");
    const got = collect(agent);
    const filters = ["bms/#", "bms/site-1/#", "bms/site-2/status", "bms/+/status", "$SYS/#", "#", "bms/site-1/status", "$SYS/broker/time"];
    const error = await agent.subscribeAsync(filters, { qos: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ErrorWithSubackPacket);
    const granted = error instanceof ErrorWithSubackPacket ? error.packet.granted : [];
    expect(granted).toEqual([SUBACK_FAILURE, SUBACK_FAILURE, SUBACK_FAILURE, SUBACK_FAILURE, SUBACK_FAILURE, SUBACK_FAILURE, 1, 1]);
    expect(agent.connected).toBe(true);
    await agent.publishAsync("bms/site-1/status", '{"state":"online"}', { qos: 1, retain: true });
    await flush();
    expect(new Set(got.map((m) => m.topic))).toEqual(new Set(["bms/site-1/status", "$SYS/broker/time"]));
    expect(broker.logs.filter((l) => l.clientId === "test-agent-1-nosy" && l.msg === "subscription refused")).toHaveLength(6);
  });

  it("lets a service publish under cases/ but not under bms/", async () => {
    const other = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    await other.publishAsync("cases/x/y", '{"type":"opened"}', { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === "cases/x/y"), 5000, "cases/x/y");
    await expectRefusedPublish(other, "bms/site-1/pack-1/telemetry");
  });
});

describe("broker topic ACL for anonymous clients (allowAnonymous)", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ allowAnonymous: true });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("may publish under bms/ and subscribe, nothing else", async () => {
    const listener = await clients.connect(broker.url, {});
    const got = collect(listener);
    expect((await listener.subscribeAsync("#", { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    const anon = await clients.connect(broker.url, {});
    await anon.publishAsync("bms/any-site/p/telemetry", "ok", { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === "ok"), 5000, "anonymous publish");
    const gone = closed(anon);
    anon.publish("cases/a/b", "forbidden", { qos: 1 });
    await gone;
    const again = await clients.connect(broker.url, {});
    await again.publishAsync("bms/any-site/p/telemetry", "after", { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === "after"), 5000, "second anonymous publish");
    expect(got.filter((m) => m.payload === "forbidden")).toEqual([]);
  });
});
