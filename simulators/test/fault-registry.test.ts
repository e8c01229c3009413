import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FAULT_KINDS, FAULT_MODULES, FaultSchema, faultTarget, resolveFault } from "../src/faults";
import { ActiveFaults } from "../src/faults/active-faults";
import { defineFault, type FaultPack, StartAfterS } from "../src/faults/fault-module";
import { PackModel } from "../src/pack-model";

/** A pack for the hooks: 4 cells at 25 °C, 100 Ah, 20 MΩ insulation, the current a test sets. */
function fakePack(current = 0): FaultPack & { temperatures: number[] } {
  return { capacityAh: 100, healthyInsulationKOhm: 20_000, current, temperatures: [25, 25, 25, 25] };
}

describe("the fault registry", () => {
  it("has one module per kind, each a strict schema with its kind and startAfterS", () => {
    expect(FAULT_KINDS).toEqual(FAULT_MODULES.map((m) => m.kind));
    expect(new Set(FAULT_KINDS).size).toBe(FAULT_KINDS.length);
    for (const module of FAULT_MODULES) {
      expect(module.schema.shape.kind.value).toBe(module.kind);
      expect(module.schema.safeParse({ kind: module.kind, startAfterS: 5 }).success).toBe(true);
      expect(module.schema.safeParse({ kind: module.kind, surprise: 1 }).success).toBe(false); // unknown fields are errors
      expect(FaultSchema.parse({ kind: module.kind }).kind).toBe(module.kind);
    }
  });

  it("knows the cell or sensor each kind acts on, and refuses one the pack lacks", () => {
    expect(faultTarget(resolveFault({ kind: "weak-cell", cell: 3 }, 16))).toEqual({ what: "cell", index: 3 });
    expect(faultTarget(resolveFault({ kind: "temperature-sensor-failure", sensor: 2 }, 16))).toEqual({ what: "sensor", index: 2 });
    expect(faultTarget(resolveFault({ kind: "communication-loss" }, 16))).toBeUndefined();
    expect(() => resolveFault({ kind: "thermal-runaway-precursor", cell: 16 }, 16)).toThrow(/cell: 16 is out of range, the pack has cells 0–15/);
  });

  it("a module built with defineFault refuses a fault of another kind", () => {
    const demo = defineFault(z.object({ kind: z.literal("demo"), startAfterS: StartAfterS }).strict(), { activate: () => ({}) });
    expect(demo.kind).toBe("demo");
    expect(demo.activate({ kind: "demo" })).toEqual({});
    expect(() => demo.activate({ kind: "weak-cell" })).toThrow(TypeError);
  });
});

