import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScript } from "../../../test/support/cli";

/**
 * A healthy fleet of 100 packs (LFP and NMC, 50-280 Ah, ambient -5 to 35 °C, solar days and
 * charge/discharge cycles) over a simulated week, with sensor noise, opens no case.
 *
 * A simulated week cannot go through a real-time edge agent, so this feeds the rule engine
 * directly from the simulator in fast mode (fixtures/scenario-feed.ts: the samples the agent would
 * publish, at SunSpec resolution, one a minute, plus noise). The fault-replay matrix
 * (test/e2e/fault-replay.test.ts) covers the path through the agent and the broker. Two processes
 * share the packs: the pack model is CPU-bound.
 */
const WORKER = join(import.meta.dirname, "fixtures", "healthy-fleet-worker.ts");

interface Result {
  samples: number;
  cases: string[];
  fired: { rule: string; severity: string; count: number }[];
}

function runShare(firstSite: number): Promise<Result> {
  const run = runScript(WORKER, [JSON.stringify({ firstSite, sites: 5, packsPerSite: 10, days: 7, intervalS: 60, seed: 2025 })], {
    via: "node",
    env: { ...process.env, LOG_LEVEL: "error" },
  });
  return run.exited.then((code) => {
    if (code !== 0) throw new Error(`the fleet worker failed (${code}):\n${run.output()}`);
    return JSON.parse(run.stdout().trim().split("\n").pop() ?? "{}") as Result;
  });
}

describe("a healthy fleet", () => {
  it("of 100 packs over a simulated week with sensor noise opens zero cases", { timeout: 1_800_000 }, async () => {
    const shares = await Promise.all([runShare(0), runShare(5)]);
    const samples = shares.reduce((n, s) => n + s.samples, 0);
    expect(samples).toBe(100 * 7 * 24 * 60);
    expect(shares.flatMap((s) => s.cases)).toEqual([]);
    // The rules ran: the fleet is used hard enough that the usage rules (which open no case) fired.
    const lowSoc = shares.flatMap((s) => s.fired).filter((f) => f.rule === "low-soc");
    expect(lowSoc.reduce((n, f) => n + f.count, 0)).toBeGreaterThan(0);
  });
});
