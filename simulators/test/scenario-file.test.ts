import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@bms/shared";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/support/temp-dir";
import { FAULT_KINDS } from "../src/faults";
import {
  loadScenario,
  parseScenario,
  readScenarioFile,
  resolveScenarioFile,
  shippedScenarioFile,
  shippedScenarioNames,
  unitIdsOf,
} from "../src/scenario/scenario-file";

const dir = makeTempDir("bms-scenario-");
afterAll(() => dir.remove());

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

function write(name: string, text: string): string {
  const file = join(dir.path, name);
  writeFileSync(file, text);
  return file;
}

describe("shipped scenarios", () => {
  const names = shippedScenarioNames();

  it("ship healthy and at least one scenario per fault kind of the library", () => {
    expect(names).toContain("healthy");
    const kinds = new Set(names.flatMap((name) => loadScenario(name).faults.map((entry) => entry.fault.kind)));
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
  });

  it.each(names)("%s validates, is named after its file and states the case it should cause", (name) => {
    const scenario = loadScenario(name);
    expect(scenario.name).toBe(name);
    expect(scenario.description.length).toBeGreaterThan(20);
    if (name === "healthy") expect(scenario.expects.ruleId).toBe("none");
    else {
      expect(scenario.expects.ruleId).not.toBe("none");
      expect(scenario.expects.severity).toBeDefined();
      expect(unitIdsOf(scenario)).toContain(scenario.expects.pack);
      expect(scenario.expects.withinS).toBeLessThanOrEqual(scenario.durationS);
      expect(scenario.faults.length).toBeGreaterThan(0);
    }
  });
});

describe("scenario file format", () => {
  it("fills in the defaults and derives the name from the file", () => {
    const file = write("tiny.yaml", "packs: 2\n");
    expect(readScenarioFile(file)).toMatchObject({
      name: "tiny",
      seed: 1,
      packs: 2,
      faults: [],
      durationS: 600,
      intervalS: 1,
      stepS: 1,
      expects: { ruleId: "none" },
    });
  });

  it("reads JSON as well as YAML, with per-pack unit IDs and model options", () => {
    const file = write(
      "two.json",
      JSON.stringify({
        name: "two",
        packs: [{ unitId: 7, chemistry: "NMC", capacityAh: 50 }, { unitId: 9 }],
        faults: [{ atS: 5, pack: 9, fault: { kind: "over-temperature" } }],
      }),
    );
    const scenario = readScenarioFile(file);
    expect(unitIdsOf(scenario)).toEqual([7, 9]);
    expect(scenario.faults[0]?.fault).toMatchObject({ kind: "over-temperature", sensor: 0, ratePerSecond: 1, maxC: 80 });
  });

  it("resolves shipped names and paths, and rejects anything else naming the setting", () => {
    expect(resolveScenarioFile("healthy")).toBe(shippedScenarioFile("healthy"));
    const file = write("mine.yaml", "packs: 1\n");
    expect(resolveScenarioFile(file)).toBe(file);
    expect(() => resolveScenarioFile("meltdown")).toThrow(/--scenario: "meltdown" is neither a shipped scenario/);
    expect(() => loadScenario("../../../../../etc/passwd")).toThrow(ConfigError);
  });

  it("reports every problem as one line naming its field", () => {
    const problems = problemsOf(() =>
      parseScenario({
        name: "bad name!",
        seed: -1,
        packs: [{ unitId: 1, capacityAh: -5, chemistry: "lead" }, { unitId: 1 }],
        faults: [
          { atS: 1, pack: 3, fault: { kind: "over-temperature" } },
          { atS: -1, pack: 1, fault: { kind: "meltdown" } },
        ],
        durationS: 0,
        surprise: true,
      }),
    );
    const text = problems.join("\n");
    for (const path of ["name", "seed", "packs.0.capacityAh", "packs.0.chemistry", "faults.1.atS", "faults.1.fault.kind", "durationS"]) {
      expect(text).toMatch(new RegExp(`^${path.replace(/\./g, "\\.")}`, "m"));
    }
    expect(text).toMatch(/surprise/);
    expect(problems.every((line) => !line.includes("\n"))).toBe(true);
  });

  it("rejects a unit ID used twice", () => {
    expect(problemsOf(() => parseScenario({ name: "x", packs: [{ unitId: 2 }, { unitId: 2 }] }))).toEqual([
      expect.stringMatching(/^packs\.1\.unitId: unit ID 2 is used twice/),
    ]);
    expect(problemsOf(() => parseScenario({ name: "x", packs: [{ unitId: 0 }] }))).toEqual([expect.stringMatching(/^packs\.0\.unitId/)]);
    expect(problemsOf(() => parseScenario({ name: "x", packDefaults: { unitId: 3 } }))).toEqual([expect.stringMatching(/^packDefaults\.unitId/)]);
  });

  it("rejects a timeline entry for a pack the scenario lacks and a fault on a missing cell", () => {
    expect(problemsOf(() => parseScenario({ name: "x", packs: 2, faults: [{ atS: 1, pack: 3, fault: { kind: "communication-loss" } }] }))).toEqual([
      expect.stringMatching(/^faults\.0\.pack: no pack with unit ID 3/),
    ]);
    expect(problemsOf(() => parseScenario({ name: "x", packs: 1, expects: { ruleId: "over-temperature", pack: 2 } }))).toEqual([
      expect.stringMatching(/^expects\.pack/),
    ]);
  });

  it("turns unreadable, empty and hostile files into ConfigErrors, never crashes", () => {
    expect(() => readScenarioFile(join(dir.path, "missing.yaml"))).toThrow(/cannot read the file/);
    expect(() => readScenarioFile(write("broken.yaml", "packs: [1, 2\n"))).toThrow(ConfigError);
    expect(() => readScenarioFile(write("broken.json", "{"))).toThrow(ConfigError);
    expect(() => readScenarioFile(write("list.yaml", "- 1\n- 2\n"))).toThrow(ConfigError);
    expect(() => readScenarioFile(write("empty.yaml", ""))).toThrow(ConfigError);
    expect(() => readScenarioFile(write("huge.yaml", `packs: 100000\n`))).toThrow(/packs/);
    expect(() => readScenarioFile(write("proto.json", '{"__proto__": {"packs": 3}, "name": "p"}'))).toThrow(/__proto__/);
  });
});
