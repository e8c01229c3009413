import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitFor } from "../../test/support/free-port";
import { parseSimulatorFlags } from "../src/simulator-flags";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

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
  const [command, prefix] = via === "npx" ? ["npx", ["tsx"]] : [process.execPath, ["--import", "tsx"]];
  const child = spawn(command, [...prefix, "simulators/src/main.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Outcome>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  return { done, stop: () => child.kill("SIGINT"), output: () => stdout + stderr };
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

describe("parseSimulatorFlags", () => {
  it("maps flags onto options with their defaults", () => {
    expect(parseSimulatorFlags([])).toEqual({ host: "0.0.0.0", port: 5020, packs: 1, cellsPerPack: 16, seed: 1, timeScale: 1, scenario: "healthy" });
    expect(parseSimulatorFlags(["--port=0", "--packs", "3", "--cells", "8", "--time-scale", "2.5", "--scenario", "over-temperature"])).toMatchObject({
      port: 0,
      packs: 3,
      cellsPerPack: 8,
      timeScale: 2.5,
      scenario: "over-temperature",
    });
  });

  it.each([
    [["--packs"], /--packs/],
    [["--packs", "1.5"], /packs/],
    [["--seed", "-1"], /seed/],
    [["--port", "0x10"], /port/],
    [["extra"], /positional/i],
  ])("rejects %j", (argv, message) => {
    expect(() => parseSimulatorFlags(argv)).toThrow(message);
  });
});
