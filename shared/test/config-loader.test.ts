import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configProblems } from "../../test/support/config-problems";
import { makeTempDir, type TempDir } from "../../test/support/temp-dir";
import { EdgeAgentConfig } from "../src/config/edge-agent-config";
import { IngestionConfig } from "../src/config/ingestion-config";
import { LiveConfig } from "../src/config/live-config";
import { loadConfig } from "../src/config-loader";

let dir: TempDir | undefined;
afterEach(() => {
  dir?.remove();
  dir = undefined;
});

/** A `${NAME}` reference as a config file holds it. */
const ref = (name: string) => `\${${name}}`;

function write(name: string, text: string): string {
  dir ??= makeTempDir();
  const file = join(dir.path, name);
  writeFileSync(file, text);
  return file;
}

describe("config loader", () => {
  it("reads YAML, applies defaults and validates", () => {
    const file = write("site.yaml", "siteId: site-1\ndevices:\n  - packId: p1\n    transport: { kind: modbus-tcp, host: 127.0.0.1, port: 5020 }\n");
    const config = loadConfig(EdgeAgentConfig, { file, env: {} });
    expect(config.pollIntervalMs).toBe(1000);
    expect(config.devices[0]?.transport).toMatchObject({ kind: "modbus-tcp", unitId: 1 });
    expect(config.mqtt.url).toBe("mqtt://127.0.0.1:1883");
  });

  it("gives one line per problem with the field path, what was expected and what was there", () => {
    const file = write("bad.json", JSON.stringify({ siteId: "bad/site", pollIntervalMs: "fast", devices: [{ packId: "p1", transport: { kind: "can" } }] }));
    const problems = configProblems(() => loadConfig(EdgeAgentConfig, { file, env: {} }));
    expect(problems).toContainEqual(expect.stringMatching(/^siteId: .*ID.*got "bad\/site"$/));
    expect(problems).toContainEqual('pollIntervalMs: expected number, got "fast"');
    expect(problems.some((p) => p.startsWith("devices.0.transport.kind:"))).toBe(true);
  });

  it("says which environment variable a bad value came from", () => {
    const problems = configProblems(() =>
      loadConfig(LiveConfig, {
        env: { HTTP_PORT: "eighty", ENGINEER_TOKEN: "x".repeat(20) },
        envBindings: { HTTP_PORT: { path: ["http", "port"], type: "int" } },
        overrides: { engineerTokens: ["x".repeat(20)] },
      }),
    );
    expect(problems).toEqual(['http.port (from HTTP_PORT): expected number, got "eighty"']);
  });

  it("reads a boolean variable as 1/true or 0/false, and names anything else", () => {
    const load = (value: string) =>
      loadConfig(IngestionConfig, {
        env: { INFLUX_GZIP: value },
        envBindings: { INFLUX_GZIP: { path: ["influx", "gzip"], type: "bool" } },
        overrides: { influx: { url: "http://127.0.0.1:8086" } },
      }).influx?.gzip;
    expect([load("1"), load("true"), load("TRUE"), load("0"), load("false")]).toEqual([true, true, true, false, false]);
    expect(configProblems(() => load("yes"))).toEqual(['influx.gzip (from INFLUX_GZIP): expected boolean, got "yes"']);
  });

  it("takes environment references in a file's strings from the environment, and names an unset one with where it stands", () => {
    const file = write(
      "secret.yaml",
      `siteId: site-1\nmqtt: { url: 'mqtt://broker:1883', username: agent-1, password: '${ref("AGENT_PASSWORD")}' }\ndevices:\n  - packId: p1\n    transport: { kind: modbus-tcp, host: '${ref("BMS_HOST")}', port: 5020 }\n`,
    );
    const config = loadConfig(EdgeAgentConfig, { file, env: { AGENT_PASSWORD: "s3cret-from-env", BMS_HOST: "10.0.0.7" } });
    expect(config.mqtt.password).toBe("s3cret-from-env");
    expect(config.devices[0]?.transport).toMatchObject({ host: "10.0.0.7" });
    const problems = configProblems(() => loadConfig(EdgeAgentConfig, { file, env: { BMS_HOST: "" } }));
    expect(problems).toEqual([
      `mqtt.password: ${ref("AGENT_PASSWORD")} names an environment variable that is not set`,
      `devices.0.transport.host: ${ref("BMS_HOST")} names an environment variable that is not set`,
    ]);
  });

  it("turns a missing file and a syntax error into a ConfigError, not a stack trace", () => {
    expect(configProblems(() => loadConfig(EdgeAgentConfig, { file: "/nonexistent/site.yaml" }))[0]).toMatch(/cannot read the file/);
    const file = write("broken.json", "{ siteId: ");
    expect(configProblems(() => loadConfig(EdgeAgentConfig, { file }))[0]).toMatch(/not valid \.json/);
    const list = write("list.yaml", "- 1\n- 2\n");
    expect(configProblems(() => loadConfig(EdgeAgentConfig, { file: list }))).toEqual(["(root): expected an object"]);
  });

  it("never prints a secret's value", () => {
    const problems = configProblems(() => loadConfig(LiveConfig, { env: {}, overrides: { engineerTokens: ["short-secret"] } }));
    expect(problems).toEqual(["engineerTokens.0: at least 16 characters"]);
  });

  it("moves credentials out of an MQTT URL, so that logging the URL leaks no password", () => {
    const config = loadConfig(LiveConfig, {
      env: { MQTT_URL: "mqtt://live:s%40cret@broker:1883" },
      envBindings: { MQTT_URL: { path: ["mqtt", "url"] } },
      overrides: { engineerTokens: ["x".repeat(20)] },
    });
    expect(config.mqtt).toMatchObject({ url: "mqtt://broker:1883", username: "live", password: "s@cret" });
  });

  it("rejects unknown keys, so a typo is not silently ignored", () => {
    const file = write("typo.yaml", "siteId: s\npolIntervalMs: 5\ndevices:\n  - packId: p1\n    transport: { kind: modbus-tcp, host: h }\n");
    expect(configProblems(() => loadConfig(EdgeAgentConfig, { file, env: {} }))).toEqual([expect.stringMatching(/polIntervalMs/)]);
  });
});
