import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AGENT, SERVICE, startTestBroker, type TestBroker } from "./broker-fixture";
import { TestClients } from "./broker-test-clients";

const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

describe("broker authentication", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("serves on a free port at mqtt://127.0.0.1:PORT", () => {
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });

  it("accepts configured users", async () => {
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" });
    const service = await clients.connect(broker.url, { username: SERVICE.username, password: SERVICE.password, clientId: "bms-ingestion" });
    expect(agent.connected && service.connected).toBe(true);
  });

  it("refuses a wrong password with return code 4", async () => {
    expect(await clients.refusedCode(broker.url, { username: AGENT.username, password: "wrong-password" })).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await clients.refusedCode(broker.url, { username: AGENT.username, password: SERVICE.password })).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await clients.refusedCode(broker.url, { username: AGENT.username })).toBe(BAD_USERNAME_OR_PASSWORD);
  });

  it("refuses an unknown user with return code 4", async () => {
    expect(await clients.refusedCode(broker.url, { username: "nobody", password: AGENT.password, clientId: "who-is-this" })).toBe(BAD_USERNAME_OR_PASSWORD);
    // one log line per refusal, naming the client and the reason
    const lines = broker.logs.filter((l) => l.clientId === "who-is-this");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "connection refused", username: "nobody", reason: "unknown username" });
    expect(JSON.stringify(lines[0])).not.toContain(AGENT.password);
  });

  it("refuses anonymous clients by default with return code 5", async () => {
    expect(await clients.refusedCode(broker.url, {})).toBe(NOT_AUTHORIZED);
  });

  it("refuses hostile credentials without falling over", async () => {
    expect(await clients.refusedCode(broker.url, { username: "", password: "whatever-pass" })).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await clients.refusedCode(broker.url, { username: "u".repeat(60_000), password: "p".repeat(60_000), clientId: "long" })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    const longLine = broker.logs.find((l) => l.clientId === "long");
    expect(String(longLine?.username).length).toBeLessThan(200);
    expect(await clients.refusedCode(broker.url, { username: AGENT.username, password: `${AGENT.password}\u0000` })).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await clients.refusedCode(broker.url, { username: "' OR 1=1 --", password: "' OR 1=1 --" })).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await clients.refusedCode(broker.url, { username: "agent-site-1 ", password: AGENT.password })).toBe(BAD_USERNAME_OR_PASSWORD);
    // still serving the real users afterwards
    expect((await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" })).connected).toBe(true);
  });
});

describe("broker with allowAnonymous", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ allowAnonymous: true });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("accepts clients without credentials, still checks those who send some", async () => {
    expect((await clients.connect(broker.url, {})).connected).toBe(true);
    expect(await clients.refusedCode(broker.url, { username: AGENT.username, password: "wrong-password" })).toBe(BAD_USERNAME_OR_PASSWORD);
  });
});
