import { describe, expect, it } from "vitest";
import { FAULT_KINDS, FaultSchema, InvalidFaultError } from "../src/faults";
import { PackModel, type PackModelOptions } from "../src/pack-model";

const rest = { kind: "constant", amps: 0 } as const;
const at = (values: readonly number[], i: number) => values[i] ?? Number.NaN;

function pack(options: PackModelOptions = {}) {
  return new PackModel({ seed: 21, initialSoc: 50, load: rest, ...options });
}

describe("BMS protections", () => {
  it("an under-voltage trip opens the contactor after its delay and latches until reset", () => {
    const p = pack({ initialSoc: 30, load: { kind: "constant", amps: -50 } });
    p.injectFault({ kind: "cell-under-voltage", cell: 2, ratePerSecond: 0.05, minV: 2.2 });
    p.step(10);
    expect(p.snapshot().alarms).toContain("UNDER_VOLT_WARNING");
    p.step(10);
    const s = p.snapshot();
    expect(s.trips).toEqual(["under-voltage"]);
    expect(s.alarms).toContain("UNDER_VOLT_ALARM");
    expect(s.current).toBe(0);
    expect(s.contactorClosed).toBe(false);
    expect(s.state).toBe(99);
    expect(s.chargeStatus).toBe(1); // OFF
    p.step(60);
    expect(at(p.snapshot().cellVoltages, 2)).toBeGreaterThan(3.2); // recovers at rest...
    expect(p.snapshot().alarms).toContain("UNDER_VOLT_ALARM"); // ...the alarm stays latched
    p.clearFaults();
    p.resetAlarms();
    expect(p.snapshot().alarms).toEqual([]);
    p.step(1);
    expect(p.snapshot().current).toBeCloseTo(-50, 6);
  });

  it("an over-current spike trips the discharge over-current protection", () => {
    const p = pack({ load: { kind: "constant", amps: -20 } });
    p.injectFault({ kind: "over-current-spike", startAfterS: 10 });
    p.step(10);
    expect(p.snapshot().current).toBeCloseTo(-20, 6);
    p.step(1);
    expect(p.snapshot().current).toBe(-300); // 3 C
    expect(p.snapshot().alarms).toContain("OVER_DISCHARGE_CURRENT_WARNING");
    p.step(1);
    const s = p.snapshot();
    expect(s.trips).toEqual(["over-discharge-current"]);
    expect(s.alarms).toContain("OVER_DISCHARGE_CURRENT_ALARM");
    p.step(1);
    expect(p.snapshot().current).toBe(0);
  });

  it("derates the charge current below 5 °C and stops it below 0 °C; trips under-temperature at −20 °C", () => {
    expect(pack({ ambientC: 2.5 }).snapshot().chargeCurrentLimit).toBeGreaterThan(10);
    expect(pack({ ambientC: 2.5 }).snapshot().chargeCurrentLimit).toBeLessThan(40);
    expect(pack({ ambientC: -5 }).snapshot().chargeCurrentLimit).toBe(0);
    const frozen = pack({ ambientC: -25 });
    frozen.step(3);
    expect(frozen.snapshot().trips).toEqual(["under-temperature"]);
  });

  it("declares full at the top of charge and recalibrates the BMS SOC", () => {
    const p = pack({ initialSoc: 90, currentSensorOffsetA: -2, load: { kind: "constant", amps: 40 } });
    for (let i = 0; i < 30; i++) p.step(60);
    const s = p.snapshot();
    expect(s.trueSoc).toBeGreaterThan(98);
    expect(s.soc).toBe(100); // the offset had the BMS low; full recalibrates it
    expect(s.current).toBe(0);
    expect(s.chargeStatus).toBe(5); // FULL
    expect(s.alarms).toEqual([]);
  });
});