describe("active faults call their hooks only while they act", () => {
  it("time-alone effects (cells, load, BMS) start at startAfterS; the last load current wins", () => {
    const faults = new ActiveFaults(fakePack(), 4);
    faults.add(resolveFault({ kind: "weak-cell", cell: 1, capacityFraction: 0.5, startAfterS: 10 }, 4), 0);
    faults.add(resolveFault({ kind: "over-current-spike", cRate: 2, durationS: 5 }, 4), 0);
    faults.add(resolveFault({ kind: "over-current-spike", cRate: 1, direction: "charge", durationS: 5, startAfterS: 2 }, 4), 0);
    faults.add(resolveFault({ kind: "bms-protection-trip", protection: "insulation", startAfterS: 3 }, 4), 0);
    faults.add(resolveFault({ kind: "insulation-fault", floorKOhm: 20, rampS: 0, startAfterS: 4 }, 4), 0);
    const at = (now: number) => faults.effects(now);
    expect(at(0).cells.capacityFactor).toEqual([1, 1, 1, 1]);
    expect(at(0).loadCurrentA).toBe(-200);
    expect(at(2).loadCurrentA).toBe(100);
    expect(at(3).bms.forced).toEqual(new Set(["insulation"]));
    expect(at(3).bms.insulationKOhm).toBe(20_000);
    expect(at(4).bms.insulationKOhm).toBeCloseTo(20, 6);
    expect(at(10).cells.capacityFactor).toEqual([1, 0.5, 1, 1]);
    expect(at(10).loadCurrentA).toBeUndefined(); // both surges are over
    expect(faults.measuresInsulation()).toBe(true);
    faults.clear();
    expect(at(10).cells.capacityFactor).toEqual([1, 1, 1, 1]);
    expect(faults.measuresInsulation()).toBe(false);
  });

  it("integrates only the part of a sub-step the fault acted", () => {
    const pack = fakePack();
    const faults = new ActiveFaults(pack, 4);
    faults.add(resolveFault({ kind: "over-temperature", sensor: 2, ratePerSecond: 1, startAfterS: 0.25 }, 4), 0);
    faults.integrate(0, 0.25, pack.temperatures); // ends as the fault starts: nothing yet
    expect(pack.temperatures).toEqual([25, 25, 25, 25]);
    faults.integrate(0.25, 1, pack.temperatures);
    expect(pack.temperatures).toEqual([25, 25, 26, 25]);
    const late = new ActiveFaults(pack, 4);
    late.add(resolveFault({ kind: "over-temperature", sensor: 0, ratePerSecond: 1, startAfterS: 0.75 }, 4), 0);
    late.integrate(0, 1, pack.temperatures);
    expect(pack.temperatures[0]).toBeCloseTo(25.25, 9);
  });

  it("changes what the BMS measures, not the cells", () => {
    const faults = new ActiveFaults(fakePack(-10), 4);
    faults.add(resolveFault({ kind: "temperature-sensor-failure", sensor: 1, mode: "shorted" }, 4), 0);
    faults.add(resolveFault({ kind: "temperature-sensor-failure", sensor: 3, mode: "stuck", startAfterS: 1 }, 4), 0);
    const voltages = [3.3, 3.3, 3.3, 3.3];
    const readings = [25, 25, 25, 25];
    faults.measure(0, voltages, readings, [24, 24, 24, 24]);
    expect(readings).toEqual([25, 125, 25, 25]);
    const later = [30, 30, 30, 30];
    faults.measure(1, voltages, later, [24, 24, 24, 24]);
    expect(later).toEqual([30, 125, 30, 24]); // stuck at its last reading
    expect(voltages).toEqual([3.3, 3.3, 3.3, 3.3]);
  });

  it("gives the worst link: silent over garbled, the first garbled among several, ok once they end", () => {
    const faults = new ActiveFaults(fakePack(), 4);
    faults.add(resolveFault({ kind: "garbled-link", crcErrorRate: 0.1, durationS: 100 }, 4), 0);
    faults.add(resolveFault({ kind: "garbled-link", crcErrorRate: 0.5, durationS: 200 }, 4), 0);
    faults.add(resolveFault({ kind: "communication-loss", startAfterS: 10, durationS: 10 }, 4), 0);
    expect(faults.link(5)).toMatchObject({ kind: "garbled", crcErrorRate: 0.1 });
    expect(faults.link(15)).toEqual({ kind: "silent" });
    expect(faults.link(150)).toMatchObject({ kind: "garbled", crcErrorRate: 0.5 });
    expect(faults.link(250)).toEqual({ kind: "ok" });
  });
});

describe("clearing faults", () => {
  it("ends an insulation fault at once: the measured insulation and its warning go with it", () => {
    const pack = new PackModel({ seed: 3, reportsInsulation: true, load: { kind: "constant", amps: 0 } });
    pack.injectFault({ kind: "insulation-fault", floorKOhm: 300, rampS: 0 });
    pack.step(1);
    expect(pack.snapshot().insulationResistanceKOhm).toBeCloseTo(300, 6);
    expect(pack.snapshot().alarms).toContain("OTHER_WARNING");
    pack.clearFaults();
    expect(pack.snapshot().insulationResistanceKOhm).toBeGreaterThan(10_000);
    expect(pack.snapshot().alarms).not.toContain("OTHER_WARNING");
  });
});
