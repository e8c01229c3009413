import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../test/support/cli";

describe.each([
  ["memory", "aedes-persistence.node.ts"],
  ["disk", "aedes-persistence-level.node.ts"],
])("the broker's %s persistence", (_persistence, suite) => {
  it("passes aedes-persistence's abstract suite (node:test, in a process of its own)", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=tap", `services/broker/test/conformance/${suite}`],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
    ).catch((err: { stdout?: string; message: string }) => {
      const failures = (err.stdout ?? "").split("\n").filter((l) => /^\s*not ok|# (pass|fail)/.test(l));
      throw new Error(`the suite failed:\n${failures.join("\n") || err.message}`);
    });
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(stdout)?.[1] ?? Number.NaN);
    expect(count("fail")).toBe(0);
    expect(count("pass")).toBeGreaterThanOrEqual(50);
  }, 120_000);
});
