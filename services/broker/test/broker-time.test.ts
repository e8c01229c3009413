import { BROKER_TIME_TOPIC, BrokerTime } from "@bms/shared";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { AGENT, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

describe("the broker's time on $SYS/broker/time", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ timeIntervalMs: 200 });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("answers an agent's subscription at once with the retained time, then publishes it again every interval", async () => {
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" });
    const received = collect(agent);
    const before = Date.now();
    await agent.subscribeAsync(BROKER_TIME_TOPIC, { qos: 0 });
    await waitFor(() => received.length >= 3, 5000, "three broker times");
    const [first, ...later] = received;
    expect(first?.retain).toBe(true);
    expect(later.every((m) => !m.retain)).toBe(true);
    const times = received.map((m) => BrokerTime.parse(JSON.parse(m.payload)).ts);
    expect(times[0]).toBeGreaterThanOrEqual(before - 1000);
    expect(times.at(-1)).toBeLessThanOrEqual(Date.now());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("no client may publish it", async () => {
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" });
    const closed = new Promise<void>((resolve) => agent.once("close", () => resolve()));
    agent.publish(BROKER_TIME_TOPIC, JSON.stringify({ ts: 0 }), { qos: 1, retain: true });
    await closed;
  });
});
