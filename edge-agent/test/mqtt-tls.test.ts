import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../../test/support/binaries";
import { type RunningProcess, startProcess } from "../../test/support/child-process";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { freePort, waitFor } from "../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { captureLog } from "./fixtures/captured-log";
import { startRegisterServer } from "./fixtures/register-server";
import { sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();
let dir: TempDir;
let mosquitto: RunningProcess;
let port: number;
const file = (name: string) => join(dir.path, name);

function openssl(args: string[]): void {
  execFileSync(requireBinary("openssl", "openssl"), args, { cwd: dir.path, stdio: "ignore" });
}

/** A CA, a broker certificate for 127.0.0.1 and a client certificate, all made here. */
function makeCertificates(): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt"]);
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [name, cn] of [
    ["server", "127.0.0.1"],
    ["client", "edge-site-tls"],
  ]) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`]);
    openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${name}.crt`,
      ...(name === "server" ? ["-extfile", "server.ext"] : []),
    ]);
  }
  // A second CA that signed nothing the broker has: the wrong one to trust.
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca", "-keyout", "other.key", "-out", "other.crt"]);
}

beforeAll(async () => {
  dir = makeTempDir("bms-tls-");
  makeCertificates();
  execFileSync(requireBinary("mosquitto_passwd", "mosquitto"), ["-b", "-c", file("passwd"), "agent-tls", "s3cret-agent"]);
  // Mosquitto started as root drops to its own user: it must be able to read these test-only files.
  chmodSync(dir.path, 0o755);
  for (const name of readdirSync(dir.path)) chmodSync(file(name), 0o644);
  port = await freePort();
  writeFileSync(
    file("mosquitto.conf"),
    [
      "per_listener_settings false",
      "allow_anonymous false",
      `password_file ${file("passwd")}`,
      "persistence false",
      `listener ${port} 127.0.0.1`,
      `cafile ${file("ca.crt")}`,
      `certfile ${file("server.crt")}`,
      `keyfile ${file("server.key")}`,
      "require_certificate true",
      "",
    ].join("\n"),
  );
  mosquitto = startProcess(requireBinary("mosquitto", "mosquitto"), ["-c", file("mosquitto.conf")]);
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = createConnection({ port, host: "127.0.0.1" }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      }),
    10_000,
    `Mosquitto with TLS to listen\n${mosquitto.output()}`,
  );
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
    const tls = { caFile: file("ca.crt"), certFile: file("client.crt"), keyFile: file("client.key") };
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
      [{ caFile: file("other.crt"), certFile: file("client.crt"), keyFile: file("client.key") }, undefined],
      [
        { caFile: file("ca.crt"), certFile: file("client.crt"), keyFile: file("client.key") },
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
