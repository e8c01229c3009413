import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { runScript } from "../../test/support/cli";
import { freePort, waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { loadScenario } from "../src/scenario/scenario-file";
import { hashScenario } from "../src/scenario/scenario-recorder";
import { parseSimulatorFlags } from "../src/simulator-flags";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI as `npx tsx simulators/src/main.ts` (how people run it), or, where it must receive
 * Ctrl-C, as one node process with tsx's loader: `npm exec` does not pass signals on to its child.
 */
function runCli(args: string[], via: "npx" | "node" = "npx"): { done: Promise<Outcome>; stop: () => void; output: () => string } {
  const cli = runScript("simulators/src/main.ts", args, { via, env: { ...process.env, LOG_LEVEL: "info" } });
  const done = cli.exited.then((code) => ({ code, stdout: cli.stdout(), stderr: cli.stderr() }));
  return { done, stop: () => cli.child.kill("SIGINT"), output: () => cli.stdout() + cli.stderr() };
}

/** stderr without npm's own warnings. */
function problems(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("npm warn"));
}

describe("npm run sim (simulators/src/main.ts)", () => {
  it("exits 2 with one line naming the flag for --packs -3", async () => {
    const { code, stderr } = await runCli(["--packs", "-3"]).done;
    expect(code).toBe(2);
    const lines = problems(stderr);
    expect(lines.filter((line) => line.startsWith("  - "))).toEqual([expect.stringMatching(/^ {2}- packs \(from --packs\): .*>=1.*-3/)]);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it("exits 2 with one line per problem for several bad flags and an unknown one", async () => {
    const several = await runCli(["--port", "70000", "--time-scale", "fast", "--scenario", "meltdown"]).done;
    expect(several.code).toBe(2);
    const lines = problems(several.stderr).filter((line) => line.startsWith("  - "));
    expect(lines).toHaveLength(3);
    expect(lines.join("\n")).toMatch(/--port/);
    expect(lines.join("\n")).toMatch(/--time-scale/);
    expect(lines.join("\n")).toMatch(/--scenario/);

    const unknown = await runCli(["--bogus", "1"]).done;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--bogus/);
  });

  it("starts, logs its port and packs, serves Modbus and stops cleanly on Ctrl-C", async () => {
    const port = await freePort();
    const cli = runCli(["--port", String(port), "--packs", "2", "--host", "127.0.0.1", "--seed", "3"], "node");
    onTestFinished(() => cli.stop());
    await waitFor(() => /SunSpec simulator listening/.test(cli.output()), 20_000, "start-up log line");
    const started = cli
      .output()
      .split("\n")
      .find((line) => line.includes("SunSpec simulator listening"));
    expect(JSON.parse(started ?? "{}")).toMatchObject({ port, packs: 2 });
    const client = await connectClient(port);
    expect(await readRegisters(client, 2, 40000, 2)).toEqual([0x5375, 0x6e53]);
    await closeClient(client);
    cli.stop();
    const { code } = await cli.done;
    expect(code).toBe(0);
  });
});

describe("npm run sim: the modes", () => {
  it("--fast runs a shipped scenario to its end and prints a summary with the run's hash", async () => {
    const { code, stdout } = await runCli(["--scenario", "over-temperature", "--fast"], "node").done;
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ scenario: "over-temperature", durationS: 240, sha256: hashScenario(loadScenario("over-temperature")) });
    expect(summary.final.packs[0].alarms).toContain("OVER_TEMP_ALARM");
  });

  it("--fleet prints the manifest and serves one port per site", async () => {
    const port = await freePort();
    const cli = runCli(["--fleet", "2x3", "--faulty", "0.5", "--seed", "4", "--port", String(port), "--host", "127.0.0.1"], "node");
    onTestFinished(() => cli.stop());
    await waitFor(() => /"totalPacks":6/.test(cli.output()), 20_000, "fleet manifest");
    const manifest = JSON.parse(
      cli
        .output()
        .split("\n")
        .find((line) => line.includes('"totalPacks"')) ?? "{}",
    );
    expect(manifest).toMatchObject({ seed: 4, totalPacks: 6, faultyPacks: 3 });
    expect(manifest.sites.map((site: { port: number }) => site.port)).toEqual([port, port + 1]);
    const client = await connectClient(port + 1);
    expect(await readRegisters(client, 3, 40000, 2)).toEqual([0x5375, 0x6e53]);
    await closeClient(client);
  });

  it("--scenario FILE plays a scenario file", async () => {
    const dir = makeTempDir();
    onTestFinished(() => dir.remove());
    const file = join(dir.path, "mine.yaml");
    writeFileSync(file, "name: mine\npacks: 3\ndurationS: 5\n");
    const { code, stdout } = await runCli(["--scenario", file, "--fast"], "node").done;
    expect(code).toBe(0);
    expect(JSON.parse(stdout).final.packs).toHaveLength(3);
  });

  it("exits 2 naming the problem for a scenario file that does not validate", async () => {
    const dir = makeTempDir();
    onTestFinished(() => dir.remove());
    const file = join(dir.path, "bad.yaml");
    writeFileSync(file, "packs: 2\nfaults: [{ atS: 1, pack: 5, fault: { kind: communication-loss } }]\n");
    const { code, stderr } = await runCli(["--scenario", file], "node").done;
    expect(code).toBe(2);
    expect(stderr).toMatch(/faults\.0\.pack: no pack with unit ID 5/);
  });
});