describe("fault library signatures", () => {
  it("over-temperature of the whole pack heats every sensor", () => {
    const p = pack();
    p.injectFault({ kind: "over-temperature", scope: "pack", ratePerSecond: 0.5, maxC: 52 });
    p.step(60);
    for (const t of p.snapshot().cellTemperatures) expect(t).toBeGreaterThan(50);
    expect(p.snapshot().alarms).toEqual(["OVER_TEMP_WARNING"]);
  });

  it("cell-over-voltage while charging climbs only while the pack charges", () => {
    const p = pack();
    p.injectFault({ kind: "cell-over-voltage", cell: 1, ratePerSecond: 0.01, whileCharging: true });
    const before = at(p.snapshot().cellVoltages, 1);
    p.step(30);
    expect(at(p.snapshot().cellVoltages, 1)).toBeCloseTo(before, 3);
  });

  it("weak cell: its voltage diverges at both ends of charge", () => {
    const options = { seed: 31, capacitySpreadPct: 0.2, socSpreadPct: 0.2 } as const;
    const p = pack({ ...options, initialSoc: 60, load: { kind: "constant", amps: -40 } });
    p.injectFault({ kind: "weak-cell", cell: 7, capacityFraction: 0.5 });
    p.step(1);
    for (let i = 0; i < 80 && p.snapshot().current !== 0; i++) p.step(30);
    const low = p.snapshot();
    expect(low.cellVoltages.indexOf(Math.min(...low.cellVoltages))).toBe(7);
    expect(Math.min(...low.cellVoltages.filter((_, i) => i !== 7)) - at(low.cellVoltages, 7)).toBeGreaterThan(0.05);
    const high = pack({ ...options, initialSoc: 60, load: { kind: "constant", amps: 40 } });
    high.injectFault({ kind: "weak-cell", cell: 7, capacityFraction: 0.5 });
    high.step(1);
    for (let i = 0; i < 80 && high.snapshot().current !== 0; i++) high.step(30);
    const top = high.snapshot();
    expect(top.cellVoltages.indexOf(Math.max(...top.cellVoltages))).toBe(7);
    expect(top.trueSoc).toBeLessThan(85); // the weak cell ends the charge early
    expect(top.trueSoh).toBeLessThan(55);
  });

  it("internal short: that cell's SOC drifts down at rest and it warms", () => {
    const p = pack();
    p.injectFault({ kind: "internal-short", cell: 4, leakageA: 5 });
    const start = p.snapshot();
    p.step(3600);
    const s = p.snapshot();
    expect(at(start.cellSocs, 4) - at(s.cellSocs, 4)).toBeCloseTo(5, 0); // 5 Ah of ~100
    expect(at(start.cellSocs, 0) - at(s.cellSocs, 0)).toBeLessThan(0.01);
    expect(at(s.cellTemperatures, 4)).toBeGreaterThan(at(s.cellTemperatures, 12) + 1);
  });

  it("temperature sensor failures: open reads −40 °C, shorted 125 °C, stuck holds its reading", () => {
    const open = pack();
    open.injectFault({ kind: "temperature-sensor-failure", sensor: 3 });
    open.step(5);
    expect(at(open.snapshot().cellTemperatures, 3)).toBe(-40);
    expect(open.snapshot().alarms).toEqual(expect.arrayContaining(["UNDER_TEMP_ALARM", "OTHER_WARNING"]));
    const shorted = pack();
    shorted.injectFault({ kind: "temperature-sensor-failure", sensor: 3, mode: "shorted" });
    shorted.step(5);
    expect(at(shorted.snapshot().cellTemperatures, 3)).toBe(125);
    expect(shorted.snapshot().trips).toContain("over-temperature");
    const stuck = pack({ load: { kind: "constant", amps: -100 } });
    stuck.injectFault({ kind: "temperature-sensor-failure", sensor: 3, mode: "stuck" });
    const frozen = at(stuck.snapshot().cellTemperatures, 3);
    stuck.step(1800);
    expect(at(stuck.snapshot().cellTemperatures, 3)).toBe(frozen);
    expect(at(stuck.snapshot().cellTemperatures, 2)).toBeGreaterThan(frozen + 1);
  });

  it("bms-protection-trip forces the named protection; a reset clears it after the fault's duration", () => {
    const p = pack({ load: { kind: "constant", amps: -10 } });
    p.injectFault({ kind: "bms-protection-trip", protection: "over-charge-current", durationS: 5 });
    p.step(2);
    expect(p.snapshot().trips).toEqual(["over-charge-current"]);
    expect(p.snapshot().alarms).toContain("OVER_CHARGE_CURRENT_ALARM");
    p.resetAlarms();
    p.step(10);
    expect(p.snapshot().trips).toEqual([]);
  });

  it("thermal-runaway precursor: dT/dt rises at one sensor while that cell's voltage dips", () => {
    const p = pack();
    p.injectFault({ kind: "thermal-runaway-precursor", cell: 9, initialRatePerSecond: 0.01, doublingTimeS: 120 });
    const v0 = at(p.snapshot().cellVoltages, 9);
    const temps: number[] = [];
    for (let i = 0; i < 4; i++) {
      p.step(120);
      temps.push(at(p.snapshot().cellTemperatures, 9));
    }
    const rates = temps.slice(1).map((t, i) => t - at(temps, i));
    expect(at(rates, 1)).toBeGreaterThan(at(rates, 0) * 1.5);
    expect(at(rates, 2)).toBeGreaterThan(at(rates, 1) * 1.5);
    expect(v0 - at(p.snapshot().cellVoltages, 9)).toBeGreaterThan(0.05);
    expect(p.snapshot().alarms).toContain("TEMPERATURE_IMBALANCE_ALARM");
  });

  it("communication loss and a garbled link only change link(), for their duration", () => {
    const p = pack();
    expect(p.link()).toEqual({ kind: "ok" });
    p.injectFault({ kind: "garbled-link", crcErrorRate: 0.5 });
    expect(p.link()).toEqual({ kind: "garbled", crcErrorRate: 0.5, truncateRate: 0.1, wrongUnitRate: 0.05 });
    p.injectFault({ kind: "communication-loss", startAfterS: 10, durationS: 30 });
    p.step(10);
    expect(p.link()).toEqual({ kind: "silent" });
    p.step(30);
    expect(p.link().kind).toBe("garbled");
    expect(p.snapshot().alarms).toEqual([]);
    p.clearFaults();
    expect(p.link()).toEqual({ kind: "ok" });
  });

  it("insulation fault: the reported resistance ramps down from 10 MΩ+ to its floor and raises GROUND_FAULT", () => {
    const p = pack({ reportsInsulation: true });
    expect(p.snapshot().insulationResistanceKOhm).toBeGreaterThanOrEqual(10_000);
    expect(pack().snapshot().insulationResistanceKOhm).toBeUndefined();
    p.injectFault({ kind: "insulation-fault", floorKOhm: 20, rampS: 600 });
    p.step(300);
    const half = p.snapshot().insulationResistanceKOhm ?? 0;
    expect(half).toBeLessThan(2000);
    expect(half).toBeGreaterThan(300);
    p.step(400);
    expect(p.snapshot().insulationResistanceKOhm).toBeCloseTo(20, 6);
    expect(p.snapshot().alarms).toEqual(expect.arrayContaining(["GROUND_FAULT", "OTHER_WARNING"]));
    expect(p.snapshot().contactorClosed).toBe(false);
  });

  it("every fault kind resolves with defaults and waits for its startAfterS", () => {
    for (const kind of FAULT_KINDS) {
      const p = pack();
      const resolved = p.injectFault({ kind, startAfterS: 1e6 });
      expect(resolved.kind).toBe(kind);
      p.step(60);
      expect(p.snapshot().alarms).toEqual([]);
      expect(p.link()).toEqual({ kind: "ok" });
    }
  });

  it("rejects malformed fault parameters with readable errors", () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: "weak-cell", capacityFraction: 2 }, /capacityFraction/],
      [{ kind: "internal-short", leakageA: -1 }, /leakageA/],
      [{ kind: "temperature-sensor-failure", mode: "melted" }, /mode/],
      [{ kind: "bms-protection-trip", protection: "boredom" }, /protection/],
      [{ kind: "garbled-link", crcErrorRate: 0.6, truncateRate: 0.6 }, /at most 1/],
      [{ kind: "insulation-fault", rampS: "soon" }, /rampS/],
      [{ kind: "thermal-runaway-precursor", cell: 16 }, /cell: 16 is out of range/],
      [{ kind: "over-current-spike", startAfterS: -5 }, /startAfterS/],
      [{ kind: "communication-loss", durationS: 0 }, /durationS/],
      [{ kind: "cell-under-voltage", cell: 1.5 }, /cell/],
    ];
    const p = pack();
    for (const [fault, message] of cases) {
      // @ts-expect-error: hostile input from an untyped caller
      expect(() => p.injectFault(fault)).toThrow(InvalidFaultError);
      // @ts-expect-error: hostile input from an untyped caller
      expect(() => p.injectFault(fault)).toThrow(message);
    }
    expect(p.snapshot().faults).toEqual([]);
    expect(FaultSchema.safeParse({ kind: "over-temperature" }).data).toEqual({ kind: "over-temperature", sensor: 0, ratePerSecond: 1, maxC: 80 });
  });
});
