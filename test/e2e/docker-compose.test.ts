import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: (string | { source?: string; target?: string; read_only?: boolean })[];
}

/** The secrets docker-compose.yml takes from `.env` (.env.example lists them with placeholders). */
const SECRETS = ["INFLUX_ADMIN_PASSWORD", "INFLUX_TOKEN", "ENGINEER_TOKEN", "GRAFANA_ADMIN_PASSWORD"];

function composeConfig(envFile = ".env.example"): { services: Record<string, ComposeService> } {
  const binary = requireBinary("docker-compose", "docker-compose");
  const result = spawnSync(binary, ["--env-file", join(ROOT, envFile), "-f", join(ROOT, "docker-compose.yml"), "config"], { encoding: "utf8" });
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
    expect(Object.keys(services).sort()).toEqual(["agent", "broker", "grafana", "influxdb", "ingestion", "live", "simulator"]);
    for (const [name, service] of Object.entries(services)) {
      if (name === "influxdb" || name === "grafana") continue;
      expect(existsSync(join(ROOT, service.build!.dockerfile.replace(`${ROOT}`, "")))).toBe(true);
      const files = (service.command ?? []).filter((arg) => /\.(ts|ya?ml)$/.test(arg));
      for (const file of files) expect(existsSync(join(ROOT, file)), `${name}: ${file}`).toBe(true);
    }
    const brokerFile = services.broker!.command!.at(-1)!;
    // The config files take their passwords from the environment compose gives each service.
    const broker = loadConfig(BrokerConfig, { file: join(ROOT, brokerFile), env: services.broker!.environment! });
    const agent = loadConfig(EdgeAgentConfig, { file: join(ROOT, services.agent!.command!.at(-1)!), env: services.agent!.environment! });
    for (const name of ["ingestion", "live"]) {
      const url = new URL(services[name]!.environment!.MQTT_URL!);
      expect(broker.users, `${name}'s MQTT account`).toContainEqual(expect.objectContaining({ username: url.username, password: url.password }));
    }
    // The agent's account exists on the broker, for its site.
    expect(broker.users).toContainEqual(expect.objectContaining({ username: agent.mqtt.username, password: agent.mqtt.password, siteId: agent.siteId }));
  });

  it("runs the bundles of the build as an unprivileged user, from an image that builds them", () => {
    const dockerfile = readFileSync(join(ROOT, "services/Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile.indexOf("USER node")).toBeGreaterThan(dockerfile.indexOf("RUN npm run build"));
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      expect(service.command?.[0], name).toBe("node");
      const bundle = service.command?.find((arg) => arg.endsWith("/dist/main.js"));
      expect(bundle, `${name} runs a bundle`).toBeDefined();
      expect(existsSync(join(ROOT, bundle!)), `${name}: ${bundle} (npm run build)`).toBe(true);
    }
  });

  it("starts each part once what it needs is healthy, and checks the health of every server", () => {
    for (const name of ["influxdb", "broker", "live", "grafana", "simulator"]) {
      expect(services[name]!.healthcheck?.test[0], name).toBe("CMD");
    }
    expect(services.ingestion!.depends_on).toEqual({ broker: { condition: "service_healthy" }, influxdb: { condition: "service_healthy" } });
    expect(services.live!.depends_on).toMatchObject({ broker: { condition: "service_healthy" }, influxdb: { condition: "service_healthy" } });
    expect(services.agent!.depends_on).toEqual({ broker: { condition: "service_healthy" }, simulator: { condition: "service_healthy" } });
    expect(services.grafana!.depends_on).toEqual({ influxdb: { condition: "service_healthy" } });
    // The live service's history comes from the server the ingestion writes to.
    for (const key of ["INFLUX_URL", "INFLUX_TOKEN", "INFLUX_BUCKET"])
      expect(services.live!.environment![key], key).toBe(services.ingestion!.environment![key]);
  });

  it("takes its secrets from .env: none is written in the file, and it refuses to start without them", () => {
    const raw = readFileSync(join(ROOT, "docker-compose.yml"), "utf8");
    const example = readFileSync(join(ROOT, ".env.example"), "utf8");
    for (const secret of SECRETS) {
      expect(raw, secret).toContain(`\${${secret}:?`);
      const value = new RegExp(`^${secret}=(.+)$`, "m").exec(example)?.[1];
      expect(value, `${secret} in .env.example`).toBeDefined();
      expect(raw, `${secret}'s example value is not in docker-compose.yml`).not.toContain(value!);
    }
    expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
    expect(readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n")).toContain(".env");
    const binary = requireBinary("docker-compose", "docker-compose");
    const emptyEnv = join(mkdtempSync(join(tmpdir(), "bms-compose-")), ".env");
    writeFileSync(emptyEnv, "");
    const empty = spawnSync(binary, ["--env-file", emptyEnv, "-f", join(ROOT, "docker-compose.yml"), "config"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toMatch(/set \w+ in \.env/);
  });

  it("provisions Grafana with the time-series data source and the fleet, pack and cells dashboards", () => {
    const grafana = services.grafana!;
    const mounts = (grafana.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
    expect(mounts).toContainEqual(expect.stringMatching(/services\/grafana\/provisioning:\/etc\/grafana\/provisioning/));
    expect(mounts).toContainEqual(expect.stringMatching(/services\/grafana\/dashboards:\/var\/lib\/grafana\/dashboards/));
    const source = parse(readFileSync(join(ROOT, "services/grafana/provisioning/datasources/bms-influxdb.yaml"), "utf8")) as {
      datasources: { uid: string; type: string; url: string; jsonData: Record<string, string>; secureJsonData: Record<string, string> }[];
    };
    expect(source.datasources).toHaveLength(1);
    const ds = source.datasources[0]!;
    // Grafana expands ${NAME} from its environment in provisioning files.
    const ref = (name: string) => `\${${name}}`;
    expect(ds).toMatchObject({ uid: "bms-influxdb", type: "influxdb", url: ref("INFLUX_URL") });
    expect(ds.jsonData).toMatchObject({ dbName: ref("INFLUX_BUCKET"), httpHeaderName1: "Authorization" });
    expect(ds.secureJsonData.httpHeaderValue1).toBe(`Token ${ref("INFLUX_TOKEN")}`);
    // What the data source reads from its environment, Grafana's container has.
    for (const key of ["INFLUX_URL", "INFLUX_TOKEN", "INFLUX_BUCKET"]) expect(grafana.environment![key], key).toBe(services.ingestion!.environment![key]);
    const provider = parse(readFileSync(join(ROOT, "services/grafana/provisioning/dashboards/bms.yaml"), "utf8")) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]?.options.path).toBe("/var/lib/grafana/dashboards");
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