describe("parseSimulatorFlags", () => {
  it("maps flags onto options with their defaults", () => {
    expect(parseSimulatorFlags([])).toEqual({
      host: "0.0.0.0",
      port: 5020,
      timeScale: 1,
      scenario: "healthy",
      protocol: "sunspec",
      faulty: 0.2,
      speed: 1,
      loop: false,
      fast: false,
    });
    expect(parseSimulatorFlags(["--port=0", "--packs", "3", "--cells", "8", "--time-scale", "2.5", "--scenario", "over-temperature"])).toMatchObject({
      port: 0,
      packs: 3,
      cellsPerPack: 8,
      timeScale: 2.5,
      scenario: "over-temperature",
    });
    expect(parseSimulatorFlags(["--replay", "x.jsonl", "--speed", "10", "--loop", "--control-port", "0"], { SIM_CONTROL_TOKEN: "from-the-env" })).toMatchObject(
      {
        replay: "x.jsonl",
        speed: 10,
        loop: true,
        controlPort: 0,
        controlToken: "from-the-env",
      },
    );
    expect(parseSimulatorFlags(["--protocol", "rtu", "--device", "/dev/pts/9"])).toMatchObject({ protocol: "rtu", device: "/dev/pts/9" });
  });

  it.each([
    [["--packs"], /--packs/],
    [["--packs", "1.5"], /packs/],
    [["--seed", "-1"], /seed/],
    [["--port", "0x10"], /port/],
    [["extra"], /positional/i],
    [["--scenario", "meltdown"], /scenario \(from --scenario\): expected a shipped scenario/],
    [["--protocol", "rtu"], /device.*: --protocol rtu needs --device PATH/],
    [["--protocol", "modbus"], /protocol/],
    [["--fleet", "3by4"], /fleet \(from --fleet\): expected SITESxPACKS/],
    [["--fleet", "3x4", "--replay", "x.csv"], /--fleet and --replay cannot be combined/],
    [["--fleet", "3x4", "--control-port", "9000"], /--control-port does not work with --fleet/],
    [["--faulty", "1.5"], /faulty/],
    [["--fast", "--replay", "x.csv"], /--fast runs a scenario/],
    [["--control-token", "short"], /controlToken/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseSimulatorFlags(argv)).toThrow(message);
  });
});
