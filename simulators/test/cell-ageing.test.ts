import { ConfigError } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { PackModel } from "../src/pack-model";
import { parseScenario } from "../src/scenario/scenario-file";
import { ScenarioRunner } from "../src/scenario/scenario-runner";

/** Cell ageing: capacity fade and resistance growth per cell, fast-forwarded on the simulated clock. */

describe("cell ageing", () => {
  it("leaves a pack without ageing exactly as before", () => {
    const plain = new PackModel({ seed: 9 });
    const again = new PackModel({ seed: 9 });
    again.fastForward({ days: 30, equivalentCycles: 100 });
    expect(again.snapshot().cellCapacitiesAh).toEqual(plain.snapshot().cellCapacitiesAh);
    expect(plain.snapshot().ageing).toBeUndefined();
    plain.step(600);
    const aged = new PackModel({ seed: 9, ageing: {} });
    aged.step(600);
    // Ageing draws from a stream of its own: the pack's other draws are the same.
    expect(aged.snapshot().cellSocs.map((s) => s.toFixed(3))).toEqual(plain.snapshot().cellSocs.map((s) => s.toFixed(3)));
  });

  it("fades capacity and grows resistance with cycles and time, faster when hot and for a weak cell", () => {
    const make = (extra: object = {}) => new PackModel({ seed: 2, capacityAh: 50, soh: 100, capacitySpreadPct: 0, ageing: { spreadPct: 0, ...extra } });
    const cool = make();
    const before = cool.snapshot();
    cool.fastForward({ days: 365, equivalentCycles: 1000 });
    const after = cool.snapshot();
    // 4 % per 1000 cycles (LFP) plus a year of √time calendar loss from 180 days on.
    const calendar = 2 * (Math.sqrt((180 + 365) / 365.25) - Math.sqrt(180 / 365.25));
    expect(after.trueSoh).toBeCloseTo(100 - 4 * 1.5 ** 0 - calendar, 1);
    expect(after.simulatedSeconds - before.simulatedSeconds).toBe(365 * 86_400);
    expect(after.resistance25MilliOhm as number).toBeGreaterThan(before.resistance25MilliOhm as number);
    expect(after.cycles - before.cycles).toBe(1000);
    const hot = make();
    hot.fastForward({ days: 365, equivalentCycles: 1000, temperatureC: 45 });
    expect(hot.snapshot().trueSoh).toBeLessThan(after.trueSoh - 2);
    const weak = make({ weakCells: [{ cell: 3, factor: 5 }] });
    weak.fastForward({ days: 365, equivalentCycles: 1000 });
    const factors = weak.snapshot().ageing?.cellCapacityFactors ?? [];
    expect(factors[3]).toBeLessThan((factors[0] ?? 0) - 0.15);
    expect(weak.snapshot().trueSoh).toBeCloseTo((factors[3] ?? 0) * 100, 6);
  });

  it("ages while stepped, and a runner fast-forwards its clock in whole steps", () => {
    const pack = new PackModel({ seed: 4, capacityAh: 20, ageing: { acceleration: 100 }, load: { kind: "constant", amps: -5 } });
    const start = pack.snapshot().trueSoh;
    pack.step(3600);
    expect(pack.snapshot().trueSoh).toBeLessThan(start);
    expect(pack.snapshot().ageing?.agedDays).toBeCloseTo(1 / 24, 6);
    const runner = new ScenarioRunner(parseScenario({ name: "ff", packs: 2, packDefaults: { ageing: {} }, durationS: 60, stepS: 2 }));
    runner.fastForward({ days: 1.00001, equivalentCycles: 4 });
    expect(runner.simulatedSeconds).toBe(86_400);
    expect(runner.pack(1).snapshot().ageing?.fastForwardedCycles).toBe(4);
  });

  it("refuses malformed ageing options and fast-forwards", () => {
    expect(() => new PackModel({ ageing: { acceleration: -1 } })).toThrow(ConfigError);
    expect(() => new PackModel({ ageing: { weakCells: [{ cell: 1, factor: 0.5 }] } })).toThrow(ConfigError);
    expect(() => new PackModel({ ageing: { sneaky: true } as never })).toThrow(ConfigError);
    const pack = new PackModel({ ageing: {} });
    expect(() => pack.fastForward({ days: -1 })).toThrow(RangeError);
    expect(() => pack.fastForward({ days: 1, equivalentCycles: Number.NaN })).toThrow(RangeError);
    expect(() => pack.fastForward({ days: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
