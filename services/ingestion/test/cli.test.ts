import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { startAedes, type TestBroker } from "./ingestion-harness";

const ROOT = resolve(import.meta.dirname, "../../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const MAIN = join(ROOT, "services/ingestion/src/main.ts");

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(TSX, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const exit = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, output: () => output, exit };
}

describe("npm run ingestion", () => {
  let dir: TempDir | undefined;
  let broker: TestBroker | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await broker?.stop();
    dir?.remove();
  });

  it("exits 2 with one line per problem for a bad config file", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    const file = join(dir.path, "bad.json");
    writeFileSync(file, JSON.stringify({ mqtt: { url: "http://nope" }, rules: { overTemperature: { threshold: "hot" } }, bogus: 1 }));
    const proc = run(["--config", file], { DATA_DIR: dir.path });
    child = proc.child;
    expect(await proc.exit).toBe(2);
    const out = proc.output();
    expect(out).toContain(`invalid configuration in ${file}`);
    expect(out).toMatch(/mqtt\.url: a URL like mqtt:\/\/host:1883/);
    expect(out).toMatch(/rules\.overTemperature\.threshold: expected number/);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it("exits 2 naming the variable for a bad environment value, and for an unknown flag", async () => {
    const proc = run([], { MQTT_URL: "not a url" });
    child = proc.child;
    expect(await proc.exit).toBe(2);
    expect(proc.output()).toMatch(/mqtt\.url \(from MQTT_URL\)/);
    const flag = run(["--bogus"], {});
    child = flag.child;
    expect(await flag.exit).toBe(2);
    expect(flag.output()).toContain("Unknown option '--bogus'");
  });

  it("runs from the environment, says that no InfluxDB is configured, and stops on SIGTERM", async () => {
    dir = makeTempDir("bms-ingestion-cli-");
    broker = await startAedes();
    const proc = run([], { MQTT_URL: broker.url, DATA_DIR: dir.path, INFLUX_TOKEN: "stray" });
    child = proc.child;
    await waitFor(() => proc.output().includes("ingestion started"), 20_000, "the service to start");
    expect(proc.output()).toContain("no InfluxDB configured (set INFLUX_URL");
    proc.child.kill("SIGTERM");
    expect(await proc.exit).toBe(0);
  });
});
