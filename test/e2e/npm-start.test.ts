import { createServer, type Server } from "node:net";
import { LIVE_NAMESPACE, type SitePackSample } from "@bms/shared";
import { io } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningScript, runScript } from "../support/cli";
import { waitFor } from "../support/free-port";
import { makeTempDir, type TempDir } from "../support/temp-dir";

/**
 * `npm start` as a user runs it: the whole stack in one process, driven by the environment, from
 * the build (`npm run build`, then plain node on services/stack/dist/main.js), as it ships.
 */
const TOKEN = "token-for-the-npm-start-test";

let dir: TempDir | undefined;
let running: RunningScript | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill("SIGKILL");
    await running.exited;
  }
  running = undefined;
  dir?.remove();
  dir = undefined;
});

function start(env: Record<string, string>): RunningScript {
  dir = makeTempDir("bms-start-");
  running = runScript("services/stack/dist/main.js", [], {
    via: "built",
    env: { ...process.env, LOG_LEVEL: "warn", DATA_DIR: dir.path, HTTP_PORT: "0", MQTT_PORT: "0", SIM_MODBUS_PORT: "0", ...env },
  });
  return running;
}

describe("npm start", () => {
  it("runs the whole stack with a simulated site of 4 packs, prints the console URL, and stops cleanly on Ctrl-C", async () => {
    const stack = start({ ENGINEER_TOKEN: TOKEN, SIM_PACKS: "4" });
    await waitFor(() => /console:\s+http/.test(stack.output()), 60_000, `the console URL in:\n${stack.output()}`);
    expect(stack.output()).toMatch(/not written: no INFLUX_URL set/);
    const consoleUrl = new URL(/console:\s+(\S+)/.exec(stack.output())![1]!);
    expect(consoleUrl.searchParams.get("token")).toBe(TOKEN);
    const base = consoleUrl.origin;

    // Every part in the process reports on /healthz.
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 20_000, "/healthz to be ok");
    const health = (await (await fetch(`${base}/healthz`)).json()) as Record<string, { ok?: boolean; devices?: unknown[] }>;
    expect(health.ingestion?.ok).toBe(true);
    expect(health.agent?.devices).toHaveLength(4);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);

    const socket = io(`${base}${LIVE_NAMESPACE}`, { auth: { token: TOKEN }, transports: ["websocket"] });
    const packs = new Set<string>();
    socket.on("sample", (s: SitePackSample) => packs.add(s.packId));
    await socket.timeout(5000).emitWithAck("subscribe", { siteId: "demo-site" });
    await waitFor(() => packs.size === 4, 20_000, "samples from 4 packs");
    socket.close();
    expect([...packs].sort()).toEqual(["pack-1", "pack-2", "pack-3", "pack-4"]);

    stack.child.kill("SIGINT");
    expect(await stack.exited).toBe(0);
  });

  it("exits with code 2 and names the variable when a setting is bad", async () => {
    const stack = start({ HTTP_PORT: "eighty", SIM_PACKS: "-1" });
    expect(await stack.exited).toBe(2);
    expect(stack.output()).toMatch(/httpPort \(from HTTP_PORT\): expected number, got "eighty"/);
    expect(stack.output()).toMatch(/simPacks \(from SIM_PACKS\)/);
    expect(stack.output()).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it("exits with code 2 naming SIM_SCENARIO when the scenario does not exist, before starting anything", async () => {
    const stack = start({ SIM_SCENARIO: "no-such-scenario", ENGINEER_TOKEN: TOKEN, LOG_LEVEL: "info" });
    expect(await stack.exited).toBe(2);
    expect(stack.output()).toMatch(/scenario \(from SIM_SCENARIO\): expected a shipped scenario \(.*over-temperature.*\)/);
    expect(stack.output()).not.toMatch(/listening/);
  });

  it("exits with code 2 naming the setting when its HTTP port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "0.0.0.0", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const stack = start({ HTTP_PORT: String(port), ENGINEER_TOKEN: TOKEN });
      expect(await stack.exited).toBe(2);
      expect(stack.output()).toMatch(new RegExp(`port ${port} is already in use: set HTTP_PORT`));
    } finally {
      blocker.close();
    }
  });
});
