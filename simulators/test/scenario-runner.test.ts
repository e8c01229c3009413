import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/free-port";
import { InvalidFaultError } from "../src/faults";
import { driveInRealTime, type RealTimeDriver } from "../src/scenario/real-time-driver";
import { loadScenario, parseScenario, shippedScenarioNames } from "../src/scenario/scenario-file";
import { hashScenario, recordScenario, serialiseRecord } from "../src/scenario/scenario-recorder";
import { ScenarioRunner, UnknownPackError } from "../src/scenario/scenario-runner";

describe("determinism", () => {
  it.each(shippedScenarioNames())("%s: two runs give the same hash, another seed a different one", (name) => {
    const scenario = loadScenario(name);
    const first = hashScenario(scenario);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(hashScenario(loadScenario(name))).toBe(first);
    expect(hashScenario({ ...scenario, seed: scenario.seed + 1 })).not.toBe(first);
  });

  it("records t = 0, intervalS … durationS, and the options override the file", () => {
    const scenario = parseScenario({ name: "short", packs: 2, durationS: 10, intervalS: 2 });
    const records = recordScenario(scenario);
    expect(records.map((r) => r.t)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(records[0]?.packs.map((p) => p.unitId)).toEqual([1, 2]);
    expect(recordScenario(scenario, { durationS: 3, intervalS: 1 }).map((r) => r.t)).toEqual([0, 1, 2, 3]);
    expect(() => recordScenario(scenario, { intervalS: 0 })).toThrow(RangeError);
    // The serialised stream is bytes, not JSON: the same record gives the same bytes.
    const [a, b] = [serialiseRecord(records[3] as (typeof records)[number]), serialiseRecord(recordScenario(scenario)[3] as (typeof records)[number])];
    expect(a.equals(b)).toBe(true);
  });
});

describe("ScenarioRunner", () => {
  const scenario = parseScenario({
    name: "steps",
    packs: 2,
    stepS: 0.5,
    durationS: 60,
    faults: [{ atS: 10, pack: 2, fault: { kind: "over-temperature", sensor: 1 } }],
  });

  it("steps in fixed quanta: any way of cutting the same time gives the same states", () => {
    const fast = new ScenarioRunner(scenario);
    fast.runToEnd();
    const chopped = new ScenarioRunner(scenario);
    const cuts = [0.13, 0.7, 3.3, 0.01, 12, 0.37, 0.99, 20.5, 22];
    for (const cut of cuts) chopped.advance(cut);
    chopped.advance(60 - cuts.reduce((s, c) => s + c, 0));
    expect(chopped.simulatedSeconds).toBeCloseTo(60, 9);
    expect(chopped.finished).toBe(true);
    for (const unit of [1, 2]) expect(chopped.pack(unit).snapshot()).toEqual(fast.pack(unit).snapshot());
  });

  it("applies the timeline at its time, to its pack only", () => {
    const runner = new ScenarioRunner(scenario);
    runner.advance(9.5);
    expect(runner.pack(2).snapshot().faults).toEqual([]);
    runner.advance(0.5);
    expect(runner.pack(2).snapshot().faults).toMatchObject([{ kind: "over-temperature", sensor: 1 }]);
    expect(runner.pack(1).snapshot().faults).toEqual([]);
    expect(runner.status()).toMatchObject({ scenario: "steps", faultsApplied: 1, faultsScheduled: 1, simulatedSeconds: 10, finished: false });
  });

  it("injects, clears and resets at run time; bad faults and units are typed errors", () => {
    const runner = new ScenarioRunner(scenario);
    runner.injectFault(1, { kind: "communication-loss" });
    expect(runner.pack(1).link()).toEqual({ kind: "silent" });
    runner.clearFaults(1);
    expect(runner.pack(1).link()).toEqual({ kind: "ok" });
    expect(() => runner.injectFault(1, { kind: "over-temperature", sensor: 99 })).toThrow(InvalidFaultError);
    expect(() => runner.injectFault(3, { kind: "communication-loss" })).toThrow(UnknownPackError);
    expect(() => runner.advance(Number.NaN)).toThrow(RangeError);
    expect(() => runner.advance(-1)).toThrow(RangeError);
    runner.resetAlarms(2);
  });

  it("derives each pack's seed from the scenario seed, unless the pack gives its own", () => {
    const a = new ScenarioRunner(parseScenario({ name: "a", packs: 2, seed: 5 }));
    const b = new ScenarioRunner(parseScenario({ name: "b", packs: [{}, { seed: 123 }], seed: 5 }));
    expect(a.pack(1).identity.serial).toBe(b.pack(1).identity.serial);
    expect(a.pack(2).identity.serial).not.toBe(a.pack(1).identity.serial);
    expect(b.pack(2).identity.serial).toMatch(/^SIM0000007B-002$/);
  });
});

describe("real-time mode", () => {
  let driver: RealTimeDriver | undefined;
  afterEach(() => driver?.stop());

  it("moves simulated time with a timer × timeScale, through the same fixed steps as fast mode", async () => {
    const runner = new ScenarioRunner(scenario());
    driver = driveInRealTime(runner, { timeScale: 200, tickMs: 20 });
    await waitFor(() => runner.simulatedSeconds >= 20, 10_000, "20 simulated seconds");
    driver.stop();
    const reached = runner.simulatedSeconds;
    expect(reached % 0.5).toBe(0);
    const fast = new ScenarioRunner(scenario());
    fast.advance(reached);
    expect(runner.pack(1).snapshot()).toEqual(fast.pack(1).snapshot());
  });

  function scenario() {
    return parseScenario({ name: "rt", packs: 1, stepS: 0.5 });
  }
});
