import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configProblems } from "../../../test/support/config-problems";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { loadBrokerConfig } from "../src/load-broker-config";

function problems(input: unknown): string[] {
  return configProblems(() => parseConfig(BrokerConfig, input, "broker.json"));
}

describe("broker config", () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir("bms-broker-config-");
  });
  afterEach(() => dir.remove());

  it("has documented defaults", () => {
    expect(parseConfig(BrokerConfig, {}, "test")).toEqual({
      host: "0.0.0.0",
      port: 1883,
      allowAnonymous: false,
      users: [],
      persistence: "disk",
      dataDir: "./data",
      maxPacketSize: 262_144,
      maxConnections: 10_000,
      maxConnectionsPerAccount: 10,
      maxInflightMessages: 1000,
      connectTimeoutMs: 10_000,
      drainTimeoutMs: 5000,
      loginThrottle: { freeFailures: 3, baseDelayMs: 500, maxDelayMs: 30_000, forgetAfterMs: 600_000, maxWaiting: 16 },
      timeIntervalMs: 10_000,
    });
  });

  it("says an agent needs its siteId, naming the field", () => {
    const lines = problems({ users: [{ username: "a", password: "secret-password", role: "agent" }] });
    expect(lines).toEqual(["users.0.siteId: an agent account needs its siteId, got nothing"]);
    expect(lines.join("")).not.toContain("secret-password");
  });

  it("gives one readable line per problem", () => {
    const lines = problems({
      port: 70_000,
      drainTimeoutMs: "soon",
      users: [
        { username: "", password: "short", role: "admin" },
        { username: "x", password: "long-enough", role: "agent", siteId: "site/1" },
      ],
      extra: true,
    });
    expect(lines).toHaveLength(7);
    expect(lines).toContainEqual(expect.stringMatching(/^port: .*65535.*, got 70000$/));
    expect(lines).toContainEqual(expect.stringMatching(/^drainTimeoutMs: expected number, got "soon"$/));
    expect(lines).toContainEqual(expect.stringMatching(/^users\.0\.username: /));
    expect(lines).toContain("users.0.password: at least 8 characters"); // the value is never printed
    expect(lines).toContainEqual(expect.stringMatching(/^users\.0\.role: .*"agent".*"service"/));
    expect(lines).toContainEqual(expect.stringMatching(/^users\.1\.siteId: an ID of 1-64 letters/));
    expect(lines).toContainEqual(expect.stringMatching(/^\(root\): .*extra/));
    for (const line of lines) expect(line).not.toMatch(/\n|at .*\.ts/);
  });

  it("refuses two accounts with one username", () => {
    const user = { username: "same", password: "long-enough", role: "service" };
    const lines = problems({ users: [user, { ...user, password: "other-password" }] });
    expect(lines.join("")).not.toContain("other-password");
    expect(lines).toEqual(['users.1.username: duplicate username, got "same"']);
  });

  it("reads a file and lets MQTT_PORT override the port", () => {
    const file = join(dir.path, "broker.yaml");
    writeFileSync(file, "port: 1999\nusers:\n  - { username: svc, password: long-enough, role: service }\n");
    expect(loadBrokerConfig(file, {}).port).toBe(1999);
    expect(loadBrokerConfig(file, { MQTT_PORT: "0" }).port).toBe(0);
    expect(loadBrokerConfig(undefined, {}).port).toBe(1883);
  });

  it("names MQTT_PORT when its value is wrong", () => {
    expect(() => loadBrokerConfig(undefined, { MQTT_PORT: "eighteen" })).toThrow(/port \(from MQTT_PORT\): expected number, got "eighteen"/);
    expect(() => loadBrokerConfig(undefined, { MQTT_PORT: "-1" })).toThrow(/port \(from MQTT_PORT\)/);
  });

  it("reports an unreadable or malformed file as a ConfigError", () => {
    expect(() => loadBrokerConfig(join(dir.path, "missing.json"), {})).toThrow(ConfigError);
    const file = join(dir.path, "bad.json");
    writeFileSync(file, "{ not json");
    expect(() => loadBrokerConfig(file, {})).toThrow(/not valid .json/);
  });
});
