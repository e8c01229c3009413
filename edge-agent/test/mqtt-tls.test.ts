import { readFileSync } from "node:fs";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../../test/support/certificates";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { type MosquittoServer, startMosquitto } from "../../test/support/mosquitto";
import { makeTempDir, type TempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { captureLog } from "./fixtures/captured-log";
import { startRegisterServer } from "./fixtures/register-server";
import { sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();
let dir: TempDir;
let mosquitto: MosquittoServer;
let port: number;
let certs: TestCertificates;

beforeAll(async () => {
  dir = makeTempDir("bms-tls-");
  certs = makeTestCertificates(dir.path, "edge-site-tls");
  mosquitto = await startMosquitto({
    users: { "agent-tls": "s3cret-agent" },
    settings: ["per_listener_settings false"],
    listener: [`cafile ${certs.ca}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, "require_certificate true"],
    readable: [dir.path, certs.ca, certs.serverCert, certs.serverKey],
  });
  port = mosquitto.port;
}, 60_000);

afterAll(async () => {
  await mosquitto?.stop();
  dir?.remove();
});

async function agentWith(tls: Record<string, unknown>, credentials = { username: "agent-tls", password: "s3cret-agent" }) {
  const modbus = await startRegisterServer({ units: new Map([[1, sunspecDevice().registers]]) });
  const data = makeTempDir("bms-tls-data-");
  const agent = await startEdgeAgent(
    EdgeAgentConfig.parse({
      siteId: "site-tls",
      mqtt: { url: `mqtts://127.0.0.1:${port}`, ...credentials, reconnectPeriodMs: 200, connectTimeoutMs: 2000, tls },
      pollIntervalMs: 100,
      dataDir: data.path,
      devices: [{ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbus.port } }],
    }),
    { log: captureLog().log },
  );
  cleanups.push(
    () => data.remove(),
    () => modbus.close(),
    () => agent.close(),
  );
  return agent;
}

describe("broker over TLS with credentials (Mosquitto, mqtts://)", () => {
  it("publishes over mqtts with the CA, a client certificate and a password", async () => {
    const tls = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey };
    const watcher = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      username: "agent-tls",
      password: "s3cret-agent",
      ca: readFileSync(tls.caFile),
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      reconnectPeriod: 0,
    });
    cleanups.push(() => watcher.endAsync());
    const got: string[] = [];
    watcher.on("message", (topic) => got.push(topic));
    await watcher.subscribeAsync("bms/site-tls/#", { qos: 1 });
    const agent = await agentWith(tls);
    await waitFor(() => got.filter((t) => t === "bms/site-tls/pack-1/telemetry").length >= 3, 20_000, "telemetry over TLS");
    expect(agent.health().mqttConnected).toBe(true);
  });

  it("refuses a broker its CA did not sign, and a wrong password; the samples wait in the outbox", async () => {
    for (const [tls, credentials] of [
      [{ caFile: certs.otherCa, certFile: certs.clientCert, keyFile: certs.clientKey }, undefined],
      [
        { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey },
        { username: "agent-tls", password: "wrong" },
      ],
    ] as const) {
      const agent = await agentWith(tls, credentials);
      await waitFor(() => agent.health().outboxSize >= 5, 20_000, "samples queued");
      expect(agent.health().mqttConnected).toBe(false);
      expect(agent.health().published).toBe(0);
    }
  });
});
