import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { AGENT, OTHER_AGENT, SERVICE, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

const IDENTIFIER_REJECTED = 2;
const INGESTION_ID = "bms-ingestion";

/** Counts a client's connects and closes, to tell whether something kicked it. */
function watch(client: MqttClient): { connects: number; closes: number } {
  const counts = { connects: 0, closes: 0 };
  client.on("connect", () => (counts.connects += 1));
  client.on("close", () => (counts.closes += 1));
  return counts;
}

describe("client IDs bound to accounts", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("an agent repeatedly taking the ingestion's client ID (clean: false) is refused; the ingestion is never kicked and loses nothing", async () => {
    const ingestion = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: INGESTION_ID, clean: false });
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    const kicks = watch(ingestion);
    const received = collect(ingestion);
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" });

    const COUNT = 200;
    let sent = 0;
    const publishing = (async () => {
      for (; sent < COUNT; sent++) await agent.publishAsync("bms/site-1/pack-1/telemetry", JSON.stringify({ seq: sent + 1 }), { qos: 1 });
    })();
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) {
      for (const account of [AGENT, OTHER_AGENT]) {
        codes.push(await clients.refusedCode(broker.url, { username: account.username, password: account.password, clientId: INGESTION_ID, clean: false }));
      }
    }
    await publishing;

    expect(codes).toEqual(Array(60).fill(IDENTIFIER_REJECTED));
    await waitFor(() => received.length >= COUNT, 10_000, `${COUNT} messages at the ingestion`);
    expect(received.map((m) => (JSON.parse(m.payload) as { seq: number }).seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(kicks).toEqual({ connects: 0, closes: 0 });
    expect(ingestion.connected).toBe(true);
    const refusals = broker.logs.filter((l) => l.msg === "connection refused" && l.clientId === INGESTION_ID);
    expect(refusals).toHaveLength(60);
    expect(refusals[0]).toMatchObject({ username: AGENT.username, reason: expect.stringMatching(/client ID not allowed/) });
  });

  it("another site's agent cannot take a site's agent ID; the site's agent stays connected", async () => {
    const siteAgent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" });
    const kicks = watch(siteAgent);
    for (let i = 0; i < 20; i++) {
      expect(await clients.refusedCode(broker.url, { username: OTHER_AGENT.username, password: OTHER_AGENT.password, clientId: "edge-site-1" })).toBe(
        IDENTIFIER_REJECTED,
      );
    }
    await siteAgent.publishAsync("bms/site-1/pack-1/telemetry", "still here", { qos: 1 });
    expect(kicks).toEqual({ connects: 0, closes: 0 });
  });

  it("the same account reconnecting still takes over its own session, with what was queued for it", async () => {
    const first = await clients.connect(broker.url, {
      username: SERVICE.username,
      password: SERVICE.password,
      clientId: "bms-ingestion-takeover",
      clean: false,
    });
    await first.subscribeAsync("bms/#", { qos: 1 });
    const firstClosed = new Promise<void>((resolve) => first.once("close", () => resolve()));
    first.end(true); // gone without unsubscribing: the session keeps the subscription
    await firstClosed;
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "test-agent-1-queue" });
    await agent.publishAsync("bms/site-1/pack-1/telemetry", "queued while away", { qos: 1 });

    // Listening before the CONNACK: the queue follows it at once.
    const { client: live, sessionPresent } = clients.start(broker.url, {
      username: SERVICE.username,
      password: SERVICE.password,
      clientId: "bms-ingestion-takeover",
      clean: false,
    });
    const kicked = new Promise<void>((resolve) => live.once("close", () => resolve()));
    const received = collect(live);
    expect(await sessionPresent).toBe(true);
    await waitFor(() => received.some((m) => m.payload === "queued while away"), 5000, "the queued message");
    // A second connection of the same account with the same ID replaces the first.
    const again = await clients.connect(broker.url, {
      username: SERVICE.username,
      password: SERVICE.password,
      clientId: "bms-ingestion-takeover",
      clean: false,
      reconnectPeriod: 0,
    });
    await kicked;
    expect(again.connected).toBe(true);
  });

  it("an account connects only with its own IDs, whatever else it sends", async () => {
    for (const clientId of ["mqttjs_123", "edge-site-2", "bms-ingestion", "edge-site-10", "test-agent-2-x", "", "edge-site-1 "]) {
      expect(await clients.refusedCode(broker.url, { username: AGENT.username, password: AGENT.password, clientId, clean: true })).toBe(IDENTIFIER_REJECTED);
    }
    expect(await clients.refusedCode(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: "edge-site-1" })).toBe(
      IDENTIFIER_REJECTED,
    );
    expect((await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" })).connected).toBe(true);
    expect((await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: "bms-ingestion-7" })).connected).toBe(true);
  });
});

describe("client IDs with allowAnonymous", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ allowAnonymous: true });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("an anonymous client may not use an account's client ID, any other it may", async () => {
    const ingestion = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: INGESTION_ID, clean: false });
    const kicks = watch(ingestion);
    expect(await clients.refusedCode(broker.url, { clientId: INGESTION_ID, clean: false })).toBe(IDENTIFIER_REJECTED);
    expect(await clients.refusedCode(broker.url, { clientId: "bms-ingestion-2" })).toBe(IDENTIFIER_REJECTED);
    expect(await clients.refusedCode(broker.url, { clientId: "edge-site-1" })).toBe(IDENTIFIER_REJECTED);
    expect((await clients.connect(broker.url, { clientId: "some-tool" })).connected).toBe(true);
    expect(kicks).toEqual({ connects: 0, closes: 0 });
  });
});
