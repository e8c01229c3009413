import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScript } from "../../test/support/cli";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { AGENT_NODE_FLAGS } from "../src/node-flags";
import { retained, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { startRegisterServer } from "./fixtures/register-server";
import { sunspecDevice } from "./fixtures/sunspec-device";

const dir = makeTempDir("bms-agent-cli-");
afterAll(() => dir.remove());

/** `npx tsx` as a user types it; `node --import tsx` (same loader, no npx start-up) for the rest. */
async function runAgent(args: string[], env: Record<string, string> = {}, viaNpx = false): Promise<{ code: number | null; stderr: string }> {
  const agent = runScript("edge-agent/src/main.ts", args, { via: viaNpx ? "npx" : "node", env: { ...process.env, ...env } });
  const code = await agent.exited;
  return { code, stderr: agent.stderr() };
}

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

describe("agent command line: shipped runtime flags", () => {
  it("npm run agent and docker-compose.yml start the agent with AGENT_NODE_FLAGS", () => {
    const root = join(import.meta.dirname, "..", "..");
    const script = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.agent ?? "";
    expect(script).toBe(`npm run build --silent && node ${AGENT_NODE_FLAGS.join(" ")} --enable-source-maps edge-agent/dist/main.js`);
    const compose = readFileSync(join(root, "docker-compose.yml"), "utf8");
    expect(compose).toContain(`["node", ${AGENT_NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ")}, "--enable-source-maps", "edge-agent/dist/main.js"`);
  });
});

describe("agent command line: running", () => {
  it("runs as shipped (the bundle, with AGENT_NODE_FLAGS) from a config file and shuts down cleanly on SIGTERM (exit 0, status offline)", async () => {
    const broker = await startRecordingBroker();
    const built = sunspecDevice();
    const modbus = await startRegisterServer({ units: new Map([[1, built.registers]]) });
    try {
      const config = file(
        "run.json",
        JSON.stringify({
          siteId: "site-t",
          pollIntervalMs: 100,
          devices: [{ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbus.port } }],
        }),
      );
      // --lite-mode turns WebAssembly off: a dependency that needs it at start-up (pg does) fails here.
      const { child, exited } = runScript("edge-agent/dist/main.js", ["--config", config], {
        via: "built",
        nodeFlags: AGENT_NODE_FLAGS,
        env: { ...process.env, MQTT_URL: broker.url, DATA_DIR: join(dir.path, "data") },
      });
      await waitFor(() => telemetry(broker.received, "pack-1").length >= 2, 30_000, "telemetry from the CLI agent");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(await retained(broker.url, "bms/site-t/status")).toMatch(/"offline"/);
    } finally {
      await modbus.close();
      await broker.stop();
    }
  }, 60_000);
});

describe("agent command line: bad configuration exits 2 with one readable line per problem", () => {
  it("names every bad field, with no stack trace", async () => {
    const bad = file(
      "bad.yaml",
      [
        "siteId: site/1",
        "pollIntervalMs: 5",
        "devices:",
        "  - packId: p1",
        "    transport: { kind: modbus-tcp, host: 127.0.0.1, port: 70000 }",
        "    colour: red",
        "",
      ].join("\n"),
    );
    const { code, stderr } = await runAgent(["--config", bad], {}, true);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}- siteId: /m);
    expect(stderr).toMatch(/^ {2}- pollIntervalMs: /m);
    expect(stderr).toMatch(/^ {2}- devices\.0\.transport\.port: /m);
    expect(stderr).toMatch(/^ {2}- devices\.0: .*colour/m);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  }, 60_000);

  it("reports a wrong MQTT_URL from the environment as coming from MQTT_URL", async () => {
    const ok = file("ok.json", JSON.stringify({ siteId: "s1", devices: [{ packId: "p1", transport: { kind: "modbus-tcp", host: "h" } }] }));
    const { code, stderr } = await runAgent(["--config", ok], { MQTT_URL: "not a url", DATA_DIR: dir.path });
    expect(code).toBe(2);
    expect(stderr).toMatch(/mqtt\.url \(from MQTT_URL\)/);
  }, 60_000);

  it.each([
    ["unparsable YAML", () => ["--config", file("broken.yaml", "siteId: [unclosed\n")], /not valid \.yaml/],
    ["a missing file", () => ["--config", join(dir.path, "nope.yaml")], /cannot read the file/],
    ["no --config", () => [], /--config: expected a file/],
    ["an unknown flag", () => ["--colour"], /Unknown option/],
    ["an empty device list", () => ["--config", file("empty.json", JSON.stringify({ siteId: "s1", devices: [] }))], /devices: at least one device/],
    [
      "a register profile that does not validate",
      () => {
        file("broken-profile.yaml", "name: p\npoints:\n  - { field: soc, address: 1, type: uint64 }\n");
        const devices = [{ packId: "p1", transport: { kind: "modbus-tcp", host: "h" }, profile: { file: "broken-profile.yaml" } }];
        return ["--config", file("profiled.json", JSON.stringify({ siteId: "s1", devices }))];
      },
      /^ {2}- devices\.0\.profile\.file \(broken-profile\.yaml\): points\.0\.type: /m,
    ],
  ])(
    "%s",
    async (_what, args, expected) => {
      const { code, stderr } = await runAgent(args());
      expect(code).toBe(2);
      expect(stderr).toMatch(expected);
    },
    60_000,
  );
});
