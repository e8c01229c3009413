import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AedesBroker, startAedesBroker } from "../../../test/support/aedes-broker";
import { runScript } from "../../../test/support/cli";
import { freePort, waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { INGESTION_NODE_FLAGS } from "../src/node-flags";

/** The service as `npm run ingestion` starts it (one node process, so that a kill leaves no child behind), with only PATH and `env` in its environment. */
function run(args: string[], env: Record<string, string>) {
  return runScript("services/ingestion/src/main.ts", args, { via: "node", env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env } });
}

describe("ingestion command line: shipped runtime flags", () => {
  it("npm run ingestion and both compose files start the ingestion with INGESTION_NODE_FLAGS", () => {
    const root = join(import.meta.dirname, "..", "..", "..");
    const script = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.ingestion ?? "";
    expect(script).toBe(`npm run build --silent && node ${INGESTION_NODE_FLAGS.join(" ")} --enable-source-maps services/ingestion/dist/main.js`);
    const command = `["node", ${INGESTION_NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ")}, "--enable-source-maps", "services/ingestion/dist/main.js"]`;
    for (const compose of ["docker-compose.yml", "docker-compose.cluster.yml"]) expect(readFileSync(join(root, compose), "utf8")).toContain(command);
  });
});

describe("npm run ingestion", () => {
  let dir: TempDir | undefined;
  let broker: AedesBroker | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await broker?.stop();
    dir?.remove();
  });

  it("exits 2 with one line per problem for a bad config file", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    const file = join(dir.path, "bad.json");
    writeFileSync(file, JSON.stringify({ mqtt: { url: "http://nope" }, cases: { reopenWithinDays: -1 }, bogus: 1 }));
    const proc = run(["--config", file], { DATA_DIR: dir.path });
    child = proc.child;
    expect(await proc.exited).toBe(2);
    const out = proc.output();
    expect(out).toContain(`invalid configuration in ${file}`);
    expect(out).toMatch(/mqtt\.url: a URL like mqtt:\/\/host:1883/);
    expect(out).toMatch(/cases\.reopenWithinDays: Too small/);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it("exits 2 with one line per problem, naming where it is, for a bad rule file", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    const rules = join(dir.path, "site-rules.yaml");
    writeFileSync(
      rules,
      [
        "rules:",
        "  over-temperature:",
        "    levels:",
        "      critical: { threshold: hot }",
        "  my-rule:",
        "    levels: {}",
        "sites:",
        "  site-7:",
        "    rules:",
        "      cell-over-voltage: { direction: sideways }",
      ].join("\n"),
    );
    const file = join(dir.path, "ingestion.json");
    writeFileSync(file, JSON.stringify({ rulesFile: rules }));
    const proc = run(["--config", file], { DATA_DIR: dir.path });
    child = proc.child;
    expect(await proc.exited).toBe(2);
    const out = proc.output();
    expect(out).toContain(`invalid configuration in ${rules}`);
    expect(out).toMatch(/rules\.over-temperature: levels\.critical\.threshold: expected number, got "hot"/);
    expect(out).toMatch(/rules\.my-rule: no rule "my-rule" to change/);
    expect(out).toMatch(/sites\.site-7\.rules\.cell-over-voltage \(merged with the rule it changes\): direction/);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it("exits 2 naming the variable for a bad environment value, and for an unknown flag", async () => {
    const proc = run([], { MQTT_URL: "not a url" });
    child = proc.child;
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toMatch(/mqtt\.url \(from MQTT_URL\)/);
    for (const port of ["99999", "eighty", "-1"]) {
      const probe = run([], { INGESTION_HTTP_PORT: port });
      child = probe.child;
      expect(await probe.exited).toBe(2);
      expect(probe.output()).toMatch(/http\.port \(from INGESTION_HTTP_PORT\)/);
    }
    const flag = run(["--bogus"], {});
    child = flag.child;
    expect(await flag.exited).toBe(2);
    expect(flag.output()).toContain("Unknown option '--bogus'");
  });

  it("exits 2 naming AMQP_URL and DATABASE_URL for bad values, never printing a URL's password", async () => {
    for (const [env, pattern] of [
      [
        { AMQP_URL: "http://guest:hunter2secret@rabbit:5672" },
        /amqp\.url \(from AMQP_URL\): a URL like amqp:\/\/user:password@host:5672, got "http:\/\/\*\*\*@rabbit:5672"/,
      ],
      [{ AMQP_URL: "amqp://rabbit:5672/a/b c" }, /amqp\.url \(from AMQP_URL\)/],
      [{ DATABASE_URL: "mysql://bms:hunter2secret@db/bms" }, /databaseUrl \(from DATABASE_URL\): a URL like postgres:\/\/user:password@host:5432\/database/],
      [{ DATABASE_URL: "postgres://db:5432" }, /databaseUrl \(from DATABASE_URL\)/],
    ] as const) {
      const proc = run([], env);
      child = proc.child;
      expect(await proc.exited).toBe(2);
      expect(proc.output()).toMatch(pattern);
      expect(proc.output()).not.toContain("hunter2secret");
    }
  });

  it("runs from the environment, says that no InfluxDB is configured, and stops on SIGTERM", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    broker = await startAedesBroker();
    const proc = run([], { MQTT_URL: broker.url, DATA_DIR: dir.path, INFLUX_TOKEN: "stray" });
    child = proc.child;
    await waitFor(() => proc.output().includes("ingestion started"), 20_000, "the service to start");
    expect(proc.output()).toContain("no InfluxDB configured (set INFLUX_URL");
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });

  it("serves /healthz and /metrics on INGESTION_HTTP_PORT: 200 while subscribed, 503 with the broker gone", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    broker = await startAedesBroker();
    const port = await freePort();
    const proc = run([], { MQTT_URL: broker.url, DATA_DIR: dir.path, INGESTION_HTTP_PORT: String(port) });
    child = proc.child;
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200, 20_000, "healthz 200");
    const healthy = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
    expect(healthy).toMatchObject({ ok: true, mqttConnected: true, spoolSize: 0, deadLetters: 0 });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^bms_ingestion_samples_accepted_total/m);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    await broker.stop();
    broker = undefined;
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 503, 20_000, "healthz 503");
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ ok: false, mqttConnected: false });
  });

  it("exits 2 naming the setting when the HTTP port is taken", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    broker = await startAedesBroker();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const proc = run([], { MQTT_URL: broker.url, DATA_DIR: dir.path, INGESTION_HTTP_PORT: String(port) });
      child = proc.child;
      expect(await proc.exited).toBe(2);
      expect(proc.output()).toMatch(/http\.port/);
    } finally {
      taken.close();
    }
  });
});
