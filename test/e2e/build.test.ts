import { describe, expect, it } from "vitest";
import { runScript } from "../support/cli";

/**
 * `npm run build` makes one bundle per part; each runs with plain node (no TypeScript loader) and
 * finds its package's files (rules, console, scenarios, profiles) from there. A bad flag is the
 * quickest full start-up: config loading, then exit 2 with the usage. (The stack's bundle, which
 * takes no flags, is what test/e2e/npm-start.test.ts runs.)
 */
const PARTS = [
  ["broker", "services/broker/dist/main.js", /usage: npm run broker/],
  ["ingestion", "services/ingestion/dist/main.js", /usage: npm run ingestion/],
  ["live", "services/live/dist/main.js", /usage: npm run live/],
  ["agent", "edge-agent/dist/main.js", /usage: npm run agent/],
  ["simulator", "simulators/dist/main.js", /Unknown option '--no-such-flag'/],
] as const;

describe("the build", () => {
  it.each(PARTS)("%s runs from its bundle with plain node and exits 2 on a bad flag", async (_part, bundle, usage) => {
    const run = runScript(bundle, ["--no-such-flag"], { via: "built", env: { PATH: process.env.PATH ?? "" } });
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(usage);
    expect(run.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION|at .*\.ts:/);
  });

  it("the simulator's bundle finds its shipped scenarios and profiles", async () => {
    const run = runScript("simulators/dist/main.js", ["--fast", "--scenario", "over-temperature", "--packs", "1"], {
      via: "built",
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/"scenario": "over-temperature"[\s\S]*"sha256": "[0-9a-f]{64}"[\s\S]*"finished": true/);
  });
});
