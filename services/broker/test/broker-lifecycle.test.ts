import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { PortInUseError, parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningScript, runScript } from "../../../test/support/cli";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { startBroker } from "../src/start-broker";
import { AGENT, agentClientId, SERVICE, serviceClientId, startTestBroker } from "./broker-fixture";
import { TestClients } from "./broker-test-clients";

const MAIN = join(import.meta.dirname, "..", "src", "main.ts");

function runCli(args: string[], env: NodeJS.ProcessEnv): RunningScript {
  return runScript(MAIN, args, { cwd: join(import.meta.dirname, ".."), env: { ...process.env, LOG_LEVEL: "info", ...env } });
}

describe("broker lifecycle", () => {
  const clients = new TestClients();
  let dir: TempDir;
  let blocker: Server | undefined;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = makeTempDir("bms-broker-life-");
  });
  afterEach(async () => {
    await clients.endAll();
    if (blocker) await new Promise((r) => blocker?.close(r));
    blocker = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    child = undefined;
    dir.remove();
  });

  it("names MQTT_PORT when the port is taken", async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(0, "127.0.0.1", r));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const config = parseConfig(BrokerConfig, { host: "127.0.0.1", port, dataDir: dir.path }, "test");
    const error = await startBroker(config).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PortInUseError);
    expect(String(error)).toMatch(new RegExp(`port ${port} is already in use: set MQTT_PORT`));
  });

  it("close() disconnects clients and stops listening, and may be called twice", async () => {
    const broker = await startTestBroker();
    const agent: MqttClient = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: agentClientId() });
    const gone = new Promise<void>((resolve) => agent.once("close", () => resolve()));
    await broker.close();
    await gone;
    await broker.close();
    await expect(
      clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: agentClientId(), connectTimeout: 1000 }),
    ).rejects.toThrow();
  });

  it("CLI: serves with --config and MQTT_PORT, and exits 0 on SIGTERM", async () => {
    const file = join(dir.path, "broker.json");
    writeFileSync(file, JSON.stringify({ host: "127.0.0.1", users: [SERVICE] }));
    const cli = runCli(["--config", file], { MQTT_PORT: "0", DATA_DIR: dir.path });
    child = cli.child;
    let port = 0;
    await waitFor(
      () => {
        const match = /"port":(\d+).*MQTT broker listening/.exec(cli.stderr());
        port = Number(match?.[1] ?? 0);
        return port > 0;
      },
      20_000,
      "the broker to listen",
    );
    const service = await clients.connect(`mqtt://127.0.0.1:${port}`, { username: SERVICE.username, password: SERVICE.password, clientId: serviceClientId() });
    expect(service.connected).toBe(true);
    child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  it("CLI: a bad config exits 2 with readable lines and no stack trace", async () => {
    const file = join(dir.path, "broker.json");
    writeFileSync(file, JSON.stringify({ users: [{ username: "a", password: "long-enough", role: "agent" }] }));
    const cli = runCli(["--config", file], {});
    child = cli.child;
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain("users.0.siteId: an agent account needs its siteId");
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it("CLI: an unknown flag exits 2 with the usage", async () => {
    const cli = runCli(["--nonsense"], {});
    child = cli.child;
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(/usage: npm run broker/);
  });
});
