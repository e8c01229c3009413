import { ConfigError } from "@bms/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { AGENT, SERVICE, startTestBroker, type TestBroker } from "./broker-fixture";
import { collect, TestClients } from "./broker-test-clients";

const INGESTION = { username: SERVICE.username, password: SERVICE.password, clientId: "bms-ingestion", clean: false } as const;
const AGENT_LOGIN = { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" } as const;

describe("broker persistence on disk", () => {
  const clients = new TestClients();
  let dir: TempDir;
  const brokers: TestBroker[] = [];
  const start = async (over: Record<string, unknown> = {}) => {
    const broker = await startTestBroker({ dataDir: dir.path, ...over });
    brokers.push(broker);
    return broker;
  };
  beforeEach(() => {
    dir = makeTempDir("bms-broker-persist-");
  });
  afterEach(async () => {
    await clients.endAll();
    for (const b of brokers.splice(0)) await b.close();
    dir.remove();
  });

  it("keeps the ingestion's session across a restart: what an agent publishes before the ingestion is back is queued for it", async () => {
    const first = await start();
    const ingestion = await clients.connect(first.url, INGESTION);
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    await first.close();

    const second = await start();
    // The agent's backlog arrives first...
    const agent = await clients.connect(second.url, AGENT_LOGIN);
    for (let seq = 1; seq <= 104; seq++) await agent.publishAsync("bms/site-1/pack-1/telemetry", JSON.stringify({ seq }), { qos: 1 });
    // ...then the ingestion comes back to its session and gets all of it, each once. aedes
    // acknowledges a QoS 1 PUBLISH before it stores the copies, so the last few may still be on
    // their way to the disk when the session returns: those come live, ahead of the queue.
    const back = clients.start(second.url, INGESTION);
    const received = collect(back.client);
    expect(await back.sessionPresent).toBe(true);
    await waitFor(() => received.length >= 104, 10_000, "the 104 queued samples");
    const seqs = received.map((m) => (JSON.parse(m.payload) as { seq: number }).seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 104 }, (_, i) => i + 1));
    // The queue comes in order (only the last few can have been still on their way).
    expect(seqs.filter((seq) => seq <= 90)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
  });

  it("keeps retained messages", async () => {
    const first = await start();
    const agent = await clients.connect(first.url, AGENT_LOGIN);
    await agent.publishAsync("bms/site-1/pack-1/meta", '{"model":"X"}', { qos: 1, retain: true });
    await first.close();
    const second = await start();
    const reader = await clients.connect(second.url, { username: SERVICE.username, password: SERVICE.password, clientId: "bms-ingestion-reader" });
    const received = collect(reader);
    await reader.subscribeAsync("bms/+/+/meta", { qos: 1 });
    await waitFor(() => received.length === 1, 5000, "the retained meta");
    expect(received[0]).toMatchObject({ topic: "bms/site-1/pack-1/meta", payload: '{"model":"X"}', retain: true });
  });

  it("a second broker on the same data directory is a config error naming DATA_DIR", async () => {
    await start();
    const error = await startTestBroker({ dataDir: dir.path }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/held by another broker process: give each broker its own DATA_DIR/);
  });

  it("persistence: memory keeps nothing across a restart", async () => {
    const first = await start({ persistence: "memory" });
    const ingestion = await clients.connect(first.url, INGESTION);
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    await first.close();
    const second = await start({ persistence: "memory" });
    expect(await clients.start(second.url, INGESTION).sessionPresent).toBe(false);
  });

  it("persistence: memory queues a session's backlog and hands it over in order, each message once, then nothing more", async () => {
    const broker = await start({ persistence: "memory" });
    const ingestion = await clients.connect(broker.url, INGESTION);
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    await ingestion.endAsync();
    const agent = await clients.connect(broker.url, AGENT_LOGIN);
    const count = 3000;
    await Promise.all(Array.from({ length: count }, (_, i) => agent.publishAsync("bms/site-1/pack-1/telemetry", JSON.stringify({ seq: i + 1 }), { qos: 1 })));
    const back = clients.start(broker.url, INGESTION);
    const received = collect(back.client);
    expect(await back.sessionPresent).toBe(true);
    await waitFor(() => received.length >= count, 10_000, `the ${count} queued samples`);
    expect(received.map((m) => (JSON.parse(m.payload) as { seq: number }).seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    await back.client.endAsync();
    // Every copy was acknowledged and taken off the queue: the next visit finds none.
    const again = clients.start(broker.url, INGESTION);
    const more = collect(again.client);
    expect(await again.sessionPresent).toBe(true);
    await agent.publishAsync("bms/site-1/pack-1/telemetry", JSON.stringify({ seq: count + 1 }), { qos: 1 });
    await waitFor(() => more.length >= 1, 5000, "the next live sample");
    expect(more.map((m) => (JSON.parse(m.payload) as { seq: number }).seq)).toEqual([count + 1]);
  });
});
