import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { partitionQueue, TOPOLOGY } from "@bms/ingestion";
import { loadConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { LiveConfig } from "@bms/shared/config/live-config";
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

describe("docker-compose.cluster.yml", () => {
  const binary = requireBinary("docker-compose", "docker-compose");
  const result = spawnSync(binary, ["-f", join(ROOT, "docker-compose.cluster.yml"), "config"], { encoding: "utf8" });
  const { services } = parse(result.stdout ?? "") as { services: Record<string, ComposeService & { volumes?: (string | { source?: string })[] }> };

  it("is valid for docker-compose config and runs RabbitMQ, PostgreSQL, Redis, InfluxDB, three workers, two live nodes behind a proxy and a fleet", () => {
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    expect(Object.keys(services).sort()).toEqual(
      [
        "agent-1",
        "agent-2",
        "fleet",
        "influxdb",
        "ingestion-1",
        "ingestion-2",
        "ingestion-3",
        "live-1",
        "live-2",
        "postgres",
        "proxy",
        "rabbitmq",
        "redis",
      ].sort(),
    );
  });

  it("gives the workers and live nodes settings their schemas accept, and declares the partitions the workers expect", () => {
    for (const name of ["ingestion-1", "ingestion-2", "ingestion-3"]) {
      const config = loadConfig(IngestionConfig, {
        env: services[name]!.environment,
        envBindings: { AMQP_URL: { path: ["amqp", "url"] }, DATABASE_URL: { path: ["databaseUrl"] }, MQTT_URL: { path: ["mqtt", "url"] } },
      });
      expect(config.amqp?.partitions).toBe(64);
      expect(config.databaseUrl).toMatch(/^postgres:\/\/.*@postgres:5432\/bms$/);
    }
    for (const name of ["live-1", "live-2"]) {
      const config = loadConfig(LiveConfig, {
        env: services[name]!.environment,
        envBindings: { DATABASE_URL: { path: ["databaseUrl"] }, REDIS_URL: { path: ["redisUrl"] } },
      });
      expect(config.redisUrl).toBe("redis://redis:6379");
    }
    // RabbitMQ boots with the topology (an unroutable MQTT publish would be acknowledged and dropped).
    const definitions = JSON.parse(readFileSync(join(ROOT, "services/ingestion/examples/cluster/definitions.json"), "utf8")) as {
      queues: { name: string; arguments: Record<string, unknown> }[];
      bindings: { source: string; destination: string; routing_key: string }[];
    };
    expect(definitions.queues.map((q) => q.name)).toEqual(Array.from({ length: 64 }, (_, p) => partitionQueue(p)));
    expect(definitions.queues.every((q) => q.arguments["x-queue-type"] === "quorum" && q.arguments["x-single-active-consumer"] === true)).toBe(true);
    expect(definitions.bindings).toContainEqual(
      expect.objectContaining({ source: TOPOLOGY.mqttExchange, destination: TOPOLOGY.hashExchange, routing_key: TOPOLOGY.telemetryKey }),
    );
    for (const file of ["edge-agent/examples/cluster-site-1.yaml", "edge-agent/examples/cluster-site-2.yaml"]) {
      const agent = loadConfig(EdgeAgentConfig, { file: join(ROOT, file), env: {} });
      expect(agent.mqtt.url).toBe("mqtt://rabbitmq:1883");
    }
    expect(existsSync(join(ROOT, "services/live/examples/cluster-nginx.conf"))).toBe(true);
  });
});
