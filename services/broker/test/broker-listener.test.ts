import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import mqttPacket from "mqtt-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../../../test/support/certificates";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { AGENT, startTestBroker, type TestBroker } from "./broker-fixture";
import { TestClients } from "./broker-test-clients";

describe("TLS on the MQTT listener, and the metrics endpoint", () => {
  let dir: TempDir;
  let certs: TestCertificates;
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    dir = makeTempDir("bms-broker-tls-");
    certs = makeTestCertificates(dir.path, "edge-site-1");
    broker = await startTestBroker({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey }, metrics: { port: 0 } });
  }, 30_000);
  afterEach(() => clients.endAll());
  afterAll(async () => {
    await broker?.close();
    dir?.remove();
  });

  it("speaks mqtts with its certificate; a client that does not trust its CA is refused", async () => {
    expect(broker.url).toMatch(/^mqtts:\/\//);
    const login = { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1" };
    expect((await clients.connect(broker.url, { ...login, ca: readFileSync(certs.ca) })).connected).toBe(true);
    await expect(clients.connect(broker.url, { ...login, ca: readFileSync(certs.otherCa) })).rejects.toThrow(/certificate/);
    // Plain MQTT on the TLS port: the handshake fails and the socket is closed.
    const plain = connect({ port: broker.port, host: "127.0.0.1" });
    plain.on("error", () => {});
    await once(plain, "connect");
    plain.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "edge-site-1", clean: true, keepalive: 30 }));
    await once(plain, "close");
  });

  it("serves bms_broker_* metrics on /metrics", async () => {
    await clients.refusedCode(broker.url, { username: AGENT.username, password: "wrong-password", clientId: "edge-site-1", ca: readFileSync(certs.ca) });
    expect(broker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(broker.metricsUrl ?? "");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/bms_broker_logins_failed_total\{reason="wrong-password"\} 1/);
    expect(text).toMatch(/bms_broker_connected_clients \d+/);
    expect((await fetch((broker.metricsUrl ?? "").replace("/metrics", "/other"))).status).toBe(404);
  });

  it("an unreadable certificate file is a config error naming the field", async () => {
    await expect(startTestBroker({ tls: { certFile: `${dir.path}/missing.crt`, keyFile: certs.serverKey } })).rejects.toThrow(/tls\.certFile: cannot read/);
  });
});
