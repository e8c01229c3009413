import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { type MosquittoServer, startMosquitto } from "../../../test/support/mosquitto";
import { collect, TestClients } from "./broker-test-clients";

const EXAMPLES = join(import.meta.dirname, "..", "examples", "mosquitto");
const PASSWORDS = { ingestion: "ingestion-password", live: "live-password", "agent-site-1": "agent-1-password", "agent-site-2": "agent-2-password" };
/** Lines of the shipped example that name files or the port of a real installation (the test server has its own). */
const INSTALLATION_ONLY =
  /^(listener|cafile|certfile|keyfile|password_file|acl_file|allow_anonymous|persistence|persistence_location|autosave_interval|autosave_on_changes)\b/;

/** The shipped example config (its global and its listener settings) and ACL, on a free port, with test passwords and no TLS. */
function exampleSettings(): { settings: string[]; listener: string[]; acl: string[] } {
  const lines = (name: string) =>
    readFileSync(join(EXAMPLES, name), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
  const conf = lines("mosquitto.conf");
  const at = conf.findIndex((l) => l.startsWith("listener "));
  const keep = (part: string[]) => part.filter((l) => !INSTALLATION_ONLY.test(l));
  return { settings: keep(conf.slice(0, at)), listener: keep(conf.slice(at + 1)), acl: lines("acl") };
}

function watch(client: MqttClient): { closes: number } {
  const counts = { closes: 0 };
  client.on("close", () => (counts.closes += 1));
  return counts;
}

describe("Mosquitto with the shipped example config (services/broker/examples/mosquitto)", () => {
  let mosquitto: MosquittoServer;
  const clients = new TestClients();
  const login = (user: keyof typeof PASSWORDS, clientId: string, more: Record<string, unknown> = {}) => ({
    username: user,
    password: PASSWORDS[user],
    clientId,
    ...more,
  });
  beforeAll(async () => {
    mosquitto = await startMosquitto({ users: PASSWORDS, ...exampleSettings() });
  });
  afterEach(() => clients.endAll());
  afterAll(() => mosquitto.stop());

  it("an agent using the ingestion's client ID (clean: false) gets its own session; the ingestion is never kicked and loses nothing", async () => {
    const ingestion = await clients.connect(mosquitto.url, login("ingestion", "bms-ingestion", { clean: false }));
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    const kicks = watch(ingestion);
    const received = collect(ingestion);
    const agent = await clients.connect(mosquitto.url, login("agent-site-1", "edge-site-1"));
    const COUNT = 100;
    const publishing = (async () => {
      for (let seq = 1; seq <= COUNT; seq++) await agent.publishAsync("bms/site-1/pack-1/telemetry", JSON.stringify({ seq }), { qos: 1 });
    })();
    const stolen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const impostor = await clients.connect(mosquitto.url, login("agent-site-2", "bms-ingestion", { clean: false }));
      impostor.on("message", (topic) => stolen.push(topic));
      await impostor.subscribeAsync("bms/#", { qos: 1 }).catch(() => undefined);
    }
    await publishing;
    await waitFor(() => received.length >= COUNT, 10_000, `${COUNT} messages at the ingestion`);
    expect(received.map((m) => (JSON.parse(m.payload) as { seq: number }).seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(kicks.closes).toBe(0);
    // The ACL gives the impostor's account nothing of another site: it read nothing.
    expect(stolen).toEqual([]);
  });

  it("another site's agent cannot take a site's agent session", async () => {
    const siteAgent = await clients.connect(mosquitto.url, login("agent-site-1", "edge-site-1"));
    const kicks = watch(siteAgent);
    for (let i = 0; i < 10; i++) await clients.connect(mosquitto.url, login("agent-site-2", "agent-site-1"));
    await siteAgent.publishAsync("bms/site-1/pack-1/telemetry", "still here", { qos: 1 });
    expect(kicks.closes).toBe(0);
  });

  it("the same account reconnecting takes over its own session", async () => {
    const first = await clients.connect(mosquitto.url, login("ingestion", "anything", { clean: false }));
    await first.subscribeAsync("bms/#", { qos: 1 });
    const replaced = new Promise<void>((resolve) => first.once("close", () => resolve()));
    const second = clients.start(mosquitto.url, login("ingestion", "something-else", { clean: false }));
    expect(await second.sessionPresent).toBe(true);
    await replaced;
  });

  it("an agent's publish under another site reaches no one; a 10 MB packet is refused", async () => {
    const ingestion = await clients.connect(mosquitto.url, login("ingestion", "x"));
    await ingestion.subscribeAsync("bms/#", { qos: 1 });
    const received = collect(ingestion);
    const agent = await clients.connect(mosquitto.url, login("agent-site-1", "x"));
    await agent.publishAsync("bms/site-2/pack-1/telemetry", "forged", { qos: 1 });
    const closed = new Promise<void>((resolve) => agent.once("close", () => resolve()));
    agent.publish("bms/site-1/pack-1/telemetry", Buffer.alloc(10 * 1024 * 1024), { qos: 1 });
    await closed;
    const again = await clients.connect(mosquitto.url, login("agent-site-1", "x"));
    await again.publishAsync("bms/site-1/pack-1/telemetry", "marker", { qos: 1 });
    await waitFor(() => received.some((m) => m.payload === "marker"), 5000, "the marker");
    expect(received.map((m) => m.payload)).toEqual(["marker"]);
  });
});
