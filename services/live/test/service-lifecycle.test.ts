import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PortInUseError } from "@bms/shared";
import { LiveConfig } from "@bms/shared/config/live-config";
import { openSqliteCaseStore } from "@bms/storage";
import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { cleanupAfterEach } from "../../../test/support/cleanups";
import { runScript } from "../../../test/support/cli";
import { freePort, waitFor } from "../../../test/support/free-port";
import { makeTempDir } from "../../../test/support/temp-dir";
import { startLive } from "../src/index";
import { openCase, TOKEN } from "./live-harness";

const cleanups = cleanupAfterEach();

function config(overrides: Record<string, unknown>) {
  return LiveConfig.parse({ http: { host: "127.0.0.1", port: 0 }, engineerTokens: [TOKEN], ...overrides });
}

/** Each run of the command line compiles the service with tsx: on a loaded 2-core machine that alone takes 10–20 s. */
const CLI_TEST_MS = 100_000;

describe("health and metrics", () => {
  it("reports degraded (503) while the broker is unreachable, ok once it is up", async () => {
    const dir = makeTempDir("bms-live-");
    cleanups.push(() => dir.remove());
    const mqttPort = await freePort();
    const live = await startLive(config({ mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, reconnectPeriodMs: 200 }, dataDir: dir.path }));
    cleanups.push(() => live.close());

    const down = await fetch(`${live.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "degraded", mqttConnected: false });

    const broker = await startAedesBroker({ port: mqttPort });
    cleanups.push(() => broker.stop());
    await waitFor(async () => (await fetch(`${live.url}/healthz`)).status === 200, 10_000, "healthz ok after the broker came up");
    expect(await (await fetch(`${live.url}/healthz`)).json()).toMatchObject({ status: "ok", mqttConnected: true });
  });

  it("reports the health of other parts in the process, degraded when one is not ok", async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.stop());
    const dir = makeTempDir("bms-live-");
    cleanups.push(() => dir.remove());
    let writesOk = true;
    const live = await startLive(config({ mqtt: { url: broker.url }, dataDir: dir.path }), {
      extraHealth: { ingestion: () => ({ ok: writesOk, spoolSize: writesOk ? 0 : 42 }) },
    });
    cleanups.push(() => live.close());
    await waitFor(async () => (await fetch(`${live.url}/healthz`)).status === 200, 10_000, "healthz ok");
    expect(await (await fetch(`${live.url}/healthz`)).json()).toMatchObject({ status: "ok", ingestion: { ok: true, spoolSize: 0 } });
    writesOk = false;
    const degraded = await fetch(`${live.url}/healthz`);
    expect(degraded.status).toBe(503);
    expect(await degraded.json()).toMatchObject({ status: "degraded", mqttConnected: true, ingestion: { ok: false, spoolSize: 42 } });
  });

  it("exposes its own metrics merged with the caller's registries", async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.stop());
    const dir = makeTempDir("bms-live-");
    cleanups.push(() => dir.remove());
    const other = new Registry();
    const counter = new Counter({ name: "bms_other_things_total", help: "things another service counted", registers: [other] });
    counter.inc(3);
    const live = await startLive(config({ mqtt: { url: broker.url }, dataDir: dir.path }), { extraRegistries: [other] });
    cleanups.push(() => live.close());
    // Registered after start: still exposed, the merge happens per request.
    new Counter({ name: "bms_other_late_total", help: "registered later", registers: [other] }).inc();
    const res = await fetch(`${live.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain("bms_live_mqtt_rejected_total");
    expect(text).toContain("bms_other_things_total 3");
    expect(text).toContain("bms_other_late_total 1");
  });
});

describe("start and stop", () => {
  it("opens the SQLite case store in dataDir by default and serves its cases", async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.stop());
    const dir = makeTempDir("bms-live-");
    cleanups.push(() => dir.remove());
    // The ingestion writes the store; the live service reads the same file.
    const writer = openSqliteCaseStore(join(dir.path, "cases.db"));
    cleanups.push(() => writer.close());
    const opened = await openCase(writer, "site-1", "pack-1");
    const live = await startLive(config({ mqtt: { url: broker.url }, dataDir: dir.path }));
    cleanups.push(() => live.close());
    const res = await fetch(`${live.url}/api/cases/${opened.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: opened.id, status: "open" });
    await live.close();
    await live.close(); // twice is fine
    await expect(fetch(`${live.url}/healthz`)).rejects.toThrow();
  });

  it("names HTTP_PORT when the port is taken", async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.stop());
    const dir = makeTempDir("bms-live-");
    cleanups.push(() => dir.remove());
    const first = await startLive(config({ mqtt: { url: broker.url }, dataDir: dir.path }));
    cleanups.push(() => first.close());
    const second = startLive(config({ http: { host: "127.0.0.1", port: first.port }, mqtt: { url: broker.url }, dataDir: dir.path }));
    await expect(second).rejects.toBeInstanceOf(PortInUseError);
    await expect(second).rejects.toThrow(/HTTP_PORT/);
  });
});

describe("command line", () => {
  const tsx = join(process.cwd(), "node_modules/.bin/tsx");
  const main = join(process.cwd(), "services/live/src/main.ts");
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(tsx, [main, ...args], { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env }, encoding: "utf8", timeout: 45_000 });

  it(
    "exits 2 naming the problem when no engineer token is configured",
    () => {
      const result = run([], { HTTP_PORT: "0" });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("engineerTokens");
      expect(result.stderr).not.toContain("    at ");
    },
    CLI_TEST_MS,
  );

  it(
    "exits 2 on a bad HTTP_PORT, a short ENGINEER_TOKEN and an unknown flag",
    () => {
      const bad = run([], { HTTP_PORT: "eighty", ENGINEER_TOKEN: "short", SMTP_URL: "http://mail.example" });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("http.port (from HTTP_PORT)");
      expect(bad.stderr).toContain("reports.smtpUrl (from SMTP_URL)");
      expect(bad.stderr).toContain("engineerTokens");
      const flag = run(["--nope"], {});
      expect(flag.status).toBe(2);
      expect(flag.stderr).toContain("usage");
    },
    CLI_TEST_MS,
  );
});

describe("command line start and stop", () => {
  it(
    "starts from the environment, serves, and exits 0 on SIGTERM",
    async () => {
      const broker = await startAedesBroker();
      cleanups.push(() => broker.stop());
      const dir = makeTempDir("bms-live-");
      cleanups.push(() => dir.remove());
      const port = await freePort();
      const { child, stderr, exited } = runScript("services/live/src/main.ts", [], {
        via: "tsx",
        env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", HTTP_PORT: String(port), MQTT_URL: broker.url, DATA_DIR: dir.path, ENGINEER_TOKEN: TOKEN },
      });
      cleanups.push(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 20_000, `the CLI to serve (${stderr()})`);
      const res = await fetch(`http://127.0.0.1:${port}/api/cases`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    },
    CLI_TEST_MS,
  );
});
