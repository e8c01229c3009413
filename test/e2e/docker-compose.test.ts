import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { requireBinary } from "../support/binaries";

/** docker-compose.yml cannot run here (no Docker engine); it is checked as far as it can be. */
const ROOT = new URL("../..", import.meta.url).pathname;

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
}

function composeConfig(): { services: Record<string, ComposeService> } {
  const binary = requireBinary("docker-compose", "docker-compose");
  const result = spawnSync(binary, ["-f", join(ROOT, "docker-compose.yml"), "config"], { encoding: "utf8" });
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  return parse(result.stdout) as { services: Record<string, ComposeService> };
}

describe("docker-compose.yml", () => {
  const { services } = composeConfig();

  it("is valid for docker-compose config and has InfluxDB 2.7 set up with an org, bucket and token", () => {
    const influx = services.influxdb!;
    expect(influx.image).toBe("influxdb:2.7");
    expect(influx.environment).toMatchObject({ DOCKER_INFLUXDB_INIT_MODE: "setup" });
    const ingestion = services.ingestion!.environment!;
    expect(ingestion.INFLUX_TOKEN).toBe(influx.environment!.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(ingestion.INFLUX_ORG).toBe(influx.environment!.DOCKER_INFLUXDB_INIT_ORG);
    expect(ingestion.INFLUX_BUCKET).toBe(influx.environment!.DOCKER_INFLUXDB_INIT_BUCKET);
  });

  it("runs every part, from files that exist, with config files that validate", () => {
    expect(Object.keys(services).sort()).toEqual(["agent", "broker", "influxdb", "ingestion", "live", "simulator"]);
    for (const [name, service] of Object.entries(services)) {
      if (name === "influxdb") continue;
      expect(existsSync(join(ROOT, service.build!.dockerfile.replace(`${ROOT}`, "")))).toBe(true);
      const files = (service.command ?? []).filter((arg) => /\.(ts|ya?ml)$/.test(arg));
      for (const file of files) expect(existsSync(join(ROOT, file)), `${name}: ${file}`).toBe(true);
    }
    const brokerFile = services.broker!.command!.at(-1)!;
    const broker = loadConfig(BrokerConfig, { file: join(ROOT, brokerFile), env: {} });
    const agent = loadConfig(EdgeAgentConfig, { file: join(ROOT, services.agent!.command!.at(-1)!), env: {} });
    // The agent's account exists on the broker, for its site.
    expect(broker.users).toContainEqual(expect.objectContaining({ username: agent.mqtt.username, password: agent.mqtt.password, siteId: agent.siteId }));
  });
});
